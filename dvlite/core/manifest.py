"""Folder manifests: the sorted list of a tracked folder's files, stored as an object.

Canonical JSON, one entry per line, so the bytes (and so the folder's hash) depend only
on the content; JSON escaping keeps names with newlines or any unicode exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from dvlite.core.oid import Oid, hash_bytes
from dvlite.core.paths import check_relpath
from dvlite.core.pointer import MAX_FILES, MAX_SIZE
from dvlite.errors import FormatError

FORMAT = 1


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    relpath: str
    oid: Oid
    size: int
    isexec: bool = False


@dataclass(frozen=True, slots=True)
class Manifest:
    """Entries sorted by path, unique, no file that is also a folder of another entry."""

    algo: str
    entries: tuple[ManifestEntry, ...]

    @classmethod
    def build(cls, algo: str, entries: Iterable[ManifestEntry]) -> Manifest:
        ordered = tuple(sorted(entries, key=lambda e: e.relpath))
        _validate(algo, ordered)
        return cls(algo, ordered)

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(self.entries)

    def by_path(self) -> dict[str, ManifestEntry]:
        return {e.relpath: e for e in self.entries}

    def to_bytes(self) -> bytes:
        dumps = json.dumps
        lines = [
            f'{{"path": {dumps(e.relpath, ensure_ascii=False)}, "hash": "{e.oid.hex}", '
            f'"size": {e.size}, "exec": {"true" if e.isexec else "false"}}}'
            for e in self.entries
        ]
        body = ",\n".join(lines)
        sep = "\n" if lines else ""
        text = f'{{"format": {FORMAT}, "algo": "{self.algo}", "entries": [{sep}{body}{sep}]}}\n'
        return text.encode()

    def oid(self) -> Oid:
        return hash_bytes(self.algo, self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, source: str) -> Manifest:
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FormatError(f"{source}: not a folder manifest ({exc})") from None
        try:
            return _from_doc(doc)
        except FormatError as exc:
            raise type(exc)(f"{source}: {exc.msg}") from None


def _from_doc(doc: object) -> Manifest:
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
        raise FormatError("not a folder manifest")
    if doc.get("format") != FORMAT:
        raise FormatError(f"unsupported manifest format {doc.get('format')!r}")
    algo = doc.get("algo")
    if not isinstance(algo, str):
        raise FormatError("manifest has no hash algorithm")
    entries = []
    for item in doc["entries"]:
        if not isinstance(item, dict) or set(item) != {"path", "hash", "size", "exec"}:
            raise FormatError(f"invalid manifest entry {item!r}")
        path, size, isexec = item["path"], item["size"], item["exec"]
        if not isinstance(path, str) or not isinstance(item["hash"], str):
            raise FormatError(f"invalid manifest entry {item!r}")
        if type(size) is not int or not 0 <= size <= MAX_SIZE or not isinstance(isexec, bool):
            raise FormatError(f"invalid manifest entry {item!r}")
        entries.append(ManifestEntry(path, Oid(algo, item["hash"]), size, isexec))
    manifest = Manifest(algo, tuple(entries))
    _validate(algo, manifest.entries, require_sorted=True)
    return manifest


def _validate(algo: str, entries: tuple[ManifestEntry, ...], require_sorted: bool = False) -> None:
    paths = set()
    previous = None
    for e in entries:
        check_relpath(e.relpath, "manifest path")
        if e.oid.algo != algo:
            raise FormatError(f"entry '{e.relpath}' uses {e.oid.algo}, manifest uses {algo}")
        if e.relpath in paths:
            raise FormatError(f"duplicate entry '{e.relpath}'")
        if require_sorted and previous is not None and e.relpath < previous:
            raise FormatError(f"entries not sorted at '{e.relpath}'")
        paths.add(e.relpath)
        previous = e.relpath
    if len(entries) > MAX_FILES or sum(e.size for e in entries) > MAX_SIZE:
        raise FormatError(f"too large: at most {MAX_FILES} files of {MAX_SIZE} bytes in all")
    for path in paths:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in paths:
                raise FormatError(f"'{'/'.join(parts[:i])}' is both a file and a folder")


def case_collisions(paths: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of paths equal except for case: they clash on macOS and Windows checkouts."""
    seen: dict[str, str] = {}
    clashes = []
    for path in paths:
        key = path.casefold()
        if key in seen:
            clashes.append((seen[key], path))
        else:
            seen[key] = path
    return clashes
