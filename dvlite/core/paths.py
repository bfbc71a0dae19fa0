"""Validation of repository-relative paths read from pointers, manifests and pipeline files.

Every path that came from a file (and so maybe from an attacker) goes through
`check_relpath` before it is joined to anything on disk.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from dvlite.errors import UnsafePathError

_RESERVED = frozenset({".git", ".dvlite"})
_NOT_UTF8 = re.compile("[\ud800-\udfff]")


def check_relpath(path: str, what: str = "path") -> str:
    """Return `path` if it is a safe, normalised, relative POSIX path; raise otherwise.

    Refused: empty, absolute, drive letters, backslashes, NUL, names that are not UTF-8,
    `.`/`..` components, empty components (`a//b`, trailing `/`), and `.git`/`.dvlite`
    components.
    """
    if not path:
        raise UnsafePathError(f"unsafe {what}: empty path")
    if "\0" in path:
        raise UnsafePathError(f"unsafe {what} {path!r}: contains NUL")
    if "\\" in path:
        raise UnsafePathError(f"unsafe {what} {path!r}: contains a backslash")
    check_utf8(path, what)
    if path.startswith("/"):
        raise UnsafePathError(f"unsafe {what} {path!r}: absolute path")
    if len(path) > 1 and path[1] == ":" and path[0].isascii() and path[0].isalpha():
        raise UnsafePathError(f"unsafe {what} {path!r}: a drive letter (absolute on Windows)")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise UnsafePathError(f"unsafe {what} {path!r}: '{part or '/'}' component")
        if part in _RESERVED:
            raise UnsafePathError(f"unsafe {what} {path!r}: inside {part}")
    return path


def check_utf8(path: str, what: str = "file name") -> None:
    """Refuse a name that is not valid UTF-8 (which `os.fsdecode` carries as lone
    surrogates): pointers and manifests are UTF-8 text, so it could not be recorded."""
    if not path.isascii() and _NOT_UTF8.search(path):
        # the message keeps the surrogates: the CLI shows them as the original \xNN bytes
        raise UnsafePathError(f"unsupported {what} '{path}': not valid UTF-8",
                              hint="rename it: pointers and manifests store UTF-8 names")


def is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def check_parent_inside(root: Path, target: Path) -> None:
    """Refuse `target` when its parent directory resolves (through symlinks) outside `root`.

    `root` must be resolved already. Parents that do not exist yet are fine: they will be
    created as real directories.
    """
    parent = target.parent
    while not parent.exists() and not parent.is_symlink():
        if parent == parent.parent:
            break
        parent = parent.parent
    real = Path(os.path.realpath(parent))
    if not is_within(real, root):
        raise UnsafePathError(
            f"refusing to write '{target}': a parent directory is a symlink leading "
            f"outside the repository ({real})"
        )
    rel = real.relative_to(root).parts
    if rel and rel[0] in _RESERVED:
        raise UnsafePathError(f"refusing to write '{target}': it resolves inside {rel[0]}")


def to_posix(path: Path) -> str:
    return PurePosixPath(*path.parts).as_posix()
