"""The backend of remotes reached through fsspec: S3 via s3fs (verified), other protocols
passed through (unverified). s3fs, boto3 and botocore are imported only when a remote
is used (`fsspec_fs` opens the filesystem; `fsspec_list` answers what is there).

S3 writes are create-only (``If-None-Match: *``): an object that already exists is a
success, never overwritten (`s3_compat` covers servers without that). Retries and
timeouts are set in `s3_retry`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from dvlite._fault import faultpoint
from dvlite.core.oid import Oid, hash_bytes
from dvlite.errors import MissingObjectsError
from dvlite.storage.hashing import hash_fd
from dvlite.storage.odb import LocalStore
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote.base import FORMAT_FILE, Blob, RemoteEntry
from dvlite.storage.remote.errors import (
    check_bytes,
    check_size,
    corrupt_in_cache,
    corrupt_on_remote,
)
from dvlite.storage.remote.format import (
    REMOTE_LAYOUT,
    RemoteFormat,
    check_format_text,
    format_text,
    new_epoch,
)
from dvlite.storage.remote.fsspec_fs import RemoteFs, open_fs
from dvlite.storage.remote.fsspec_info import ByteCallback, no_bucket
from dvlite.storage.remote.fsspec_list import Listing
from dvlite.storage.remote.options import FsspecOptions
from dvlite.storage.remote.s3_compat import CreateOnly, abort_stale_uploads

# Multipart part size: files under two parts go in one PUT. Parts per file in flight are
# capped (PART_CONCURRENCY) so memory stays near jobs x PART_CONCURRENCY x CHUNKSIZE.
CHUNKSIZE = 16 << 20
SMALL = 1 << 20  # S3 objects up to this size move whole in memory: fewer syscalls and hops


class FsspecBackend:
    """The loose-object layout under ``<bucket>/<prefix>`` of an fsspec filesystem."""

    # Reading the epoch needs the S3 stack and a request: status --remote and ls --remote
    # right after another command trust the known objects (no request at all); push
    # always reads it.
    known_ttl = 600.0

    def __init__(self, rfs: RemoteFs, algo: str, jobs: int) -> None:
        self.rfs = rfs
        self.name = rfs.name
        self.url = rfs.url
        self.algo = algo
        self.jobs = jobs
        self._listing = Listing(rfs, algo, jobs)
        self._create = CreateOnly(rfs.exists)

    @classmethod
    def from_options(cls, name: str, url: str, opts: FsspecOptions, algo: str,
                     jobs: int) -> FsspecBackend:
        return cls(open_fs(name, url, opts, jobs), algo, jobs)

    @property
    def fs(self) -> Any:
        return self.rfs.fs

    @property
    def identity(self) -> str:
        return f"{self.url}|{self.rfs.endpoint}"

    # -- existence (see `fsspec_list`) --------------------------------------------------

    def exists_many(self, oids: Collection[Oid]) -> set[Oid]:
        return self._listing.exists_many(oids)

    def stat(self, oid: Oid) -> RemoteEntry | None:
        return self._listing.stat(oid)

    def list_entries(self) -> Iterator[RemoteEntry]:
        return self._listing.list_entries()

    def list_blobs(self, rel: str) -> list[Blob]:
        return self._listing.list_blobs(rel)

    # -- transfer -------------------------------------------------------------------

    def upload(self, oid: Oid, src: Path, progress: Progress = NULL_PROGRESS) -> bool:
        key = self.rfs.key(oid)
        data = self._read_verified(oid, src)
        try:
            if not self.rfs.s3:
                self.fs.put_file(str(src), key, callback=ByteCallback(progress))
                return True
            if data is not None:
                return self._create.write(
                    key, lambda mode: self.fs.pipe_file(key, data, mode=mode))
            return self._create.write(key, lambda mode: self.fs.put_file(
                str(src), key, mode=mode, chunksize=CHUNKSIZE,
                callback=ByteCallback(progress)))
        except Exception as exc:
            raise self.rfs.fail(exc, "uploading", key, oid) from exc

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
            if self.rfs.s3 and os.fstat(fd).st_size <= SMALL:
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
        key = self.rfs.key(oid)
        if self.rfs.s3 and size is not None and size <= SMALL:
            return self._download_small(oid, key, cache, size)
        tmp, fd = cache.new_temp()
        os.close(fd)
        try:
            try:
                self.fs.get_file(key, str(tmp), max_concurrency=1,
                                 callback=ByteCallback(progress))
            except Exception as exc:
                raise self.rfs.fail(exc, "downloading", key, oid) from exc
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
            data = self.rfs.cat(key)
        except Exception as exc:
            raise self.rfs.fail(exc, "downloading", key, oid) from exc
        faultpoint("s3.after_get")
        check_bytes(self.name, oid, data)
        check_size(self.name, oid, len(data), size)
        cache.add_bytes(data)
        return len(data)

    def read_bytes(self, oid: Oid) -> bytes:
        key = self.rfs.key(oid)
        try:
            data = self.rfs.cat(key)
        except Exception as exc:
            raise self.rfs.fail(exc, "downloading", key, oid) from exc
        check_bytes(self.name, oid, data)
        return data

    def hash_object(self, oid: Oid) -> tuple[Oid, int]:
        """Hash the object as it streams in: one GET on S3, nothing kept."""
        key = self.rfs.key(oid)
        try:
            return self.rfs.hash(key, oid.algo)
        except Exception as exc:
            raise self.rfs.fail(exc, "reading", key, oid) from exc

    def delete(self, oid: Oid) -> None:
        key = self.rfs.key(oid)
        try:
            self.fs.rm_file(key)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self.rfs.fail(exc, "deleting", key, oid) from exc

    # -- format and maintenance ------------------------------------------------------

    def check_format(self, create: bool, layout: int = REMOTE_LAYOUT) -> RemoteFormat | None:
        found = self.read_format()
        if found is not None or not create:
            return found
        path = f"{self.rfs.root}/{FORMAT_FILE}"
        fmt = RemoteFormat(new_epoch(), layout)
        try:
            if not self._put_new(path, format_text(fmt)):
                return self.read_format()  # another push made it meanwhile: its epoch counts
        except Exception as exc:
            raise self.rfs.fail(exc, "writing", path) from exc
        return fmt

    def _put_new(self, path: str, data: bytes | bytearray) -> bool:
        """One PUT of a small file, create-only on S3; False when it was there."""
        if not self.rfs.s3:
            self.fs.pipe_file(path, data)
            return True
        return self._create.write(path, lambda mode: self.fs.pipe_file(path, data, mode=mode))

    def read_format(self) -> RemoteFormat | None:
        path = f"{self.rfs.root}/{FORMAT_FILE}"
        try:
            text = self.rfs.cat(path).decode(errors="replace")
        except FileNotFoundError as exc:
            if no_bucket(exc):
                raise self.rfs.fail(exc, "reading", path) from exc
            return None
        except Exception as exc:
            raise self.rfs.fail(exc, "reading", path) from exc
        return check_format_text(self.name, text)

    def write_format(self, fmt: RemoteFormat) -> RemoteFormat:
        path = f"{self.rfs.root}/{FORMAT_FILE}"
        try:
            self.fs.pipe_file(path, format_text(fmt))  # one PUT: whole or not
        except Exception as exc:
            raise self.rfs.fail(exc, "writing", path) from exc
        return fmt

    # -- blobs (pack files and their indexes) ------------------------------------------

    def put_blob(self, rel: str, data: bytes | bytearray) -> bool:
        path = f"{self.rfs.root}/{rel}"
        try:
            return self._put_new(path, data)
        except Exception as exc:
            raise self.rfs.fail(exc, "uploading", path) from exc

    def get_range(self, rel: str, start: int | None = None, end: int | None = None) -> bytes:
        """The bytes [start, end) of a blob in one GET (the whole blob without a range)."""
        path = f"{self.rfs.root}/{rel}"
        try:
            if start is None or end is None:
                return self.rfs.cat(path)
            if end <= start:
                return b""
            return self.rfs.cat(path, start, end)
        except Exception as exc:
            raise self.rfs.fail(exc, "downloading", path) from exc

    def delete_blob(self, rel: str) -> None:
        path = f"{self.rfs.root}/{rel}"
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self.rfs.fail(exc, "deleting", path) from exc

    def clean_stale(self, older_than: float) -> int:  # noqa: ARG002 - protocol
        return 0  # every write is one request: nothing is left behind but uploads

    def abort_stale_uploads(self, older_than: float) -> int | None:
        """Abort multipart uploads under this remote older than `older_than` seconds
        (left by a killed push; they are invisible but billed). None when the server
        cannot list them."""
        if not self.rfs.s3:
            return 0
        try:
            return abort_stale_uploads(self.fs, self.rfs.root, older_than)
        except Exception as exc:
            raise self.rfs.fail(exc, "cleaning stale uploads", self.rfs.root) from exc
