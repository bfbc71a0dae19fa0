"""The filesystem of one fsspec remote, opened from its typed options, and the calls
whose S3 form differs: one HEAD for a key, one GET for a small file or a range, a hash
streamed from one GET.

S3 goes through s3fs, built on first use (a no-op push never imports s3fs, boto3 or
botocore); any other protocol gets the remote's storage options as they are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dvlite.core.oid import Oid, new_hasher
from dvlite.errors import ConfigError, DvliteError
from dvlite.storage.hashing import CHUNK
from dvlite.storage.remote.errors import map_error
from dvlite.storage.remote.fsspec_info import no_bucket
from dvlite.storage.remote.options import FsspecOptions
from dvlite.storage.remote.s3_retry import install, s3_kwargs


class RemoteFs:
    """Where a remote's files are on an fsspec filesystem (``root``: bucket and prefix).
    `s3` means create-only writes and reads that take one request each."""

    def __init__(self, name: str, url: str, root: str, make: Callable[[], Any], *,
                 s3: bool, endpoint: str = "") -> None:
        self.name = name
        self.url = url
        self.root = root.rstrip("/")
        self.s3 = s3
        self.endpoint = endpoint
        self._make: Callable[[], Any] = make
        self._fs: Any = None
        self._lock = threading.Lock()

    @property
    def fs(self) -> Any:
        with self._lock:
            if self._fs is None:
                self._fs = self._make()
            return self._fs

    def key(self, oid: Oid) -> str:
        return f"{self.root}/{oid.algo}/{oid.hex[:2]}/{oid.hex}"

    def fail(self, exc: BaseException, what: str, key: str = "",
             oid: Oid | None = None) -> DvliteError:
        proto = self.url.split("://", 1)[0]
        where = f"{proto}://{key}" if key else self.url
        return map_error(exc, self.name, f"{oid} ({where})" if oid else where, what)

    def head(self, key: str) -> dict[str, Any]:
        """One HEAD (s3fs's info() adds a LIST for every missing key, to spot folders)."""
        from fsspec.asyn import sync

        bucket, name, _ = self.fs.split_path(key)
        out: dict[str, Any] = sync(self.fs.loop, self.fs._call_s3, "head_object",
                                   Bucket=bucket, Key=name)
        return {"size": out.get("ContentLength"), "LastModified": out.get("LastModified")}

    def exists(self, key: str) -> bool:
        """Whether `key` is there, by one HEAD (S3 only); a missing bucket raises."""
        try:
            self.head(key)
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise
            return False
        return True

    def cat(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        """A whole small file, or its bytes [start, end), in one GET (s3fs's cat_file
        first HEADs it to decide on a concurrent ranged read when max_concurrency > 1:
        a request per file wasted)."""
        if self.s3:
            return bytes(self.fs.cat_file(path, start=start, end=end, max_concurrency=1))
        return bytes(self.fs.cat_file(path, start=start, end=end))

    def hash(self, key: str, algo: str) -> tuple[Oid, int]:
        """Hash the file as it streams in (one GET on S3), nothing kept; its size too."""
        if self.s3:
            from fsspec.asyn import sync

            result: tuple[Oid, int] = sync(self.fs.loop, self._hash_s3, key, algo)
            return result
        h = new_hasher(algo)
        total = 0
        with self.fs.open(key, "rb", block_size=CHUNK, cache_type="none") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                total += len(chunk)
        return Oid(algo, h.hexdigest()), total

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


def open_fs(name: str, url: str, opts: FsspecOptions, jobs: int) -> RemoteFs:
    """The filesystem of remote `name` at `url` (``proto://bucket/prefix``)."""
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

        return RemoteFs(name, url, path, make, s3=True, endpoint=opts.endpoint_url)
    import fsspec

    try:
        fs = fsspec.filesystem(proto, skip_instance_cache=True, **opts.storage_options)
    except (ValueError, ImportError) as exc:
        raise ConfigError(f"remote '{name}': unsupported url '{url}' ({exc})",
                          hint="use a local path, file://, or s3://bucket/prefix") from exc
    return RemoteFs(name, url, path, lambda: fs, s3=False)
