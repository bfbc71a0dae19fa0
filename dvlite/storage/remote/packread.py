"""Reading the packed objects of a layout-2 remote: whole objects out of ranges of packs,
each hashed on its own before it is used. A copy that is not intact (damaged bytes, or
the server failing its own checksum) gives way to the object's other copies, other
packs first, then a loose file, before a read fails; when all fail, a bad copy is the
error reported (exit 3), not a missing one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from dvlite._fault import faultpoint
from dvlite.core.oid import Oid, hash_bytes
from dvlite.core.pack import PACK_SUFFIX, PackEntry, Segment, plan_segments
from dvlite.errors import DvliteError, IntegrityError, MissingObjectsError
from dvlite.storage.odb import LocalStore
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote.base import Backend, CopyHash, RemoteEntry
from dvlite.storage.remote.errors import (
    check_bytes,
    check_size,
    corrupt_on_remote,
    unreadable_on_remote,
)
from dvlite.storage.remote.packmap import Packed, PackMap
from dvlite.storage.transfer import (
    Item,
    Outcome,
    TransferResult,
    transfer_groups,
    transfer_many,
)

RANGE_GAP = 256 << 10  # wanted objects closer than this are read in one request
RANGE_MAX = 4 << 20  # a read holds this much at most (times jobs)
_GONE_OR_BAD = (IntegrityError, MissingObjectsError)  # a copy to pass over for another

T = TypeVar("T")


class PackReader:
    """The reads of a `PackedRemote`: `packs` gives its current pack map."""

    def __init__(self, backend: Backend, folder: str, packs: Callable[[], PackMap]) -> None:
        self.backend = backend
        self.name = backend.name
        self.folder = folder
        self._packs = packs

    def _pack_key(self, name: str) -> str:
        return f"{self.folder}/{name}{PACK_SUFFIX}"

    def read_bytes(self, oid: Oid) -> bytes:
        errors: list[DvliteError] = []
        data = self._intact(oid, None, errors)
        if data is not None:
            return data
        return self._loose(lambda: self.backend.read_bytes(oid), errors)

    def download(self, oid: Oid, cache: LocalStore, size: int | None = None,
                 progress: Progress = NULL_PROGRESS) -> int:
        return self._download_copy(oid, cache, size, None, [], progress=progress)

    def _read_copy(self, oid: Oid, at: Packed) -> bytes:
        """One packed copy's bytes, hashed (IntegrityError: they are not the object)."""
        try:
            data = self.backend.get_range(self._pack_key(at.pack), at.entry.offset,
                                          at.entry.end)
        except IntegrityError as exc:
            raise unreadable_on_remote(self.name, oid, exc) from exc
        check_bytes(self.name, oid, data)
        return data

    def _intact(self, oid: Oid, skip: str | None, errors: list[DvliteError]) -> bytes | None:
        """The bytes of the first intact packed copy outside pack `skip` (None: none;
        what was wrong with each copy tried goes to `errors`)."""
        for at in self._packs().copies.get(oid, ()):
            if at.pack != skip:
                try:
                    return self._read_copy(oid, at)
                except _GONE_OR_BAD as exc:
                    errors.append(exc)
        return None

    def _loose(self, read: Callable[[], T], errors: list[DvliteError]) -> T:
        """The loose copy, the last resort: when it is missing or bad too, a bad packed
        copy is the error to report (the object is corrupt, not missing)."""
        try:
            return read()
        except _GONE_OR_BAD as exc:
            bad = next((e for e in errors if isinstance(e, IntegrityError)), None)
            if bad is None:
                raise
            raise bad from exc

    def _download_copy(self, oid: Oid, cache: LocalStore, size: int | None,
                       skip: str | None, errors: list[DvliteError], *,
                       progress: Progress = NULL_PROGRESS) -> int:
        """Store the first intact copy outside pack `skip`: packed, else loose."""
        data = self._intact(oid, skip, errors)
        if data is None:
            return self._loose(lambda: self.backend.download(oid, cache, size, progress),
                               errors)
        check_size(self.name, oid, len(data), size)
        cache.add_bytes(data)
        return len(data)

    def hash_many(self, oids: Collection[Oid], jobs: int,
                  progress: Progress = NULL_PROGRESS) -> dict[Oid, list[CopyHash]]:
        """Hash every object as the remote holds it, nothing kept: the first copy of each
        (loose ones one by one, packed ones a range of a pack at a time), then, for an
        object whose copy is not intact, its other copies one at a time until one is."""
        packed = self._packs()
        found: dict[Oid, list[CopyHash]] = {oid: [] for oid in oids}
        lock = threading.Lock()

        def note(oid: Oid, got: CopyHash | None) -> None:
            with lock:
                if got is not None:
                    found[oid].append(got)
            progress.advance(files=1, nbytes=got.size if got else 0)

        def segment(seg: Segment) -> None:
            for oid, got in self._hash_segment(seg, packed):
                note(oid, got)

        def others(oid: Oid) -> None:
            tried = {c.entry.pack for c in found[oid]}
            for entry in self._copy_entries(oid):
                if entry.pack not in tried and (got := self.hash_copy(entry)) is not None:
                    with lock:
                        found[oid].append(got)
                    if got.intact:
                        return

        with ThreadPoolExecutor(max(1, jobs)) as pool:
            loose = [oid for oid in oids if oid not in packed.copies]
            list(pool.map(lambda o: note(o, self.hash_copy(RemoteEntry(o, 0, 0.0))), loose))
            list(pool.map(segment, _segments(packed, oids)))
            list(pool.map(others, [oid for oid, got in found.items() if oid in packed.copies
                                   and not (got and got[-1].intact)]))
        return found

    def _hash_segment(self, seg: Segment, packed: PackMap) -> list[tuple[Oid, CopyHash]]:
        """The copies one range of a pack holds, hashed (none: the pack went away, in a
        gc rewrite, and its objects with it to another pack)."""
        at = packed.first(seg.entries[0].oid)
        mtime = at.mtime if at else 0.0
        try:
            data: bytes | None = self.backend.get_range(self._pack_key(seg.pack), seg.start,
                                                        seg.end)
        except MissingObjectsError:
            return []
        except IntegrityError:
            data = None
        return [(e.oid, _hashed(RemoteEntry(e.oid, e.size, mtime, seg.pack), None if data is None
                                else data[e.offset - seg.start: e.end - seg.start]))
                for e in seg.entries]

    def _copy_entries(self, oid: Oid) -> list[RemoteEntry]:
        """Every copy of `oid`: packed ones in pack order, then the loose one, if any."""
        copies = [RemoteEntry(oid, at.entry.size, at.mtime, at.pack)
                  for at in self._packs().copies.get(oid, ())]
        return [*copies, RemoteEntry(oid, 0, 0.0)]

    def hash_copy(self, entry: RemoteEntry) -> CopyHash | None:
        oid = entry.oid
        try:
            if entry.pack is None:
                actual, size = self.backend.hash_object(oid)
                return CopyHash(entry, actual, size)
            at = next((p for p in self._packs().copies.get(oid, ()) if p.pack == entry.pack),
                      None)
            if at is None:
                return None
            return _hashed(entry, self.backend.get_range(
                self._pack_key(at.pack), at.entry.offset, at.entry.end))
        except MissingObjectsError:
            return None
        except IntegrityError:
            return CopyHash(entry, None, 0)

    def download_many(self, items: Sequence[Item], cache: LocalStore, *, jobs: int,
                      result: TransferResult, progress: Progress = NULL_PROGRESS,
                      point: str = "fetch") -> list[Oid]:
        """Download `items` into `cache`, verified: loose objects one by one, packed ones
        a range of a pack at a time."""
        if not items:
            return []
        packed = self._packs()
        loose = [it for it in items if it.oid not in packed.copies]

        def one(item: Item, meter: Progress) -> int:
            return self.backend.download(item.oid, cache, item.size, meter)

        done = transfer_many(loose, one, jobs, result, progress, point=point)
        by_oid = {it.oid: it for it in items}
        segments = {seg.entries[0].oid: seg for seg in _segments(packed, by_oid)}
        groups = [[by_oid[e.oid] for e in seg.entries] for seg in segments.values()]

        def segment(group: list[Item], _: Progress) -> list[tuple[Item, Outcome]]:
            return self._store_segment(group, segments[group[0].oid], cache)

        done += transfer_groups(groups, segment, jobs, result, progress, point=point)
        return done

    def _store_segment(self, group: list[Item], seg: Segment,
                       cache: LocalStore) -> list[tuple[Item, Outcome]]:
        """Read one range of a pack (`group` holds the items of its entries, in order),
        store each object."""
        failed: DvliteError | None = None
        try:
            data = self.backend.get_range(self._pack_key(seg.pack), seg.start, seg.end)
        except _GONE_OR_BAD as exc:
            data, failed = b"", exc
        faultpoint("pack.after_read")
        out: list[tuple[Item, Outcome]] = []
        for item, entry in zip(group, seg.entries, strict=True):
            piece = None if failed else data[entry.offset - seg.start: entry.end - seg.start]
            out.append((item, self._settle(item, piece, seg.pack, cache, failed)))
        return out

    def _settle(self, item: Item, piece: bytes | None, pack: str, cache: LocalStore,
                failed: DvliteError | None) -> Outcome:
        """Store the object read from `pack` (`piece`; None: that read `failed`), or,
        when those bytes are not the object, the first intact other copy."""
        oid = item.oid
        skip: str | None = pack
        if isinstance(failed, IntegrityError):  # the range failed the server's checksum:
            failed = unreadable_on_remote(self.name, oid, failed)
            skip = None  # this object's own range, read on its own, may pass it
        errors = [failed] if failed else []
        try:
            if piece is not None and item.size in (None, len(piece)):
                try:
                    cache.add_bytes(piece, expected=oid)  # the one hash of a good read
                    return len(piece)
                except IntegrityError:
                    pass
            if piece is not None:  # wrong bytes, or a size the pointer disagrees with
                actual = hash_bytes(oid.algo, piece)
                if actual == oid:
                    check_size(self.name, oid, len(piece), item.size)
                errors.append(corrupt_on_remote(self.name, oid, actual))
            return self._download_copy(oid, cache, item.size, skip, errors)
        except DvliteError as exc:
            return exc


def _hashed(entry: RemoteEntry, data: bytes | None) -> CopyHash:
    """What a copy read back as (`data` None: the server could not send it intact)."""
    if data is None:
        return CopyHash(entry, None, 0)
    return CopyHash(entry, hash_bytes(entry.oid.algo, data), len(data))


def _segments(packed: PackMap, oids: Iterable[Oid]) -> list[Segment]:
    """The ranges that read the first copies of the packed ones of `oids`, pack by pack."""
    by_pack: dict[str, list[PackEntry]] = {}
    for oid in oids:
        at = packed.first(oid)
        if at is not None:
            by_pack.setdefault(at.pack, []).append(at.entry)
    return [seg for pack, entries in by_pack.items()
            for seg in plan_segments(pack, entries, RANGE_GAP, RANGE_MAX)]
