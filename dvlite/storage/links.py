"""Putting cache objects into the workspace: reflink, copy, hardlink or symlink.

Every file lands under a temp name and is renamed into place, so a workspace file is
always the old or the new version, never a part. Copies and reflinks are independent of
the cache, so in-place edits (`np.save`, `torch.save`) cannot corrupt it; hardlinks and
symlinks point at read-only cache objects, which stops such an edit for every user but
root (status and add then detect it: `repo/compare.edited_links`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from dvlite.errors import ConfigError

FICLONE = 0x40049409
LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")
# Types that make the workspace file the cache object itself: writing to it writes
# into the cache, which read-only permissions do not stop for root.
SHARED_TYPES = frozenset({"hardlink", "symlink"})
_FALLBACK_ERRNOS = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EINVAL, errno.ENOTTY,
                    errno.EPERM, errno.EMLINK}
_UMASK = os.umask(0)
os.umask(_UMASK)


def parse_link_types(value: str) -> tuple[str, ...]:
    types = tuple(t.strip() for t in value.split(",") if t.strip())
    bad = [t for t in types if t not in LINK_TYPES]
    if not types or bad:
        raise ConfigError(
            f"invalid cache.type '{value}'",
            hint=f"a comma-separated list of {', '.join(LINK_TYPES)}",
        )
    return types


def unprotected(types: tuple[str, ...] | set[str]) -> list[str]:
    """The shared types among `types` when this process is root: for it, the cache's
    read-only permissions do not stop a write through a hardlink or symlink."""
    return sorted(SHARED_TYPES.intersection(types)) if os.geteuid() == 0 else []


def file_mode(isexec: bool) -> int:
    return (0o777 if isexec else 0o666) & ~_UMASK


class Linker:
    """Tries the configured link types in order, remembering the ones that fail."""

    def __init__(self, types: tuple[str, ...]) -> None:
        self.types = types
        self._broken: set[str] = set()
        self.used: set[str] = set()  # the types actually placed, for the CLI's warning

    def place(self, src: Path, tmp: Path, isexec: bool) -> str:
        """Create `tmp` from cache object `src`; returns the link type used."""
        last: OSError | None = None
        for kind in self.types:
            if kind in self._broken:
                continue
            try:
                _PLACERS[kind](src, tmp, isexec)
                self.used.add(kind)
                return kind
            except OSError as exc:
                if exc.errno not in _FALLBACK_ERRNOS:
                    raise
                _remove(tmp)
                self._broken.add(kind)
                last = exc
        if last is None:
            raise OSError(errno.ENOTSUP, f"no usable cache.type in {','.join(self.types)}")
        raise last


def probe(folder: Path) -> dict[str, bool]:
    """Which link types work in `folder` (for `dvlite doctor`): each is tried on a small
    temp file there, and everything it made is removed. A copy always works."""
    found = {"copy": True}
    src = folder / f".dvlite-probe-{os.getpid()}"
    src.write_bytes(b"probe")
    try:
        for kind in ("reflink", "hardlink", "symlink"):
            tmp = folder / f"{src.name}-{kind}"
            try:
                _PLACERS[kind](src, tmp, False)
                found[kind] = True
            except OSError:
                found[kind] = False
            finally:
                _remove(tmp)
    finally:
        _remove(src)
    return found


def _open_pair(src: Path, tmp: Path, isexec: bool) -> tuple[int, int]:
    sfd = os.open(src, os.O_RDONLY)
    try:
        dfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                      file_mode(isexec))
    except BaseException:
        os.close(sfd)
        raise
    return sfd, dfd


def _reflink(src: Path, tmp: Path, isexec: bool) -> None:
    sfd, dfd = _open_pair(src, tmp, isexec)
    try:
        fcntl.ioctl(dfd, FICLONE, sfd)
    finally:
        os.close(sfd)
        os.close(dfd)


def _copy(src: Path, tmp: Path, isexec: bool) -> None:
    sfd, dfd = _open_pair(src, tmp, isexec)
    try:
        copy_fd(sfd, dfd)
    finally:
        os.close(sfd)
        os.close(dfd)


def copy_fd(sfd: int, dfd: int) -> None:
    """Kernel-side copy where possible, plain read/write otherwise."""
    try:
        while os.copy_file_range(sfd, dfd, 1 << 30):
            pass
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
        while data := os.read(sfd, 1 << 20):
            os.write(dfd, data)


def _hardlink(src: Path, tmp: Path, isexec: bool) -> None:  # noqa: ARG001 - same signature
    os.link(src, tmp)


def _symlink(src: Path, tmp: Path, isexec: bool) -> None:  # noqa: ARG001 - same signature
    os.symlink(src, tmp)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


_PLACERS = {"reflink": _reflink, "copy": _copy, "hardlink": _hardlink, "symlink": _symlink}
