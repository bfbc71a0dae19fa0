"""Content-addressed object stores: the interface operations use, and the local cache.

Layout (format 1): ``<root>/<algo>/<first two hex>/<full hex>``, plain uncompressed
files, read-only. An object appears at its final name only whole (temp + rename) and,
for bytes coming from outside, only after its hash was checked. A small object is read
whole and hashed first, so its temp file goes beside its final name (a rename inside one
folder: renames across folders serialise on a filesystem-wide lock, which dominated adding
many small files from several threads); a big object streams into ``<root>/tmp`` and
learns its name at the end. Every temp name is one `atomic.is_temp_name` recognises, and
cleaning removes no other file.

A later layout (small objects packed together) can replace this one behind
the same `ObjectStore` interface.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from dvlite._fault import faultpoint
from dvlite.core.oid import ALGORITHMS, Oid, hash_bytes
from dvlite.errors import FormatError, IntegrityError, MissingObjectsError, storage_error
from dvlite.storage.atomic import TMP_MARK, is_temp_name, store_temp_name
from dvlite.storage.hashing import copy_and_hash, hash_file
from dvlite.storage.links import copy_fd
from dvlite.storage.progress import NULL_PROGRESS, Progress

LAYOUT_VERSION = 1
OBJECT_MODE = 0o444
SMALL_OBJECT = 1 << 20  # read whole, hashed, then written once beside its final name
BIG_OBJECT = 16 << 20  # copied by the kernel, then the copy is hashed

# Temp names unique across processes and threads without a random draw per file.
_TOKEN = uuid.uuid4().hex[:8]
_serial = itertools.count()


def _temp_suffix() -> str:
    return f"{TMP_MARK}{os.getpid():x}-{_TOKEN}-{next(_serial):x}"


def _read_small(fd: int, size: int) -> bytes:
    """All of `fd`, expected to hold `size` bytes: one read when it does. A file that
    changed meanwhile is read to its end; callers compare sizes and fingerprints."""
    data = os.read(fd, size + 1)
    if len(data) == size:
        return data
    parts = [data]
    while chunk := os.read(fd, SMALL_OBJECT):
        parts.append(chunk)
    return b"".join(parts)


class ObjectStore(Protocol):
    """What operations need from a store: the cache, or (through transfer) a remote."""

    algo: str

    def exists_many(self, oids: Iterable[Oid]) -> set[Oid]: ...

    def open(self, oid: Oid) -> BinaryIO: ...

    def read_bytes(self, oid: Oid) -> bytes: ...

    def add_bytes(self, data: bytes, expected: Oid | None = None) -> Oid: ...

    def delete(self, oid: Oid) -> None: ...

    def iter_oids(self) -> Iterator[Oid]: ...


def _unlink_quiet(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


class LocalStore:
    """The loose-object layout on a local filesystem (the cache, or a folder remote)."""

    def __init__(self, root: Path, algo: str, fsync: bool = False) -> None:
        self.root = root
        self.algo = algo
        self.fsync = fsync
        self.tmp_dir = root / "tmp"
        self._dirs: set[str] = set()

    def path(self, oid: Oid) -> Path:
        return self.root / oid.algo / oid.hex[:2] / oid.hex

    def exists(self, oid: Oid) -> bool:
        return os.path.exists(self.path(oid))

    def exists_many(self, oids: Iterable[Oid]) -> set[Oid]:
        # Plain strings: three Path joins per object cost more than the stat itself.
        base = f"{self.root}{os.sep}"
        exists = os.path.exists
        return {oid for oid in oids if exists(f"{base}{oid.algo}/{oid.hex[:2]}/{oid.hex}")}

    def open(self, oid: Oid) -> BinaryIO:
        try:
            return open(self.path(oid), "rb")
        except (FileNotFoundError, NotADirectoryError):
            raise MissingObjectsError(f"object {oid} is not in the cache") from None
        except OSError as exc:
            raise storage_error(exc, f"reading object {oid} from the cache") from exc

    def read_bytes(self, oid: Oid) -> bytes:
        with self.open(oid) as f:
            return f.read()

    # -- writing ---------------------------------------------------------------------

    def new_temp(self) -> tuple[Path, int]:
        """Open a fresh temp file in the store's temp area for writing."""
        tmp = self.tmp_dir / store_temp_name()
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileNotFoundError:  # first temp file (or the temp area was removed)
                os.makedirs(self.tmp_dir, exist_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:  # read-only, full, or the cache path is not a folder
            raise storage_error(exc, "writing to the cache") from exc
        return tmp, fd

    def commit_temp(self, tmp: Path, oid: Oid) -> None:
        """Move a complete, verified temp file to `oid`'s name (idempotent)."""
        final = self.path(oid)
        key = f"{oid.algo}/{oid.hex[:2]}"
        if key not in self._dirs:
            os.makedirs(final.parent, exist_ok=True)
            self._dirs.add(key)
        os.chmod(tmp, OBJECT_MODE)
        faultpoint("odb.before_rename")
        if os.path.exists(final):
            tmp.unlink()
        else:
            os.replace(tmp, final)

    def add_fd(
        self, src_fd: int, expected: Oid | None = None, progress: Progress = NULL_PROGRESS,
        size: int | None = None,
    ) -> tuple[Oid, int]:
        """Copy a stream into the store, hashing the bytes as they are written.

        With `expected`, a mismatch discards the temp file and raises `IntegrityError`.
        `size` is a hint: a small object is read whole and written once.
        """
        if size is not None and size <= SMALL_OBJECT:
            data = _read_small(src_fd, size)
            progress.advance(nbytes=len(data))
            return self.add_bytes(data, expected), len(data)
        tmp, fd = self.new_temp()
        try:
            try:
                oid, size = copy_and_hash(src_fd, fd, self.algo, progress)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            faultpoint("odb.after_temp_write")
            if expected is not None and oid != expected:
                raise IntegrityError(f"hash mismatch: expected {expected}, got {oid}")
            self.commit_temp(tmp, oid)
        except OSError as exc:
            _unlink_quiet(tmp)
            raise storage_error(exc, "writing to the cache") from exc
        except BaseException:
            _unlink_quiet(tmp)
            raise
        return oid, size

    def add_file(self, path: str | Path, progress: Progress = NULL_PROGRESS,
                 size: int | None = None) -> tuple[Oid, int]:
        """Store a file; `size`, when known, picks the path: one read for a small file, a
        kernel copy for a big one."""
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            if size is not None and size >= BIG_OBJECT:
                return self._add_big(fd, progress)
            return self.add_fd(fd, None, progress, size)
        finally:
            os.close(fd)

    def add_bytes(self, data: bytes, expected: Oid | None = None) -> Oid:
        oid = hash_bytes(self.algo, data)
        if expected is not None and oid != expected:
            raise IntegrityError(f"hash mismatch: expected {expected}, got {oid}")
        final = f"{self.root}{os.sep}{oid.algo}/{oid.hex[:2]}/{oid.hex}"
        if not os.path.exists(final):
            self._write_beside(final, data)
        return oid

    def _write_beside(self, final: str, data: bytes) -> None:
        """Write a whole object through a temp file in its own shard folder."""
        shard, name = os.path.split(final)
        tmp = f"{shard}/.{name}{_temp_suffix()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            try:
                fd = os.open(tmp, flags, OBJECT_MODE)
            except FileNotFoundError:  # the shard's first object
                os.makedirs(shard, exist_ok=True)
                fd = os.open(tmp, flags, OBJECT_MODE)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            faultpoint("odb.after_temp_write")
            faultpoint("odb.before_rename")
            os.replace(tmp, final)
        except OSError as exc:  # read-only, full, or the cache path is not a folder
            _unlink_quiet(Path(tmp))
            raise storage_error(exc, "writing to the cache") from exc
        except BaseException:
            _unlink_quiet(Path(tmp))
            raise

    def _add_big(self, src_fd: int, progress: Progress) -> tuple[Oid, int]:
        """A kernel-side copy into the temp area, then a hash of that private copy (still
        in the page cache): the name is the hash of exactly the stored bytes, as with a
        streamed copy, but the bytes never pass through Python. About half the time of a
        streamed copy for `add`; slower for a pull, whose checkout copies the object again
        right after (measured), so transfers stream."""
        tmp, fd = self.new_temp()
        try:
            try:
                copy_fd(src_fd, fd)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            faultpoint("odb.after_temp_write")
            oid, size = hash_file(tmp, self.algo, progress)
            self.commit_temp(tmp, oid)
        except OSError as exc:
            _unlink_quiet(tmp)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise storage_error(exc, "writing to the cache") from exc
            raise  # a kernel copy fails on either end: the caller names the source
        except BaseException:
            _unlink_quiet(tmp)
            raise
        return oid, size

    # -- maintenance -----------------------------------------------------------------

    def delete(self, oid: Oid) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(oid))

    def iter_oids(self) -> Iterator[Oid]:
        """Every well-named object; stray files are skipped."""
        width = ALGORITHMS.get(self.algo, (0,))[0]
        base = self.root / self.algo
        if not base.is_dir():
            return
        for shard in sorted(os.listdir(base)):
            shard_dir = base / shard
            if len(shard) != 2 or not shard_dir.is_dir():
                continue
            for name in sorted(os.listdir(shard_dir)):
                if len(name) == width and name.startswith(shard):
                    try:
                        yield Oid(self.algo, name)
                    except FormatError:
                        continue

    def clean_temp(self, older_than: float = 3600.0) -> int:
        """Remove temp files left by killed processes (in the temp area and beside objects
        in the shard folders); returns how many.

        Only files older than `older_than` seconds go: a younger one may belong to a
        fetch running right now (fetches share the cache without the repository lock).
        """
        cutoff = time.time() - older_than
        return sum(clean_temp_folder(folder, cutoff) for folder in self._temp_folders())

    def _temp_folders(self) -> Iterator[Path]:
        yield self.tmp_dir
        base = self.root / self.algo
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for shard in sorted(os.listdir(base)):
                if len(shard) == 2:
                    yield base / shard


def clean_temp_folder(folder: Path, cutoff: float) -> int:
    """Unlink the files in `folder` older than `cutoff` that carry one of dvlite's temp
    names (`is_temp_name`), and only those; returns how many."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    removed = 0
    for name in names:
        if not is_temp_name(name):
            continue
        try:
            if os.lstat(folder / name).st_mtime > cutoff:
                continue
            os.unlink(folder / name)
            removed += 1
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
    return removed
