"""Which pack of a layout-2 remote holds which object, read from the published indexes.

Every copy is kept, in pack-name order: an object can sit in two packs (a gc rewrite
killed half way, two machines pushing the same files), and a bad copy must give way to
a good one. An index is used only when it can be read whole and trusted: its listed
size at most `MAX_INDEX_BYTES` (checked before it is read, so a huge index costs
nothing), beside a pack of at most `PACK_SIZE` bytes, parsing strictly, adding up to
its pack's size, and sent intact by the server. Any other index is skipped with one
warning: its objects count as missing (the next push that has them sends them again
with a fresh index), they are never guessed at.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from dvlite.core.oid import Oid
from dvlite.core.pack import INDEX_SUFFIX, MAX_INDEX_BYTES, PACK_SUFFIX, PackEntry, PackIndex
from dvlite.errors import FormatError, IntegrityError, MissingObjectsError
from dvlite.storage.remote.base import Backend, Blob

PACK_OBJECT_MAX = 1 << 20  # objects up to this size are packed
PACK_SIZE = 16 << 20  # a pack is closed once the next object would take it past this

log = logging.getLogger("dvlite")


@dataclass(frozen=True, slots=True)
class Packed:
    """Where a packed copy of an object lives."""

    pack: str
    entry: PackEntry
    mtime: float


@dataclass
class PackMap:
    copies: dict[Oid, list[Packed]] = field(default_factory=dict)
    indexes: dict[str, PackIndex] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # pack name -> why its index was

    def first(self, oid: Oid) -> Packed | None:
        found = self.copies.get(oid)
        return found[0] if found else None

    def learn(self, index: PackIndex, mtime: float) -> None:
        self.indexes[index.name] = index
        self.skipped.pop(index.name, None)
        for entry in index.entries:
            at = Packed(index.name, entry, mtime)
            held = self.copies.setdefault(entry.oid, [])
            if all(p.pack != index.name for p in held):
                held.append(at)


def load_pack_map(backend: Backend, folder: str) -> PackMap:
    """The map of every published index in `folder` (one warning per skipped index)."""
    blobs = {b.name: b for b in backend.list_blobs(folder)}
    names = sorted(n[: -len(INDEX_SUFFIX)] for n in blobs if n.endswith(INDEX_SUFFIX)
                   and n[: -len(INDEX_SUFFIX)] + PACK_SUFFIX in blobs)

    def load(name: str) -> PackIndex | str:
        try:
            return read_index(backend, folder, name, blobs[name + INDEX_SUFFIX],
                              blobs[name + PACK_SUFFIX])
        except (FormatError, IntegrityError) as exc:
            return exc.msg
        except MissingObjectsError:
            return ""  # deleted since the listing (a gc rewrite): not a fault

    with ThreadPoolExecutor(backend.jobs) as pool:
        loaded = list(pool.map(load, names))
    found = PackMap()
    for name, index in zip(names, loaded, strict=True):
        if isinstance(index, PackIndex):
            found.learn(index, blobs[name + PACK_SUFFIX].mtime)
        elif index:
            found.skipped[name] = index
            log.warning("%s; its objects count as missing (a push that has them sends "
                        "them again; `dvlite fsck --remote --repair` removes the index)", index)
    return found


def read_index(backend: Backend, folder: str, name: str, index: Blob,
               pack: Blob) -> PackIndex:
    """The index of pack `name`, checked against the listing of both files (raises
    FormatError, or IntegrityError when the server sends damaged bytes)."""
    where = f"{folder}/{name}{INDEX_SUFFIX} on '{backend.name}'"
    if index.size > MAX_INDEX_BYTES:
        raise FormatError(f"pack index {where} is unreadable: {index.size} bytes, more "
                          f"than an index may have ({MAX_INDEX_BYTES})")
    if pack.size > PACK_SIZE:
        raise FormatError(f"pack index {where} is unreadable: its pack has {pack.size} "
                          f"bytes, more than a pack may have ({PACK_SIZE})")
    data = backend.get_range(f"{folder}/{name}{INDEX_SUFFIX}")
    parsed = PackIndex.parse(name, backend.algo, data, where)
    if parsed.size != pack.size:
        raise FormatError(f"pack index {where} is unreadable: it adds up to {parsed.size} "
                          f"bytes, its pack has {pack.size}")
    return parsed
