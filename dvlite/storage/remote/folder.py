"""The folder backend: the cache's loose layout in another folder, written through a
`LocalStore` (temp + fsync + rename, hash checked while copying)."""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator
from pathlib import Path

from dvlite.core.oid import Oid
from dvlite.errors import (
    DvliteError,
    IntegrityError,
    MissingObjectsError,
    RemoteUnavailableError,
    StorageError,
)
from dvlite.storage.atomic import atomic_write
from dvlite.storage.hashing import hash_fd
from dvlite.storage.odb import LocalStore, clean_temp_folder
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote.base import (
    DEFAULT_JOBS,
    FORMAT_FILE,
    RECORDS_DIR,
    Blob,
    RemoteEntry,
)
from dvlite.storage.remote.errors import (
    check_bytes,
    check_size,
    corrupt_in_cache,
    corrupt_on_remote,
    map_error,
    remote_integrity,
)
from dvlite.storage.remote.format import (
    REMOTE_LAYOUT,
    RemoteFormat,
    check_format_text,
    format_text,
    new_epoch,
)
from dvlite.storage.remote.fresh import FRESH_DIR


class FolderBackend:
    """A remote's files in a local (or mounted) folder: the same loose layout as the
    cache, so a `LocalStore` does the atomic, hash-checked writes (fsspec's local
    put_file writes in place and leaves partial files when killed)."""

    known_ttl = 0.0  # reading the format file costs microseconds: check it every time

    def __init__(self, name: str, root: Path, algo: str, jobs: int = DEFAULT_JOBS) -> None:
        self.name = name
        self.root = root
        self.url = str(root)
        self.algo = algo
        self.jobs = jobs
        self.store = LocalStore(root, algo, fsync=True)

    @property
    def identity(self) -> str:
        return f"file://{os.path.realpath(self.root)}"

    def _fail(self, exc: BaseException, oid: Oid | None, what: str) -> DvliteError:
        return map_error(exc, self.name, str(oid) if oid else str(self.root), what)

    def exists_many(self, oids: Collection[Oid]) -> set[Oid]:
        return self.store.exists_many(oids)

    def upload(self, oid: Oid, src: Path, progress: Progress = NULL_PROGRESS) -> bool:
        if self.store.exists(oid):
            return False
        try:
            fd = os.open(src, os.O_RDONLY)
        except OSError as exc:
            raise MissingObjectsError(f"object {oid} is not in the cache") from exc
        try:
            # add_fd re-hashes while copying: a cache object rotted on disk never spreads.
            self.store.add_fd(fd, expected=oid, progress=progress, size=os.fstat(fd).st_size)
        except IntegrityError as exc:
            raise corrupt_in_cache(oid) from exc
        except StorageError as exc:
            # the store written here is the remote folder, not the user's cache
            msg = exc.msg.replace("the cache", "the remote folder")
            raise StorageError(f"{msg} (remote '{self.name}')", hint=exc.hint) from exc
        finally:
            os.close(fd)
        return True

    def _open(self, oid: Oid) -> int:
        try:
            return os.open(self.store.path(oid), os.O_RDONLY)
        except OSError as exc:
            raise self._fail(exc, oid, "reading") from exc

    def download(self, oid: Oid, cache: LocalStore, size: int | None = None,
                 progress: Progress = NULL_PROGRESS) -> int:
        fd = self._open(oid)
        try:
            found = os.fstat(fd).st_size
            if size is not None and found != size:  # whose error: the hash tells
                actual, _ = hash_fd(fd, oid.algo)
                if actual != oid:
                    raise corrupt_on_remote(self.name, oid, actual)
                check_size(self.name, oid, found, size)
        except IntegrityError:
            os.close(fd)
            raise
        try:
            _, size = cache.add_fd(fd, expected=oid, progress=progress, size=found)
        except IntegrityError as exc:
            raise remote_integrity(self.name, oid, exc) from exc
        finally:
            os.close(fd)
        return size

    def read_bytes(self, oid: Oid) -> bytes:
        fd = self._open(oid)
        try:
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read()
        finally:
            os.close(fd)
        check_bytes(self.name, oid, data)
        return data

    def hash_object(self, oid: Oid) -> tuple[Oid, int]:
        fd = self._open(oid)
        try:
            return hash_fd(fd, oid.algo)
        finally:
            os.close(fd)

    def stat(self, oid: Oid) -> RemoteEntry | None:
        try:
            st = os.stat(self.store.path(oid))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._fail(exc, oid, "checking") from exc
        return RemoteEntry(oid, st.st_size, st.st_mtime)

    def list_entries(self) -> Iterator[RemoteEntry]:
        for oid in self.store.iter_oids():
            entry = self.stat(oid)
            if entry is not None:
                yield entry

    def delete(self, oid: Oid) -> None:
        try:
            self.store.delete(oid)
        except OSError as exc:
            raise self._fail(exc, oid, "deleting") from exc

    def check_format(self, create: bool, layout: int = REMOTE_LAYOUT) -> RemoteFormat | None:
        found = self.read_format()
        if found is not None:
            return found
        if create:
            return self.write_format(RemoteFormat(new_epoch(), layout))
        if not self.root.is_dir():
            raise RemoteUnavailableError(
                f"remote '{self.name}': folder {self.root} does not exist")
        return None

    def read_format(self) -> RemoteFormat | None:
        try:
            text = (self.root / FORMAT_FILE).read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._fail(exc, None, "reading the format file") from exc
        return check_format_text(self.name, text)

    def write_format(self, fmt: RemoteFormat) -> RemoteFormat:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(self.root / FORMAT_FILE, format_text(fmt))
        except DvliteError as exc:
            raise StorageError(f"{exc.msg} (remote '{self.name}')", hint=exc.hint) from exc
        except OSError as exc:
            raise self._fail(exc, None, "writing the format file") from exc
        return fmt

    # -- blobs (pack files and their indexes) ------------------------------------------

    def put_blob(self, rel: str, data: bytes | bytearray) -> bool:
        target = self.root / rel
        if target.exists():
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._fail(exc, None, f"writing {rel}") from exc
        try:
            atomic_write(target, data, mode=0o444)
        except DvliteError as exc:
            raise StorageError(f"{exc.msg} (remote '{self.name}')", hint=exc.hint) from exc
        return True

    def get_range(self, rel: str, start: int | None = None, end: int | None = None) -> bytes:
        try:
            with open(self.root / rel, "rb") as f:
                if start is None or end is None:
                    return f.read()
                return os.pread(f.fileno(), end - start, start)
        except OSError as exc:
            raise map_error(exc, self.name, rel, "reading") from exc

    def list_blobs(self, rel: str) -> list[Blob]:
        folder = self.root / rel
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise self._fail(exc, None, f"listing {rel}") from exc
        found = []
        for name in sorted(names):
            try:
                st = os.stat(folder / name)
            except FileNotFoundError:
                continue
            found.append(Blob(name, st.st_size, st.st_mtime))
        return found

    def delete_blob(self, rel: str) -> None:
        try:
            os.unlink(self.root / rel)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise map_error(exc, self.name, rel, "deleting") from exc

    def clean_stale(self, older_than: float) -> int:
        """Temp files of killed writes: objects', and the format file's, run-cache
        records' and freshen markers' (written beside them). Only dvlite's temp names:
        the folder may hold other files."""
        removed = self.store.clean_temp(older_than)
        cutoff = time.time() - older_than
        for folder in (self.root, self.root / RECORDS_DIR, self.root / FRESH_DIR):
            removed += clean_temp_folder(folder, cutoff)
        return removed

    def abort_stale_uploads(self, older_than: float) -> int:  # noqa: ARG002 - protocol
        return 0  # writes go through temp files, removed by clean_stale
