"""The whole dvlite error tree, with the exit code each error ends the CLI with.

::

    DvliteError (1)
    ├── UsageError (2)
    ├── NotARepoError
    ├── ConfigError
    ├── FormatError
    │   └── UnsafePathError
    ├── WorkspaceConflictError
    ├── MissingObjectsError
    ├── IntegrityError (3)
    ├── RemoteError
    │   ├── RemoteAuthError
    │   ├── RemoteUnavailableError
    │   └── RemotePermissionError
    ├── StorageError
    ├── ScmError
    │   └── GitMissingError
    ├── LockedError (4)
    └── PipelineError
        ├── CyclicGraphError
        └── StageFailedError (the command's own exit code)

The library raises these and never prints or exits; ``dvlite.cli`` turns them into one
``error: ...`` line (plus an optional ``hint: ...``) and the exit code.
"""

from __future__ import annotations

import errno


class DvliteError(Exception):
    """Base of every error dvlite reports to a user."""

    exit_code: int = 1

    def __init__(self, msg: str, hint: str | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.hint = hint


class UsageError(DvliteError):
    exit_code = 2


class NotARepoError(DvliteError):
    pass


class ConfigError(DvliteError):
    pass


class FormatError(DvliteError):
    """A pointer, manifest, lockfile or pipeline file that does not parse or validate."""


class UnsafePathError(FormatError):
    """A path that would lead outside the repository or into `.git`/`.dvlite`."""


class WorkspaceConflictError(DvliteError):
    """Writing would destroy data that exists nowhere else; `--force` overrides."""

    def __init__(self, msg: str, paths: list[str], hint: str | None = None) -> None:
        super().__init__(msg, hint)
        self.paths = paths


class MissingObjectsError(DvliteError):
    pass


class IntegrityError(DvliteError):
    exit_code = 3


class RemoteError(DvliteError):
    pass


class RemoteAuthError(RemoteError):
    pass


class RemoteUnavailableError(RemoteError):
    pass


class RemotePermissionError(RemoteError):
    pass


class StorageError(DvliteError):
    pass


class ScmError(DvliteError):
    pass


class GitMissingError(ScmError):
    """No `git` executable: never to be mistaken for a git command's own failure."""

    def __init__(self) -> None:
        super().__init__("git is not installed or not on PATH")


class LockedError(DvliteError):
    exit_code = 4


class PipelineError(DvliteError):
    pass


class CyclicGraphError(PipelineError):
    pass


class StageFailedError(PipelineError):
    def __init__(self, stage: str, returncode: int) -> None:
        super().__init__(f"stage '{stage}' failed with exit code {returncode}")
        self.stage = stage
        self.exit_code = returncode if 0 < returncode < 256 else 1


def storage_error(exc: OSError, what: str) -> DvliteError:
    """Map an OSError met while doing `what` to a clear dvlite error."""
    name = exc.filename or ""
    where = f" '{name}'" if name else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return StorageError(f"no space left while {what}{where}", hint="free some disk space")
    if exc.errno == errno.EROFS:
        return StorageError(f"read-only file system while {what}{where}",
                            hint="mount it writable, or use another location")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return StorageError(f"permission denied while {what}{where}")
    if exc.errno == errno.EIO:
        return StorageError(f"I/O error while {what}{where}")
    return StorageError(f"{exc.strerror or exc} while {what}{where}")
