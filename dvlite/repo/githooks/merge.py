"""The git merge driver for pointer files (`*.dvl`): folders merge file by file.

When both branches changed one tracked folder, their pointers differ everywhere (hash,
size, nfiles) and git's text merge can only conflict. dvlite merges the three folder
manifests instead: a file changed on one side only takes that side; a file changed
differently on both sides (or a file on one side that is a folder on the other) is a
real conflict, reported and never resolved silently. The merged manifest is stored in
the cache and the merged pointer written for git. A side's manifest missing from the
cache is read from the default remote (verified, in memory); the files only one side
had may then still be on the remote alone, and the post-merge hook fetches them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from dvlite.core.manifest import Manifest, ManifestEntry
from dvlite.core.oid import Oid
from dvlite.core.pointer import Pointer
from dvlite.errors import DvliteError, FormatError, MissingObjectsError
from dvlite.workspace.outputs import load_manifest
from dvlite.workspace.repo import Repo

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class MergeResult:
    """`data` is the merged file, or (on conflict) the text to leave for the user."""

    data: bytes
    conflicts: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts


def merge_maps(base: Mapping[K, V], ours: Mapping[K, V],
               theirs: Mapping[K, V]) -> tuple[dict[K, V], list[K]]:
    """Three-way merge of two mappings, key by key; a missing key means deleted/absent.

    Returns the merged mapping (ours' key order, then theirs' new keys) and the keys
    changed differently on both sides.
    """
    merged: dict[K, V] = {}
    conflicts: list[K] = []
    keys = [*ours, *(k for k in theirs if k not in ours), *(k for k in base
                                                           if k not in ours and k not in theirs)]
    for key in keys:
        b, o, t = base.get(key), ours.get(key), theirs.get(key)
        if o == t:
            chosen = o
        elif b == o:
            chosen = t
        elif b == t:
            chosen = o
        else:
            conflicts.append(key)
            continue
        if chosen is not None:
            merged[key] = chosen
    return merged, conflicts


def conflict_text(ours: bytes, theirs: bytes, why: str) -> bytes:
    """git-style conflict markers around both versions, the reason on the first line."""
    def block(data: bytes) -> bytes:
        return data if not data or data.endswith(b"\n") else data + b"\n"

    return (f"<<<<<<< ours ({why})\n".encode() + block(ours) + b"=======\n" + block(theirs)
            + b">>>>>>> theirs\n")


def _parse(data: bytes, label: str) -> Pointer | None:
    if not data.strip():
        return None
    return Pointer.from_bytes(data, label)


def merge_pointer(repo: Repo, base: bytes, ours: bytes, theirs: bytes,
                  path: str) -> MergeResult:
    if theirs in (ours, base):
        return MergeResult(ours)
    if base == ours:
        return MergeResult(theirs)
    try:
        b, o, t = (_parse(base, f"{path} (base)"), _parse(ours, f"{path} (ours)"),
                   _parse(theirs, f"{path} (theirs)"))
    except FormatError as exc:
        return _conflict(ours, theirs, f"cannot merge: {exc.msg}")
    if o is None or t is None:
        return _conflict(ours, theirs, "deleted on one side, changed on the other")
    if o.path != t.path:
        return _conflict(ours, theirs, f"renamed differently: '{o.path}' vs '{t.path}'")
    if o.is_dir != t.is_dir:
        return _conflict(ours, theirs, "a file on one side, a folder on the other")
    if not o.is_dir:
        return _conflict(ours, theirs, f"'{o.path}' changed differently on both sides")
    return _merge_dirs(repo, (b, o, t), (ours, theirs))


def _conflict(ours: bytes, theirs: bytes, why: str, items: list[str] | None = None) -> MergeResult:
    return MergeResult(conflict_text(ours, theirs, why), items or [why])


class _Manifests:
    """Manifests from the cache, else read (verified, kept in memory only: their files
    may not be here) from the default remote."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def load(self, oid: Oid) -> Manifest:
        try:
            return load_manifest(self.repo, oid)
        except MissingObjectsError:
            if not self.repo.config.core.remote:
                raise
        from dvlite.repo.sync.plan import repo_remote

        remote = repo_remote(self.repo, None)
        return Manifest.from_bytes(remote.read_bytes(oid), f"manifest {oid} on '{remote.name}'")


def _merge_dirs(repo: Repo, pointers: tuple[Pointer | None, Pointer, Pointer],
                raw: tuple[bytes, bytes]) -> MergeResult:
    base, o, t = pointers
    ours, theirs = raw
    source = _Manifests(repo)
    try:
        m_ours = source.load(o.oid)
        m_theirs = source.load(t.oid)
        m_base = source.load(base.oid) if base is not None and base.is_dir else None
    except DvliteError as exc:
        return _conflict(ours, theirs, f"cannot merge '{o.path}' file by file: {exc.msg}"
                         " (run `dvlite fetch --all-commits`, then merge again)")
    if m_ours.algo != m_theirs.algo:
        return _conflict(ours, theirs, f"'{o.path}' uses different hash algorithms")

    def entries(m: Manifest | None) -> dict[str, ManifestEntry]:
        return m.by_path() if m is not None else {}

    merged, clashes = merge_maps(entries(m_base), entries(m_ours), entries(m_theirs))
    if clashes:
        items = [f"{o.path}/{c}" for c in sorted(clashes)]
        shown = ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")
        return _conflict(ours, theirs, f"changed differently on both sides: {shown}", items)
    try:
        manifest = Manifest.build(m_ours.algo, merged.values())
    except FormatError as exc:
        return _conflict(ours, theirs, f"'{o.path}': {exc.msg}")
    oid = repo.cache.add_bytes(manifest.to_bytes())
    pointer = Pointer(o.path, "dir", oid, manifest.size, len(manifest))
    return MergeResult(pointer.to_bytes())
