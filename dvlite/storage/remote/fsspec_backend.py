"""The backend of remotes reached through fsspec: S3 via s3fs (verified), other protocols
passed through (unverified). s3fs, boto3 and botocore are imported here only, lazily.

S3 writes are create-only (``If-None-Match: *``): an object that already exists is a
success, never overwritten (`s3_compat` covers servers without that). Retries and
timeouts are set in `s3_retry`. Listings are never cached: existence checks
before push and gc must be current.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dvlite._fault import faultpoint
from dvlite.core.oid import ALGORITHMS, Oid, hash_bytes, new_hasher
from dvlite.errors import (
    ConfigError,
    DvliteError,
    FormatError,
    MissingObjectsError,
)
from dvlite.storage.hashing import CHUNK, hash_fd
from dvlite.storage.odb import LocalStore
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote.base import FORMAT_FILE, Blob, RemoteEntry
from dvlite.storage.remote.errors import (
    check_bytes,
    check_size,
    corrupt_in_cache,
    corrupt_on_remote,
    map_error,
)
from dvlite.storage.remote.format import (
    REMOTE_LAYOUT,
    RemoteFormat,
    check_format_text,
    format_text,
    new_epoch,
)
from dvlite.storage.remote.fsspec_info import ByteCallback, mtime_of, no_bucket
from dvlite.storage.remote.options import FsspecOptions
from dvlite.storage.remote.s3_compat import CreateOnly, abort_stale_uploads
from dvlite.storage.remote.s3_retry import install, s3_kwargs

# Multipart part size: files under two parts go in one PUT. Parts per file in flight are
# capped (PART_CONCURRENCY) so memory stays near jobs x PART_CONCURRENCY x CHUNKSIZE.
CHUNKSIZE = 16 << 20
SMALL = 1 << 20  # S3 objects up to this size move whole in memory: fewer syscalls and hops
HEAD_MAX = 64  # up to this many objects, one HEAD each beats listing
LIST_PAGE = 1000  # keys per S3 list request


class FsspecBackend:
    """The loose-object layout under ``<bucket>/<prefix>`` of an fsspec filesystem."""

    # Reading the epoch needs the S3 stack and a request: status --remote and ls --remote
    # right after another command trust the known objects (no request at all); push
    # always reads it.
    known_ttl = 600.0

    def __init__(self, name: str, url: str, fs: Any, root: str, algo: str, *, jobs: int,
                 create_only: bool) -> None:
        self.name = name
        self.url = url
        self._fs = fs
        self._make_fs: Callable[[], Any] | None = None
        self._fs_lock = threading.Lock()
        self.root = root.rstrip("/")
        self.algo = algo
        self.jobs = jobs
        self.create_only = create_only
        self.endpoint = ""
        self._create = CreateOnly(self._exists)

    @classmethod
    def from_options(cls, name: str, url: str, opts: FsspecOptions, algo: str,
                     jobs: int) -> FsspecBackend:
        proto, _, path = url.partition("://")
        if not path.strip("/"):
            raise ConfigError(f"remote '{name}': url '{url}' names no bucket or path")
        if proto in ("s3", "s3a"):
            kwargs = s3_kwargs(opts, jobs)
            retries = max(1, opts.retries)

            def make() -> Any:
                import s3fs

                fs = s3fs.S3FileSystem(**kwargs)
                fs.retries = retries  # s3fs's own layer
                install(fs)  # a refused connection or a TLS mismatch is not retried
                return fs

            remote = cls(name, url, None, path, algo, jobs=jobs, create_only=True)
            remote._make_fs = make  # built on first use: a no-op push never imports s3fs
            remote.endpoint = opts.endpoint_url
            return remote
        import fsspec

        try:
            fs = fsspec.filesystem(proto, skip_instance_cache=True, **opts.storage_options)
        except (ValueError, ImportError) as exc:
            raise ConfigError(f"remote '{name}': unsupported url '{url}' ({exc})",
                              hint="use a local path, file://, or s3://bucket/prefix") from exc
        return cls(name, url, fs, path, algo, jobs=jobs, create_only=False)

    @property
    def fs(self) -> Any:
        with self._fs_lock:
            if self._fs is None:
                assert self._make_fs is not None
                self._fs = self._make_fs()
            return self._fs

    @property
    def identity(self) -> str:
        return f"{self.url}|{self.endpoint}"

    def key(self, oid: Oid) -> str:
        return f"{self.root}/{oid.algo}/{oid.hex[:2]}/{oid.hex}"

    def _fail(self, exc: BaseException, what: str, key: str = "",
              oid: Oid | None = None) -> DvliteError:
        proto = self.url.split("://", 1)[0]
        where = f"{proto}://{key}" if key else self.url
        return map_error(exc, self.name, f"{oid} ({where})" if oid else where, what)

    # -- existence ------------------------------------------------------------------

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
        path = f"{self.root}/{self.algo}/{shard}"
        try:
            names = self.fs.ls(path, detail=False)
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise self._fail(exc, "listing", path) from exc
            return set()
        except Exception as exc:
            raise self._fail(exc, "listing", path) from exc
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
        key = self.key(oid)
        try:
            info = self._head(key) if self.create_only else self.fs.info(key)
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise self._fail(exc, "checking", key, oid) from exc
            return None
        except Exception as exc:
            raise self._fail(exc, "checking", key, oid) from exc
        return RemoteEntry(oid, int(info.get("size") or 0), mtime_of(info))

    def _head(self, key: str) -> dict[str, Any]:
        """One HEAD (s3fs's info() adds a LIST for every missing key, to spot folders)."""
        from fsspec.asyn import sync

        bucket, name, _ = self.fs.split_path(key)
        out: dict[str, Any] = sync(self.fs.loop, self.fs._call_s3, "head_object",
                                   Bucket=bucket, Key=name)
        return {"size": out.get("ContentLength"), "LastModified": out.get("LastModified")}

    def list_entries(self) -> Iterator[RemoteEntry]:
        path = f"{self.root}/{self.algo}"
        try:
            found = self.fs.find(path, detail=True)
        except Exception as exc:
            raise self._fail(exc, "listing", path) from exc
        for name, info in sorted(found.items()):
            oid = self._parse(str(name))
            if oid is not None and str(name).endswith(f"{oid.hex[:2]}/{oid.hex}"):
                yield RemoteEntry(oid, int(info.get("size") or 0), mtime_of(info))

    # -- transfer -------------------------------------------------------------------

    def upload(self, oid: Oid, src: Path, progress: Progress = NULL_PROGRESS) -> bool:
        key = self.key(oid)
        data = self._read_verified(oid, src)
        try:
            if not self.create_only:
                self.fs.put_file(str(src), key, callback=ByteCallback(progress))
                return True
            if data is not None:
                return self._create.write(
                    key, lambda mode: self.fs.pipe_file(key, data, mode=mode))
            return self._create.write(key, lambda mode: self.fs.put_file(
                str(src), key, mode=mode, chunksize=CHUNKSIZE,
                callback=ByteCallback(progress)))
        except Exception as exc:
            raise self._fail(exc, "uploading", key, oid) from exc

    def _exists(self, key: str) -> bool:
        try:
            self._head(key)
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise
            return False
        return True

    def _read_verified(self, oid: Oid, src: Path) -> bytes | None:
        """Hash the cache object before it leaves: a file rotted on disk must not spread
        under its good name. A small object on S3 is kept in memory for one PUT (no
        second open and read); a large one is streamed from the file afterwards."""
        try:
            fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise MissingObjectsError(f"object {oid} is not in the cache") from exc
        data: bytes | None = None
        try:
            if self.create_only and os.fstat(fd).st_size <= SMALL:
                with os.fdopen(fd, "rb", closefd=False) as f:
                    data = f.read()
                actual = hash_bytes(oid.algo, data)
            else:
                actual, _ = hash_fd(fd, oid.algo)
        except OSError as exc:
            raise MissingObjectsError(f"object {oid} is not in the cache") from exc
        finally:
            os.close(fd)
        if actual != oid:
            raise corrupt_in_cache(oid)
        return data

    def download(self, oid: Oid, cache: LocalStore, size: int | None = None,
                 progress: Progress = NULL_PROGRESS) -> int:
        """Stream into a cache temp file (one GET, resumed by range on a dropped
        connection), hash it, and only then rename it into place."""
        key = self.key(oid)
        if self.create_only and size is not None and size <= SMALL:
            return self._download_small(oid, key, cache, size)
        tmp, fd = cache.new_temp()
        os.close(fd)
        try:
            try:
                self.fs.get_file(key, str(tmp), max_concurrency=1,
                                 callback=ByteCallback(progress))
            except Exception as exc:
                raise self._fail(exc, "downloading", key, oid) from exc
            faultpoint("s3.after_get")
            fd = os.open(tmp, os.O_RDONLY)
            try:
                actual, got = hash_fd(fd, oid.algo)
            finally:
                os.close(fd)
            if actual != oid:
                raise corrupt_on_remote(self.name, oid, actual)
            check_size(self.name, oid, got, size)
            cache.commit_temp(tmp, oid)
        finally:
            if tmp.exists():
                tmp.unlink()
        return got

    def _download_small(self, oid: Oid, key: str, cache: LocalStore, size: int) -> int:
        """One GET into memory, checked, then written once (no temp file re-read)."""
        try:
            data = self._cat(key)
        except Exception as exc:
            raise self._fail(exc, "downloading", key, oid) from exc
        faultpoint("s3.after_get")
        check_bytes(self.name, oid, data)
        check_size(self.name, oid, len(data), size)
        cache.add_bytes(data)
        return len(data)

    def _cat(self, path: str) -> bytes:
        """A whole small object in one GET (s3fs's cat_file first HEADs it to decide on a
        concurrent ranged read when max_concurrency > 1: a request per object wasted)."""
        if self.create_only:
            return bytes(self.fs.cat_file(path, max_concurrency=1))
        return bytes(self.fs.cat_file(path))

    def read_bytes(self, oid: Oid) -> bytes:
        key = self.key(oid)
        try:
            data = self._cat(key)
        except Exception as exc:
            raise self._fail(exc, "downloading", key, oid) from exc
        check_bytes(self.name, oid, data)
        return data

    def hash_object(self, oid: Oid) -> tuple[Oid, int]:
        """Hash the object as it streams in: one GET on S3, nothing kept."""
        key = self.key(oid)
        try:
            if self.create_only:
                from fsspec.asyn import sync

                result: tuple[Oid, int] = sync(self.fs.loop, self._hash_s3, key, oid.algo)
                return result
            return self._hash_file(key, oid.algo)
        except Exception as exc:
            raise self._fail(exc, "reading", key, oid) from exc

    async def _hash_s3(self, key: str, algo: str) -> tuple[Oid, int]:
        from s3fs.errors import translate_boto_error

        bucket, name, _ = self.fs.split_path(key)
        try:
            resp = await self.fs._call_s3("get_object", Bucket=bucket, Key=name)
        except Exception as exc:
            if type(exc).__name__ == "ClientError":
                raise translate_boto_error(exc) from exc
            raise
        body = resp["Body"]
        h = new_hasher(algo)
        total = 0
        try:
            while chunk := await body.read(CHUNK):
                h.update(chunk)
                total += len(chunk)
        finally:
            body.close()
        return Oid(algo, h.hexdigest()), total

    def _hash_file(self, key: str, algo: str) -> tuple[Oid, int]:
        h = new_hasher(algo)
        total = 0
        with self.fs.open(key, "rb", block_size=CHUNK, cache_type="none") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                total += len(chunk)
        return Oid(algo, h.hexdigest()), total

    def delete(self, oid: Oid) -> None:
        key = self.key(oid)
        try:
            self.fs.rm_file(key)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self._fail(exc, "deleting", key, oid) from exc

    # -- format and maintenance ------------------------------------------------------

    def check_format(self, create: bool, layout: int = REMOTE_LAYOUT) -> RemoteFormat | None:
        found = self.read_format()
        if found is not None or not create:
            return found
        path = f"{self.root}/{FORMAT_FILE}"
        fmt = RemoteFormat(new_epoch(), layout)
        try:
            if not self._put_new(path, format_text(fmt)):
                return self.read_format()  # another push made it meanwhile: its epoch counts
        except Exception as exc:
            raise self._fail(exc, "writing", path) from exc
        return fmt

    def _put_new(self, path: str, data: bytes | bytearray) -> bool:
        """One PUT of a small file, create-only on S3; False when it was there."""
        if not self.create_only:
            self.fs.pipe_file(path, data)
            return True
        return self._create.write(path, lambda mode: self.fs.pipe_file(path, data, mode=mode))

    def read_format(self) -> RemoteFormat | None:
        path = f"{self.root}/{FORMAT_FILE}"
        try:
            text = self._cat(path).decode(errors="replace")
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise self._fail(exc, "reading", path) from exc
            return None
        except Exception as exc:
            raise self._fail(exc, "reading", path) from exc
        return check_format_text(self.name, text)

    def write_format(self, fmt: RemoteFormat) -> RemoteFormat:
        path = f"{self.root}/{FORMAT_FILE}"
        try:
            self.fs.pipe_file(path, format_text(fmt))  # one PUT: whole or not
        except Exception as exc:
            raise self._fail(exc, "writing", path) from exc
        return fmt

    # -- blobs (pack files and their indexes) ------------------------------------------

    def put_blob(self, rel: str, data: bytes | bytearray) -> bool:
        path = f"{self.root}/{rel}"
        try:
            return self._put_new(path, data)
        except Exception as exc:
            raise self._fail(exc, "uploading", path) from exc

    def get_range(self, rel: str, start: int | None = None, end: int | None = None) -> bytes:
        """The bytes [start, end) of a blob in one GET (the whole blob without a range)."""
        path = f"{self.root}/{rel}"
        try:
            if start is None or end is None:
                return self._cat(path)
            if end <= start:
                return b""
            if self.create_only:
                return bytes(self.fs.cat_file(path, start=start, end=end, max_concurrency=1))
            return bytes(self.fs.cat_file(path, start=start, end=end))
        except Exception as exc:
            raise self._fail(exc, "downloading", path) from exc

    def list_blobs(self, rel: str) -> list[Blob]:
        path = f"{self.root}/{rel}"
        try:
            found = self.fs.ls(path, detail=True)
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise self._fail(exc, "listing", path) from exc
            return []
        except Exception as exc:
            raise self._fail(exc, "listing", path) from exc
        blobs = [Blob(str(info["name"]).rsplit("/", 1)[-1], int(info.get("size") or 0),
                      mtime_of(info)) for info in found if info.get("type") != "directory"]
        return sorted(blobs, key=lambda b: b.name)

    def delete_blob(self, rel: str) -> None:
        path = f"{self.root}/{rel}"
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self._fail(exc, "deleting", path) from exc

    def clean_stale(self, older_than: float) -> int:  # noqa: ARG002 - protocol
        return 0  # every write is one request: nothing is left behind but uploads

    def abort_stale_uploads(self, older_than: float) -> int | None:
        """Abort multipart uploads under this remote older than `older_than` seconds
        (left by a killed push; they are invisible but billed). None when the server
        cannot list them."""
        if not self.create_only:
            return 0
        try:
            return abort_stale_uploads(self.fs, self.root, older_than)
        except Exception as exc:
            raise self._fail(exc, "cleaning stale uploads", self.root) from exc
