"""The error tree: exit codes and OSError mapping."""

from __future__ import annotations

import errno

import pytest

from dvlite import errors as E  # noqa: N812


def test_exit_codes() -> None:
    assert E.DvliteError("x").exit_code == 1
    assert E.UsageError("x").exit_code == 2
    assert E.IntegrityError("x").exit_code == 3
    assert E.LockedError("x").exit_code == 4
    assert E.UnsafePathError("x").exit_code == 1
    assert isinstance(E.UnsafePathError("x"), E.FormatError)
    assert E.StageFailedError("s", 7).exit_code == 7
    assert E.StageFailedError("s", -9).exit_code == 1
    assert E.StageFailedError("s", 300).exit_code == 1
    err = E.WorkspaceConflictError("m", ["a"], hint="h")
    assert (err.msg, err.paths, err.hint) == ("m", ["a"], "h")


@pytest.mark.parametrize("code,text", [
    (errno.ENOSPC, "no space left while writing x 'f'"),
    (errno.EDQUOT, "no space left while writing x 'f'"),
    (errno.EFBIG, "no space left while writing x 'f'"),
    (errno.EACCES, "permission denied while writing x 'f'"),
    (errno.EROFS, "read-only file system while writing x 'f'"),
    (errno.EIO, "I/O error while writing x 'f'"),
    (errno.ENOENT, "No such file or directory while writing x 'f'"),
])
def test_storage_error(code: int, text: str) -> None:
    import os

    err = E.storage_error(OSError(code, os.strerror(code), "f"), "writing x")
    assert isinstance(err, E.StorageError)
    assert err.msg == text


def test_storage_error_without_filename() -> None:
    err = E.storage_error(OSError(errno.ENOSPC, "No space"), "writing to the cache")
    assert err.msg == "no space left while writing to the cache"
    assert err.hint == "free some disk space"
