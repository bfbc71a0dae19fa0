"""The repository lock: one `flock` on `.dvlite/lock`, released by the kernel on exit.

Mutating commands take it exclusively; a waiter polls until `timeout`, then fails with
the holder's pid and command, which the holder wrote into the lock file.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dvlite.errors import LockedError, storage_error

_POLL_SECONDS = 0.05


@contextmanager
def repo_lock(path: Path, timeout: float, exclusive: bool = True) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise storage_error(exc, "opening the repository lock") from exc
    try:
        _acquire(fd, path, timeout, exclusive)
        if exclusive:
            words = [a for a in sys.argv[1:] if not a.startswith("-")][:2]  # skip -v, -q
            holder = f"{os.getpid()} {' '.join(['dvlite', *words])}\n"
            os.ftruncate(fd, 0)
            # argv may hold a name that is not UTF-8; the record stays UTF-8 text
            os.pwrite(fd, holder.encode(errors="backslashreplace"), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _acquire(fd: int, path: Path, timeout: float, exclusive: bool) -> None:
    op = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, op)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"another dvlite process holds the repository lock ({_holder(path)})",
                    hint="wait for it to finish, or raise core.lock_timeout",
                ) from None
            time.sleep(_POLL_SECONDS)


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    pid, _, command = text.partition(" ")
    return f"pid {pid}: {command}" if pid else "holder unknown"
