"""Private work folders that outlive nothing: each is held under a `flock` by the process
that made it, and a killed process's folder is removed by the next one made beside it.

`dvlite get` keeps its clone and downloads in one beside OUT for the length of a run; the
Python API keeps the commits it fetched from git URLs in one in the temp folder for the
life of the process. A folder is stale when its lock can be taken (or, before its lock
file exists, when the PID in its name is gone).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dvlite.errors import storage_error

LOCK_NAME = "lock"


def make_work_folder(parent: Path, prefix: str) -> tuple[Path, int]:
    """A fresh folder `<prefix><pid>-<8 hex>` in `parent`, locked: returns it and the
    descriptor holding the lock (closing it releases the folder to the next cleaner).
    Stale folders of the same prefix are removed first."""
    remove_stale(parent, prefix)
    work = parent / f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        work.mkdir()
        fd = os.open(work / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise storage_error(exc, f"creating a work folder in {parent}") from exc
    fcntl.flock(fd, fcntl.LOCK_EX)
    return work, fd


@contextmanager
def work_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A fresh work folder in `parent`, locked while in use and removed after."""
    work, fd = make_work_folder(parent, prefix)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.close(fd)


def remove_stale(parent: Path, prefix: str) -> list[Path]:
    """Remove the work folders with `prefix` in `parent` whose process is gone."""
    try:
        names = [n for n in os.listdir(parent) if n.startswith(prefix)]
    except OSError:
        return []
    removed = []
    for name in names:
        path = parent / name
        if path.is_dir() and not path.is_symlink() and _is_stale(path, prefix):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _is_stale(work: Path, prefix: str) -> bool:
    try:
        fd = os.open(work / LOCK_NAME, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:  # killed before it made its lock, or making it right now
        return not _alive(work.name[len(prefix):].partition("-")[0])
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # its owner holds it: a live process
    finally:
        os.close(fd)  # also releases a lock just taken
    return True


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return True  # not one of ours: leave it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


class ProcessFolder:
    """One work folder in the system's temp folder for the life of this process: made on
    first use, removed at exit (a killed process's is removed by the next process that
    makes one). A forked child makes its own: its parent may remove the inherited one
    at any time."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._owner = 0
        os.register_at_fork(after_in_child=self._forget)

    def path(self) -> Path:
        with self._lock:
            if self._path is None or self._owner != os.getpid():
                self._path, fd = make_work_folder(Path(tempfile.gettempdir()), self.prefix)
                self._owner = os.getpid()
                atexit.register(_remove, self._path, fd, self._owner)
            return self._path

    def _forget(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._path = None


def _remove(path: Path, fd: int, owner: int) -> None:
    if os.getpid() == owner:  # not in a forked child that exits through atexit
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)
