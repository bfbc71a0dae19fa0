"""Streaming hashing of files, alone or while copying them (one read, bounded memory)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from dvlite.core.oid import Oid, new_hasher
from dvlite.storage.progress import NULL_PROGRESS, Progress

CHUNK = 1 << 20
_local = threading.local()


def _buffer() -> tuple[bytearray, memoryview]:
    """This thread's read buffer. Reused: allocating (and zeroing) 1 MiB per file costs
    more than reading a small file."""
    try:
        return _local.buf, _local.view
    except AttributeError:
        buf = bytearray(CHUNK)
        _local.buf, _local.view = buf, memoryview(buf)
        return buf, _local.view


def hash_fd(fd: int, algo: str, progress: Progress = NULL_PROGRESS) -> tuple[Oid, int]:
    """Hash everything readable from `fd`; returns the oid and the byte count."""
    h = new_hasher(algo)
    buf, view = _buffer()
    total = 0
    while n := os.readv(fd, [buf]):
        h.update(view[:n])
        total += n
        progress.advance(nbytes=n)
    return Oid(algo, h.hexdigest()), total


def hash_file(path: str | Path, algo: str, progress: Progress = NULL_PROGRESS) -> tuple[Oid, int]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        return hash_fd(fd, algo, progress)
    finally:
        os.close(fd)


def copy_and_hash(
    src_fd: int, dst_fd: int, algo: str, progress: Progress = NULL_PROGRESS
) -> tuple[Oid, int]:
    """Copy `src_fd` to `dst_fd`, hashing exactly the bytes written."""
    h = new_hasher(algo)
    buf, view = _buffer()
    total = 0
    while n := os.readv(src_fd, [buf]):
        chunk = view[:n]
        h.update(chunk)
        while chunk:
            chunk = chunk[os.write(dst_fd, chunk):]
        total += n
        progress.advance(nbytes=n)
    return Oid(algo, h.hexdigest()), total
