"""What an fsspec remote holds: which objects exist (a HEAD each, a listing of the shards
they fall in, or of everything, whichever an estimate says takes fewer requests), one
object's entry, and the listings of objects and of blobs. Nothing is cached: existence
checks before push and gc must be current."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor

from dvlite.core.oid import ALGORITHMS, Oid
from dvlite.errors import FormatError
from dvlite.storage.remote.base import Blob, RemoteEntry
from dvlite.storage.remote.fsspec_fs import RemoteFs
from dvlite.storage.remote.fsspec_info import mtime_of, no_bucket

HEAD_MAX = 64  # up to this many objects, one HEAD each beats listing
LIST_PAGE = 1000  # keys per S3 list request


class Listing:
    """The existence checks and listings of one remote's files."""

    def __init__(self, rfs: RemoteFs, algo: str, jobs: int) -> None:
        self.rfs = rfs
        self.algo = algo
        self.jobs = jobs

    def exists_many(self, oids: Collection[Oid]) -> set[Oid]:
        """Which `oids` the remote has: HEAD each, list needed shards, or list everything,
        whichever an estimate of the remote's size says is fewer requests."""
        wanted = set(oids)
        if len(wanted) <= HEAD_MAX:
            return self._head_many(wanted)
        shards = sorted({o.hex[:2] for o in wanted})
        sample = self._list_shard(shards[0])
        estimate = len(sample) * 256
        cost_full = estimate // LIST_PAGE + 1
        cost_shards = len(shards) * (len(sample) // LIST_PAGE + 1)
        if len(wanted) <= min(cost_full, cost_shards):
            return self._head_many(wanted)
        if cost_full < cost_shards:
            names = {e.oid for e in self.list_entries()}
        else:
            names = set(sample)
            with ThreadPoolExecutor(self.jobs) as pool:
                for found in pool.map(self._list_shard, shards[1:]):
                    names |= found
        return wanted & names

    def _head_many(self, oids: set[Oid]) -> set[Oid]:
        items = sorted(oids)
        with ThreadPoolExecutor(self.jobs) as pool:
            found = list(pool.map(self.stat, items))
        return {oid for oid, entry in zip(items, found, strict=True) if entry is not None}

    def _list_shard(self, shard: str) -> set[Oid]:
        path = f"{self.rfs.root}/{self.algo}/{shard}"
        try:
            names = self.rfs.fs.ls(path, detail=False)
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise self.rfs.fail(exc, "listing", path) from exc
            return set()
        except Exception as exc:
            raise self.rfs.fail(exc, "listing", path) from exc
        return {oid for oid in (self._parse(str(n)) for n in names) if oid is not None}

    def _parse(self, name: str) -> Oid | None:
        base = name.rsplit("/", 1)[-1]
        if len(base) != ALGORITHMS[self.algo][0]:
            return None
        try:
            return Oid(self.algo, base)
        except FormatError:
            return None

    def stat(self, oid: Oid) -> RemoteEntry | None:
        key = self.rfs.key(oid)
        try:
            info = self.rfs.head(key) if self.rfs.s3 else self.rfs.fs.info(key)
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise self.rfs.fail(exc, "checking", key, oid) from exc
            return None
        except Exception as exc:
            raise self.rfs.fail(exc, "checking", key, oid) from exc
        return RemoteEntry(oid, int(info.get("size") or 0), mtime_of(info))

    def list_entries(self) -> Iterator[RemoteEntry]:
        path = f"{self.rfs.root}/{self.algo}"
        try:
            found = self.rfs.fs.find(path, detail=True)
        except Exception as exc:
            raise self.rfs.fail(exc, "listing", path) from exc
        for name, info in sorted(found.items()):
            oid = self._parse(str(name))
            if oid is not None and str(name).endswith(f"{oid.hex[:2]}/{oid.hex}"):
                yield RemoteEntry(oid, int(info.get("size") or 0), mtime_of(info))

    def list_blobs(self, rel: str) -> list[Blob]:
        path = f"{self.rfs.root}/{rel}"
        try:
            found = self.rfs.fs.ls(path, detail=True)
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise self.rfs.fail(exc, "listing", path) from exc
            return []
        except Exception as exc:
            raise self.rfs.fail(exc, "listing", path) from exc
        blobs = [Blob(str(info["name"]).rsplit("/", 1)[-1], int(info.get("size") or 0),
                      mtime_of(info)) for info in found if info.get("type") != "directory"]
        return sorted(blobs, key=lambda b: b.name)
