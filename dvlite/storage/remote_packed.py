"""A remote as push, fetch, gc and fsck see it: loose objects, plus packs on layout 2.

On a layout-2 remote, objects up to `PACK_OBJECT_MAX` bytes travel in packs of about
`PACK_SIZE` bytes: one request moves thousands of small files. A pack goes up whole
before its index (a pack without an index is invisible, and removed by gc once old),
so an object is on the remote exactly when a loose file or a published index lists it.
Reads fetch ranges of packs, and every object is hashed on its own before it is used.
An index that does not parse is skipped (its objects count as missing and are pushed
again), never guessed at. Deleting packed objects rewrites their pack without them:
the new pack and index first, then the old index, then the old pack.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dvlite._fault import faultpoint
from dvlite.core.oid import Oid, hash_bytes
from dvlite.core.pack import (
    INDEX_SUFFIX,
    PACK_SUFFIX,
    PackEntry,
    PackIndex,
    Segment,
    plan_segments,
    split_by_size,
)
from dvlite.errors import (
    DvliteError,
    FormatError,
    IntegrityError,
    MissingObjectsError,
    RemoteError,
)
from dvlite.storage.atomic import TMP_MARK
from dvlite.storage.odb import LocalStore
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote import RECORD_KEY, RECORDS_DIR, Backend, RemoteEntry
from dvlite.storage.remote_errors import (
    check_bytes,
    check_record_key,
    check_size,
    corrupt_in_cache,
    remote_integrity,
)
from dvlite.storage.remote_format import REMOTE_LAYOUT, RemoteFormat, new_epoch
from dvlite.storage.transfer import (
    Item,
    Outcome,
    TransferResult,
    transfer_groups,
    transfer_many,
)

PACK_OBJECT_MAX = 1 << 20  # objects up to this size are packed
PACK_SIZE = 16 << 20  # a pack is closed once the next object would take it past this
RANGE_GAP = 256 << 10  # wanted objects closer than this are read in one request
RANGE_MAX = 4 << 20  # a read holds this much at most (times jobs)
PACK_JOBS = 4  # packs built and sent at once: each is held whole in memory
ORPHAN_AGE = 3600.0  # a pack without an index younger than this may be mid-push


@dataclass(frozen=True, slots=True)
class Packed:
    """Where a packed object lives."""

    pack: str
    entry: PackEntry
    mtime: float


class PackedRemote:
    """The `Remote` over a backend (a local folder, or fsspec) that stores whole files."""

    def __init__(self, backend: Backend, new_layout: int = REMOTE_LAYOUT) -> None:
        self.backend = backend
        self.new_layout = new_layout  # the layout of the format file a first push writes
        self.name = backend.name
        self.url = backend.url
        self.algo = backend.algo
        self.jobs = backend.jobs
        self.record_ttl = backend.record_ttl
        self.folder = f"packs/{backend.algo}"
        self._format: RemoteFormat | None = None
        self._format_read = False
        self._where: dict[Oid, Packed] | None = None
        self._indexes: dict[str, PackIndex] = {}
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return self.backend.identity

    # -- format and epoch ---------------------------------------------------------------

    def _remember(self, fmt: RemoteFormat | None) -> str | None:
        self._format, self._format_read = fmt, True
        return None if fmt is None else fmt.epoch

    def check_format(self, create: bool) -> str | None:
        return self._remember(self.backend.check_format(create, self.new_layout))

    def read_epoch(self) -> str | None:
        return self._remember(self.backend.read_format())

    def renew_epoch(self) -> str:
        layout = self.layout or self.new_layout
        epoch = self._remember(self.backend.write_format(RemoteFormat(new_epoch(), layout)))
        assert epoch is not None
        return epoch

    @property
    def layout(self) -> int | None:
        """The remote's layout version (None: no format file yet)."""
        if not self._format_read:
            self._remember(self.backend.read_format())
        return None if self._format is None else self._format.layout

    def upgrade(self) -> tuple[int, int]:
        """Move the remote to the current layout (objects stay as they are: layout 2
        reads loose objects too). Returns the layouts before and after. The `layout`
        option only chooses what a new remote gets."""
        self.read_epoch()
        fmt = self._format
        if fmt is None:
            raise RemoteError(f"remote '{self.name}' has no format file: nothing was "
                              "pushed to it yet", hint="its first push creates it")
        if fmt.layout < REMOTE_LAYOUT:
            # A new epoch, not the one just read: writing that back could undo the
            # renewal of a gc --remote deleting meanwhile, and revive stale records.
            new = RemoteFormat(new_epoch(), REMOTE_LAYOUT)
            self._remember(self.backend.write_format(new))
        return fmt.layout, REMOTE_LAYOUT

    # -- the pack map -------------------------------------------------------------------

    def _packs(self) -> dict[Oid, Packed]:
        with self._lock:
            if self._where is None:
                self._where = self._load_packs() if (self.layout or 0) >= 2 else {}
            return self._where

    def _load_packs(self) -> dict[Oid, Packed]:
        blobs = {b.name: b for b in self.backend.list_blobs(self.folder)}
        names = sorted(n[: -len(INDEX_SUFFIX)] for n in blobs if n.endswith(INDEX_SUFFIX)
                       and n[: -len(INDEX_SUFFIX)] + PACK_SUFFIX in blobs)

        def load(name: str) -> PackIndex | None:
            data = self.backend.get_range(f"{self.folder}/{name}{INDEX_SUFFIX}")
            try:
                index = PackIndex.parse(name, self.algo, data, f"{name} on '{self.name}'")
            except FormatError:
                return None
            return index if index.size == blobs[name + PACK_SUFFIX].size else None

        with ThreadPoolExecutor(self.jobs) as pool:
            loaded = list(pool.map(load, names))
        where: dict[Oid, Packed] = {}
        self._indexes = {}
        for name, index in zip(names, loaded, strict=True):
            if index is None:
                continue
            self._indexes[name] = index
            mtime = blobs[name + PACK_SUFFIX].mtime
            for entry in index.entries:
                where.setdefault(entry.oid, Packed(name, entry, mtime))
        return where

    def _pack_key(self, name: str) -> str:
        return f"{self.folder}/{name}{PACK_SUFFIX}"

    def _read(self, oid: Oid, at: Packed) -> bytes:
        data = self.backend.get_range(self._pack_key(at.pack), at.entry.offset, at.entry.end)
        check_size(self.name, oid, len(data), at.entry.size)
        return data

    # -- existence and listing ----------------------------------------------------------

    def exists_many(self, oids: Collection[Oid]) -> set[Oid]:
        packed = self._packs()
        found = {oid for oid in oids if oid in packed}
        rest = set(oids) - found
        return found | (self.backend.exists_many(rest) if rest else set())

    def stat(self, oid: Oid) -> RemoteEntry | None:
        at = self._packs().get(oid)
        if at is not None:
            return RemoteEntry(oid, at.entry.size, at.mtime, at.pack)
        return self.backend.stat(oid)

    def list_entries(self) -> Iterator[RemoteEntry]:
        """Every copy of every object: loose ones, then packed ones (an object may have
        both, and gc must know each)."""
        yield from self.backend.list_entries()
        for oid, at in sorted(self._packs().items()):
            yield RemoteEntry(oid, at.entry.size, at.mtime, at.pack)

    # -- reading ------------------------------------------------------------------------

    def read_bytes(self, oid: Oid) -> bytes:
        at = self._packs().get(oid)
        if at is None:
            return self.backend.read_bytes(oid)
        data = self._read(oid, at)
        check_bytes(self.name, oid, data)
        return data

    def download(self, oid: Oid, cache: LocalStore, size: int | None = None,
                 progress: Progress = NULL_PROGRESS) -> int:
        at = self._packs().get(oid)
        if at is None:
            return self.backend.download(oid, cache, size, progress)
        check_size(self.name, oid, at.entry.size, size)
        data = self._read(oid, at)
        self._store(oid, data, cache)
        return len(data)

    def _store(self, oid: Oid, data: bytes, cache: LocalStore) -> None:
        """Into the cache only if `data` hashes to `oid` (hashed once, by the cache)."""
        try:
            cache.add_bytes(data, expected=oid)
        except IntegrityError as exc:
            raise remote_integrity(self.name, oid, exc) from exc

    def hash_many(self, oids: Collection[Oid], jobs: int,
                  progress: Progress = NULL_PROGRESS) -> dict[Oid, tuple[Oid, int] | None]:
        """Hash every object as the remote holds it (None: missing): loose ones one by
        one, packed ones a range of a pack at a time. Nothing is kept."""
        packed = self._packs()
        found: dict[Oid, tuple[Oid, int] | None] = {}
        lock = threading.Lock()

        def note(oid: Oid, got: tuple[Oid, int] | None) -> None:
            with lock:
                found[oid] = got
            progress.advance(files=1, nbytes=got[1] if got else 0)

        def loose(oid: Oid) -> None:
            try:
                note(oid, self.backend.hash_object(oid))
            except MissingObjectsError:
                note(oid, None)

        def segment(seg: Segment) -> None:
            try:
                data = self.backend.get_range(self._pack_key(seg.pack), seg.start, seg.end)
            except MissingObjectsError:
                data = b""
            for e in seg.entries:
                piece = data[e.offset - seg.start: e.end - seg.start]
                note(e.oid, (hash_bytes(e.oid.algo, piece), len(piece)) if data else None)

        with ThreadPoolExecutor(max(1, jobs)) as pool:
            list(pool.map(loose, [oid for oid in oids if oid not in packed]))
            list(pool.map(segment, _segments(packed, oids)))
        return found

    def download_many(self, items: Sequence[Item], cache: LocalStore, *, jobs: int,
                      result: TransferResult, progress: Progress = NULL_PROGRESS,
                      point: str = "fetch") -> list[Oid]:
        """Download `items` into `cache`, verified: loose objects one by one, packed ones
        a range of a pack at a time."""
        if not items:
            return []
        packed = self._packs()
        loose = [it for it in items if it.oid not in packed]

        def one(item: Item, meter: Progress) -> int:
            return self.backend.download(item.oid, cache, item.size, meter)

        done = transfer_many(loose, one, jobs, result, progress, point=point)
        by_oid = {it.oid: it for it in items}
        groups = [[by_oid[e.oid] for e in seg.entries] for seg in _segments(packed, by_oid)]

        def segment(group: list[Item], _: Progress) -> list[tuple[Item, Outcome]]:
            return self._store_segment(group, packed, cache)

        done += transfer_groups(groups, segment, jobs, result, progress, point=point)
        return done

    def _store_segment(self, group: list[Item], packed: Mapping[Oid, Packed],
                       cache: LocalStore) -> list[tuple[Item, Outcome]]:
        """Read one range of a pack (a group made by `_segments`), store each object."""
        entries = tuple(packed[it.oid].entry for it in group)
        seg = Segment(packed[group[0].oid].pack, entries[0].offset, entries[-1].end, entries)
        data = self.backend.get_range(self._pack_key(seg.pack), seg.start, seg.end)
        faultpoint("pack.after_read")
        out: list[tuple[Item, Outcome]] = []
        for item, entry in zip(group, seg.entries, strict=True):
            piece = data[entry.offset - seg.start: entry.end - seg.start]
            try:
                check_size(self.name, item.oid, len(piece), item.size)
                self._store(item.oid, piece, cache)
            except DvliteError as exc:
                out.append((item, exc))
                continue
            out.append((item, len(piece)))
        return out

    # -- writing ------------------------------------------------------------------------

    def upload(self, oid: Oid, src: Path, progress: Progress = NULL_PROGRESS) -> bool:
        return self.backend.upload(oid, src, progress)

    def upload_many(self, items: Sequence[Item], cache: LocalStore, sizes: Mapping[Oid, int],
                    *, jobs: int, result: TransferResult, progress: Progress = NULL_PROGRESS,
                    point: str = "push") -> list[Oid]:
        """Upload `items` from `cache`: small objects in packs on layout 2, the rest (and
        everything on layout 1) one by one."""
        if not items:
            return []
        sizes = {it.oid: sizes[it.oid] if it.oid in sizes else _size(cache, it.oid)
                 for it in items}
        packing = (self.layout or 0) >= 2
        small = [it for it in items if packing and sizes[it.oid] <= PACK_OBJECT_MAX]
        big = [it for it in items if not (packing and sizes[it.oid] <= PACK_OBJECT_MAX)]

        def one(item: Item, meter: Progress) -> int | None:
            moved = self.backend.upload(item.oid, cache.path(item.oid), meter)
            return sizes[item.oid] if moved else None

        done = transfer_many(big, one, jobs, result, progress, point=point)
        # Path order: the files of one folder sit side by side in a pack, so pulling a
        # subfolder later reads few ranges.
        ordered = sorted(small, key=lambda it: it.path)
        by_oid = {it.oid: it for it in ordered}
        groups = [[by_oid[o] for o in group] for group in
                  split_by_size(((it.oid, sizes[it.oid]) for it in ordered), PACK_SIZE)]

        def pack(group: list[Item], _: Progress) -> list[tuple[Item, Outcome]]:
            return self._write_pack(group, cache)  # one request: counted when it ends

        done += transfer_groups(groups, pack, min(jobs, PACK_JOBS), result, progress,
                                point=point)
        return done

    def _write_pack(self, group: list[Item], cache: LocalStore) -> list[tuple[Item, Outcome]]:
        out: list[tuple[Item, Outcome]] = []
        blob = bytearray()
        packed: list[tuple[Item, int]] = []
        for item in group:
            try:
                data = _read_verified(cache, item.oid)
            except DvliteError as exc:
                out.append((item, exc))
                continue
            blob += data
            packed.append((item, len(data)))
        if not packed:
            return out
        name = hash_bytes(self.algo, blob).hex
        index = PackIndex.build(name, ((it.oid, size) for it, size in packed))
        self.backend.put_blob(self._pack_key(name), blob)
        faultpoint("pack.before_index")
        self._put_index(index)
        self._learn(index, time.time())
        out.extend(packed)
        return out

    def _put_index(self, index: PackIndex) -> None:
        """Publish `index` beside its pack. The same objects pushed again make the same
        pack, so an index may be there already: it stays if it is a valid index of that
        pack, and is replaced if not (it was skipped as unreadable, which is why these
        objects were pushed again; left, it would hide them for good)."""
        key = f"{self.folder}/{index.name}{INDEX_SUFFIX}"
        data = index.to_bytes()
        if self.backend.put_blob(key, data):
            return
        found = self.backend.get_range(key)
        if found == data:
            return
        try:
            there = PackIndex.parse(index.name, self.algo, found, key)
        except FormatError:
            there = None
        if there is not None and there.size == index.size:
            return  # another valid reading of the same bytes: never drop its objects
        self.backend.delete_blob(key)
        self.backend.put_blob(key, data)

    def _learn(self, index: PackIndex, mtime: float) -> None:
        with self._lock:
            if self._where is None:
                return
            self._indexes[index.name] = index
            for entry in index.entries:
                self._where.setdefault(entry.oid, Packed(index.name, entry, mtime))

    # -- deleting -----------------------------------------------------------------------

    def delete_many(self, entries: Sequence[RemoteEntry]) -> None:
        """Delete these copies: loose files, and packed objects by rewriting each pack
        that holds any (without them), in the order given, pack by pack."""
        doomed: dict[str, set[Oid]] = {}
        for entry in entries:
            if entry.pack is None:
                self.backend.delete(entry.oid)
                faultpoint("gc.after_remote_delete")
            else:
                doomed.setdefault(entry.pack, set()).add(entry.oid)
        self._packs()
        for name, oids in doomed.items():
            self._rewrite(name, oids)
            faultpoint("gc.after_remote_delete")
        with self._lock:
            self._where = None

    def _rewrite(self, name: str, oids: set[Oid]) -> None:
        index = self._indexes.get(name)
        if index is None:
            return
        keep = [e for e in index.entries if e.oid not in oids]
        if keep:
            data = self.backend.get_range(self._pack_key(name))
            parts = []
            for e in keep:
                piece = data[e.offset: e.end]
                if hash_bytes(self.algo, piece) != e.oid:
                    raise IntegrityError(
                        f"object {e.oid} in pack {name} on remote '{self.name}' is corrupt; "
                        "the pack was left as it is", hint="run `dvlite fsck --remote`")
                parts.append((e.oid, piece))
            blob = b"".join(piece for _, piece in parts)
            new = hash_bytes(self.algo, blob).hex
            self.backend.put_blob(self._pack_key(new), blob)
            new_index = PackIndex.build(new, ((oid, len(p)) for oid, p in parts))
            self.backend.put_blob(f"{self.folder}/{new}{INDEX_SUFFIX}", new_index.to_bytes())
        self.backend.delete_blob(f"{self.folder}/{name}{INDEX_SUFFIX}")
        self.backend.delete_blob(self._pack_key(name))

    def clean_stale(self, older_than: float) -> int:
        """Leftovers of killed transfers: the backend's (temp files, multipart uploads),
        and packs whose index never arrived."""
        removed = self.backend.clean_stale(older_than)
        if (self.layout or 0) < 2:
            return removed
        blobs = self.backend.list_blobs(self.folder)
        names = {b.name for b in blobs}
        now = time.time()
        for blob in blobs:
            if TMP_MARK in blob.name:  # a killed write to a folder remote
                stale = blob.mtime < now - older_than
            else:  # a pack whose index never came (--now does not shorten the wait)
                stale = blob.name.endswith(PACK_SUFFIX) and blob.mtime < now - max(
                    older_than, ORPHAN_AGE) and \
                    blob.name[: -len(PACK_SUFFIX)] + INDEX_SUFFIX not in names
            if stale:
                self.backend.delete_blob(f"{self.folder}/{blob.name}")
                removed += 1
        return removed

    # -- run-cache records --------------------------------------------------------------

    def list_records(self) -> list[str]:
        return sorted(b.name for b in self.backend.list_blobs(RECORDS_DIR)
                      if RECORD_KEY.fullmatch(b.name))

    def read_record(self, key: str) -> bytes:
        return self.backend.get_range(f"{RECORDS_DIR}/{check_record_key(key)}")

    def upload_record(self, key: str, data: bytes) -> bool:
        return self.backend.put_blob(f"{RECORDS_DIR}/{check_record_key(key)}", data)


def _segments(packed: Mapping[Oid, Packed], oids: Iterable[Oid]) -> list[Segment]:
    """The ranges that read the packed ones of `oids`, pack by pack."""
    by_pack: dict[str, list[PackEntry]] = {}
    for oid in oids:
        at = packed.get(oid)
        if at is not None:
            by_pack.setdefault(at.pack, []).append(at.entry)
    return [seg for pack, entries in by_pack.items()
            for seg in plan_segments(pack, entries, RANGE_GAP, RANGE_MAX)]


def _size(cache: LocalStore, oid: Oid) -> int:
    try:
        return os.stat(cache.path(oid)).st_size
    except OSError:
        return 0  # not in the cache: reported as such by the upload


def _read_verified(cache: LocalStore, oid: Oid) -> bytes:
    """A cache object's bytes, hashed before they leave: a file rotted on disk must not
    spread under its good name."""
    try:
        data = cache.read_bytes(oid)
    except MissingObjectsError:
        raise
    except DvliteError as exc:  # one unreadable object, not a reason to stop the push
        raise MissingObjectsError(f"object {oid} is not readable in the cache: {exc.msg}",
                                  hint=exc.hint) from exc
    if hash_bytes(oid.algo, data) != oid:
        raise corrupt_in_cache(oid)
    return data
