"""Atomic file writes: temp file beside the target, optional fsync, `os.replace`."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path

from dvlite._fault import faultpoint
from dvlite.errors import storage_error

TMP_MARK = ".dvlite-tmp-"
# Every temp name dvlite writes: `.<target>.dvlite-tmp-<token>` beside its target (the
# token is hex groups joined by "-", or "locked"), and `<32 hex>.tmp` in a store's temp
# area. Cleaning removes only these: a folder remote on a NAS may hold its own files
# (`tmp/backup.tar`) in the same folders.
_TEMP_NAME = re.compile(
    rf"\..+{re.escape(TMP_MARK)}(?:[0-9a-f]+(?:-[0-9a-f]+)*|locked)|[0-9a-f]{{32}}\.tmp",
    re.DOTALL)


def is_temp_name(name: str) -> bool:
    """Whether `name` (a file name, no folder) is one of dvlite's temp names."""
    return _TEMP_NAME.fullmatch(name) is not None


def store_temp_name() -> str:
    """A fresh name for a temp file in a store's temp area (`<root>/tmp`)."""
    return f"{uuid.uuid4().hex}.tmp"


def temp_path_for(target: Path) -> Path:
    """A unique temp name in the target's folder (same filesystem, so rename is atomic)."""
    return target.with_name(f".{target.name[:100]}{TMP_MARK}{uuid.uuid4().hex[:12]}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes | bytearray, mode: int = 0o644, fsync: bool = True,
                 locked: bool = False) -> None:
    """Write `data` to `target` so readers see the old or the new file, never a part.

    A symlink at `target` is replaced, never written through. With `locked` (the caller
    holds the repository lock, so nobody else writes `target` now), the temp file has a
    fixed name: what a killed write left is replaced by the next write of `target` (the
    one that finishes the job) instead of staying beside it for good.
    """
    tmp = target.with_name(f".{target.name[:100]}{TMP_MARK}locked") if locked \
        else temp_path_for(target)
    if locked:
        _unlink_quiet(tmp)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        faultpoint("atomic.before_rename")
        os.replace(tmp, target)
    except OSError as exc:
        _unlink_quiet(tmp)
        raise storage_error(exc, f"writing {target}") from exc
    except BaseException:
        _unlink_quiet(tmp)
        raise


def _unlink_quiet(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
