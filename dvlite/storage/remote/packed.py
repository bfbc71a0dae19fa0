"""A remote as push, fetch, gc and fsck see it: loose objects, plus packs on layout 2.

On a layout-2 remote, objects up to `PACK_OBJECT_MAX` bytes travel in packs of about
`PACK_SIZE` bytes: one request moves thousands of small files. A pack goes up whole
before its index (a pack without an index is invisible, and removed by gc once old),
so an object is on the remote exactly when a loose file or a published index lists it.
Reads fetch ranges of packs, and every object is hashed on its own before it is used;
a copy that is not intact gives way to the object's other copies (other packs, then a
loose file) before a read fails (`packread`). Which indexes are used, and every
copy they list, is `packmap`'s job.
Deleting packed objects rewrites their pack without them: the new pack and index first,
then the old index, then the old pack.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

from dvlite._fault import faultpoint
from dvlite.core.oid import Oid, hash_bytes
from dvlite.core.pack import INDEX_SUFFIX, PACK_SUFFIX, PackEntry, PackIndex, split_by_size
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
from dvlite.storage.remote.base import RECORD_KEY, RECORDS_DIR, Backend, CopyHash, RemoteEntry
from dvlite.storage.remote.errors import check_record_key, corrupt_in_cache
from dvlite.storage.remote.format import REMOTE_LAYOUT, RemoteFormat, new_epoch
from dvlite.storage.remote.packmap import (
    PACK_OBJECT_MAX,
    PACK_SIZE,
    PackMap,
    load_pack_map,
    read_index,
)
from dvlite.storage.remote.packread import PackReader
from dvlite.storage.transfer import (
    Item,
    Outcome,
    TransferResult,
    transfer_groups,
    transfer_many,
)

PACK_JOBS = 4  # packs built and sent at once: each is held whole in memory
ORPHAN_AGE = 3600.0  # a pack without an index younger than this may be mid-push

class PackedRemote:
    """The `Remote` over a backend (a local folder, or fsspec) that stores whole files."""

    def __init__(self, backend: Backend, new_layout: int = REMOTE_LAYOUT) -> None:
        self.backend = backend
        self.new_layout = new_layout  # the layout of the format file a first push writes
        self.name = backend.name
        self.url = backend.url
        self.algo = backend.algo
        self.jobs = backend.jobs
        self.known_ttl = backend.known_ttl
        self.folder = f"packs/{backend.algo}"
        self._format: RemoteFormat | None = None
        self._format_read = False
        self._map: PackMap | None = None
        self._lock = threading.Lock()
        self._reader = PackReader(backend, self.folder, self._packs)

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
            # renewal of a gc --remote deleting meanwhile, and revive stale known objects.
            new = RemoteFormat(new_epoch(), REMOTE_LAYOUT)
            self._remember(self.backend.write_format(new))
        return fmt.layout, REMOTE_LAYOUT

    # -- the pack map -------------------------------------------------------------------

    def _packs(self) -> PackMap:
        with self._lock:
            if self._map is None:
                use = (self.layout or 0) >= 2
                self._map = load_pack_map(self.backend, self.folder) if use else PackMap()
            return self._map

    def _pack_key(self, name: str) -> str:
        return f"{self.folder}/{name}{PACK_SUFFIX}"

    def skipped_indexes(self) -> dict[str, str]:
        return dict(self._packs().skipped)

    def drop_index(self, pack: str) -> bool:
        blobs = {b.name: b for b in self.backend.list_blobs(self.folder)}
        index, data = blobs.get(pack + INDEX_SUFFIX), blobs.get(pack + PACK_SUFFIX)
        if index is None:
            return False
        if data is not None:
            try:
                read_index(self.backend, self.folder, pack, index, data)
                return False  # readable this time: the first read was what failed
            except (FormatError, IntegrityError):
                pass
        self.backend.delete_blob(f"{self.folder}/{pack}{INDEX_SUFFIX}")
        return True

    # -- existence and listing ----------------------------------------------------------

    def exists_many(self, oids: Collection[Oid]) -> set[Oid]:
        packed = self._packs().copies
        found = {oid for oid in oids if oid in packed}
        rest = set(oids) - found
        return found | (self.backend.exists_many(rest) if rest else set())

    def stat(self, oid: Oid) -> RemoteEntry | None:
        at = self._packs().first(oid)
        if at is not None:
            return RemoteEntry(oid, at.entry.size, at.mtime, at.pack)
        return self.backend.stat(oid)

    def list_entries(self) -> Iterator[RemoteEntry]:
        """Every copy of every object: loose ones, then packed ones (an object may have
        both, and gc must know each)."""
        yield from self.backend.list_entries()
        for oid, copies in sorted(self._packs().copies.items()):
            for at in copies:
                yield RemoteEntry(oid, at.entry.size, at.mtime, at.pack)

    # -- reading ------------------------------------------------------------------------

    def read_bytes(self, oid: Oid) -> bytes:
        return self._reader.read_bytes(oid)

    def download(self, oid: Oid, cache: LocalStore, size: int | None = None,
                 progress: Progress = NULL_PROGRESS) -> int:
        return self._reader.download(oid, cache, size, progress)

    def hash_many(self, oids: Collection[Oid], jobs: int,
                  progress: Progress = NULL_PROGRESS) -> dict[Oid, list[CopyHash]]:
        return self._reader.hash_many(oids, jobs, progress)

    def hash_copy(self, entry: RemoteEntry) -> CopyHash | None:
        return self._reader.hash_copy(entry)

    def download_many(self, items: Sequence[Item], cache: LocalStore, *, jobs: int,
                      result: TransferResult, progress: Progress = NULL_PROGRESS,
                      point: str = "fetch") -> list[Oid]:
        return self._reader.download_many(items, cache, jobs=jobs, result=result,
                                          progress=progress, point=point)

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
        try:
            found = self.backend.get_range(key)
            if found == data:
                return
            there: PackIndex | None = PackIndex.parse(index.name, self.algo, found, key)
        except (FormatError, IntegrityError):  # unparsable, or damaged on the server
            there = None
        if there is not None and there.size == index.size:
            return  # another valid reading of the same bytes: never drop its objects
        self.backend.delete_blob(key)
        self.backend.put_blob(key, data)

    def _learn(self, index: PackIndex, mtime: float) -> None:
        with self._lock:
            if self._map is not None:
                self._map.learn(index, mtime)

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
            self._map = None

    def _rewrite(self, name: str, oids: set[Oid]) -> None:
        index = self._packs().indexes.get(name)
        if index is None:
            return
        keep = [e for e in index.entries if e.oid not in oids]
        if keep:
            parts = self._kept(name, keep)
            blob = b"".join(piece for _, piece in parts)
            new = hash_bytes(self.algo, blob).hex
            self.backend.put_blob(self._pack_key(new), blob)
            new_index = PackIndex.build(new, ((oid, len(p)) for oid, p in parts))
            self.backend.put_blob(f"{self.folder}/{new}{INDEX_SUFFIX}", new_index.to_bytes())
        self.backend.delete_blob(f"{self.folder}/{name}{INDEX_SUFFIX}")
        self.backend.delete_blob(self._pack_key(name))

    def _kept(self, name: str, keep: list[PackEntry]) -> list[tuple[Oid, bytes]]:
        """The objects a rewrite of pack `name` keeps, each hashed: the pack read whole,
        or object by object when the server fails its own checksum on the whole (a
        range of it may still come intact). A corrupt one stops the rewrite."""
        key = self._pack_key(name)
        try:
            data = self.backend.get_range(key)
            pieces: list[bytes | None] = [data[e.offset: e.end] for e in keep]
        except IntegrityError:
            pieces = [_range_or_none(self.backend, key, e) for e in keep]
        parts = []
        for e, piece in zip(keep, pieces, strict=True):
            if piece is None or hash_bytes(self.algo, piece) != e.oid:
                raise IntegrityError(
                    f"object {e.oid} in pack {name} on remote '{self.name}' is corrupt; "
                    "the pack was left as it is", hint="run `dvlite fsck --remote`")
            parts.append((e.oid, piece))
        return parts

    def clean_stale(self, older_than: float) -> int:
        """Leftovers of killed transfers: the backend's temp files (multipart uploads are
        aborted separately, `abort_stale_uploads`), and packs whose index never arrived."""
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


def _range_or_none(backend: Backend, key: str, entry: PackEntry) -> bytes | None:
    try:
        return backend.get_range(key, entry.offset, entry.end)
    except IntegrityError:
        return None


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
