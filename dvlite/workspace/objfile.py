"""Files of tracked objects for the Python API and the `dvlite://` filesystem.

`VerifiedCopy` reads a cached object whole, hashing it on the way. `ObjectFile` reads
an object that is in no cache by ranges of its loose copy on the remote (an fsspec
buffered file: seekable, a block read ahead, memory bounded by the block size). Read in
order from start to end, its bytes are hashed as they arrive and copied to a temp file
of the object store: at the end the hash decides, an intact object is renamed into the
store and a bad one fails the last read with `IntegrityError`. A jump ahead (a seek, a
Parquet footer first) ends the check: such reads are not verified and store nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fsspec.spec import AbstractBufferedFile

from dvlite.core.oid import Hasher, Oid, new_hasher
from dvlite.errors import DvliteError, IntegrityError
from dvlite.storage.remote.errors import corrupt_on_remote
from dvlite.workspace.objects import SourceObjects
from dvlite.workspace.tree import Node


def short_read(objects: SourceObjects, node: Node) -> IntegrityError:
    assert node.oid is not None
    remote = objects.remote(node.oid.algo).name
    return IntegrityError(f"object {node.oid} on remote '{remote}' is not the {node.size} "
                          f"bytes its pointer says ('{node.path}')",
                          hint="`dvlite fsck --remote` in that repository checks it")


def corrupt_cache(oid: Oid, actual: Oid, path: str) -> IntegrityError:
    return IntegrityError(f"cache object {oid} ('{path}') is corrupt (its content hashes to "
                          f"{actual})", hint="run `dvlite fsck` in that repository, or "
                          "delete the object from the cache and read it again")


class VerifiedCopy:
    """A cache object read whole, in order: the read that reaches its end raises
    `IntegrityError` if the bytes were not the object (`check` False: trust them)."""

    def __init__(self, path: Path, node: Node, check: bool) -> None:
        assert node.oid is not None
        self.oid = node.oid
        self.name = node.path
        self._f = open(path, "rb")  # noqa: SIM115 - closed by __exit__
        self._hasher: Hasher | None = new_hasher(self.oid.algo) if check else None

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        if self._hasher is not None:
            self._hasher.update(data)
            if not data or n < 0:
                actual = Oid(self.oid.algo, self._hasher.hexdigest())
                self._hasher = None
                if actual != self.oid:
                    raise corrupt_cache(self.oid, actual, self.name)
        return data

    def __enter__(self) -> VerifiedCopy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


class ObjectFile(AbstractBufferedFile):  # type: ignore[misc]
    """A tracked object in no cache, read by ranges of its copy on the remote (`fs`: the
    fsspec filesystem it belongs to); see the module's docstring."""

    def __init__(self, fs: Any, node: Node, objects: SourceObjects,
                 block_size: int | None, cache_options: dict[str, Any] | None, *,
                 cache_type: str = "readahead") -> None:
        assert node.oid is not None
        super().__init__(fs, node.path, mode="rb", block_size=block_size or "default",
                         cache_type=cache_type, cache_options=cache_options, size=node.size)
        self.oid = node.oid
        self.node = node
        self._objects = objects
        self._hasher: Hasher | None = new_hasher(node.oid.algo)
        self._hashed = 0  # bytes hashed, in order from the start
        self._tee: tuple[Path, int] | None = None  # the copy being made for the cache
        self._bad: IntegrityError | None = None  # once found bad, no more bytes

    def _fetch_range(self, start: int, end: int) -> bytes:
        if self._bad is not None:
            raise self._bad
        end = min(end, self.size)  # some of fsspec's caches ask past the end
        if start >= end:
            return b""
        data = self._objects.read_range(self.oid, start, end)
        if len(data) != end - start:
            self._stop()
            raise short_read(self._objects, self.node)
        self._follow(start, data)
        return data

    def _follow(self, start: int, data: bytes) -> None:
        """Hash (and copy for the cache) what extends the bytes read in order so far."""
        if self._hasher is None or start > self._hashed:
            self._stop()  # a jump ahead: this read will not be verified
            return
        piece = memoryview(data)[self._hashed - start:]
        if not piece:
            return
        self._hasher.update(piece)
        self._hashed += len(piece)
        self._copy(piece)
        if self._hashed >= self.size:
            self._finish()

    def _copy(self, piece: memoryview) -> None:
        try:
            if self._tee is None and self._hashed == len(piece):
                self._tee = self._objects.store(self.oid.algo).new_temp()
            if self._tee is not None:
                while piece:
                    piece = piece[os.write(self._tee[1], piece):]
        except (OSError, DvliteError):  # a cache with no room is no reason to fail a read
            self._drop_tee()

    def _finish(self) -> None:
        assert self._hasher is not None
        actual = Oid(self.oid.algo, self._hasher.hexdigest())
        self._hasher = None
        if actual != self.oid:
            self._drop_tee()
            bad = corrupt_on_remote(self._objects.remote(self.oid.algo).name, self.oid, actual)
            self._bad = IntegrityError(f"reading '{self.path}': {bad.msg}", hint=bad.hint)
            raise self._bad
        if self._tee is not None:
            tmp, fd = self._tee
            self._tee = None
            os.close(fd)
            try:
                self._objects.store(self.oid.algo).commit_temp(tmp, self.oid)
            except OSError:  # the temp file was cleaned away meanwhile: not stored
                tmp.unlink(missing_ok=True)

    def _stop(self) -> None:
        self._hasher = None
        self._drop_tee()

    def _drop_tee(self) -> None:
        if self._tee is not None:
            tmp, fd = self._tee
            self._tee = None
            os.close(fd)
            tmp.unlink(missing_ok=True)

    def close(self) -> None:
        self._drop_tee()
        super().close()
