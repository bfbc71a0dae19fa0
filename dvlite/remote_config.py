"""A remote's section of the config files, read into a typed `RemoteConfig`, and the urls
no command may use (`check_url`): what `config.Config` asks of a remote."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvlite.errors import ConfigError
from dvlite.scm import find_git_root

if TYPE_CHECKING:
    from dvlite.storage.remote.options import RemoteConfig

# The remote options dvlite knows (the fields of FsspecOptions, and url); others are
# passed on to a filesystem other than S3 as they are.
REMOTE_KEYS: dict[str, type] = {
    "url": str, "endpoint_url": str, "region": str, "profile": str, "jobs": int,
    "access_key_id": str, "secret_access_key": str, "session_token": str,
    "read_timeout": float, "connect_timeout": float, "retries": int, "verify": bool,
    "layout": int,
}
_OWN_REMOTE_KEYS = ("url", "jobs", "layout")  # dvlite's, never a filesystem's
TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def remote_config(name: str, table: dict[str, Any], where: Path) -> RemoteConfig:
    """Remote `name` from its merged table: folder options for a folder's url (or none),
    fsspec options for any other."""
    # only commands that use a remote pay for importing its records
    from dvlite.storage.remote.options import (
        FolderOptions,
        FsspecOptions,
        RemoteConfig,
        is_folder_url,
    )

    url = table.get("url")
    url = url if isinstance(url, str) else ""
    values = {k: _remote_value(name, k, v, where) for k, v in table.items() if k != "url"}
    if is_folder_url(url):
        return RemoteConfig(name, url, FolderOptions(values.get("jobs"), values.get("layout")))
    known = {k: v for k, v in values.items() if k in REMOTE_KEYS}
    passed = {k: v for k, v in values.items() if k not in _OWN_REMOTE_KEYS}
    return RemoteConfig(name, url, FsspecOptions(**known, storage_options=passed))


def _remote_value(name: str, key: str, value: Any, where: Path) -> Any:
    """A remote option read from a file must have its type (an int serves as a float);
    one dvlite does not know is the filesystem's, passed on as it is."""
    kind = REMOTE_KEYS.get(key)
    if kind is None:
        return value
    return typed(value, kind, f"{where}: remote.{name}.{key}",
                 hint=f"dvlite remote modify {name} {key} VALUE")


def typed(value: Any, kind: type, what: str, hint: str) -> Any:
    """`value` as `kind`, as TOML gives it (an int serves as a float; a bool is never a
    number); anything else is an error naming `what`."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise ConfigError(f"{what} must be {TYPE_NAMES[kind]}, not {value!r}", hint=hint)


def check_url(name: str, url: str, source: Path, *, trusted: bool,
              workspace: Path | None) -> None:
    """Refuse a remote url no command may use: empty, `~` outside config.local (`source`
    is the file that holds it), a relative `file://` path, or a folder inside the
    repository's workspace (or its git work tree), or one that contains it."""
    where = f"{source}: remote '{name}'"
    if not url.strip() or url != url.strip():
        raise ConfigError(f"{where}: url {url!r} is empty or has surrounding spaces",
                          hint=f"dvlite remote add {name} URL --force")
    if "://" in url and not url.startswith("file://"):
        return
    path = url.removeprefix("file://")
    if url.startswith("file://") and not path.startswith("/"):
        raise ConfigError(f"{where}: {url!r} is not an absolute file:// url",
                          hint="write file:///absolute/path, or a plain path")
    if path.startswith("~") and not trusted:
        raise ConfigError(
            f"{where}: url {url!r} starts with '~', which only config.local may use "
            "(a committed config names the same folder on every machine)",
            hint=f"use an absolute or repository-relative path, or set it with "
                 f"dvlite config --local remote.{name}.url {url}")
    if workspace is not None:
        _check_outside(where, url, Path(os.path.expanduser(path)), workspace)


def _check_outside(where: str, url: str, folder: Path, workspace: Path) -> None:
    real = Path(os.path.realpath(workspace / folder))
    for root in dict.fromkeys((workspace, find_git_root(workspace) or workspace)):
        if real.is_relative_to(root):
            raise ConfigError(f"{where}: {url!r} is inside the repository ({root}); a push "
                              "would write into the workspace",
                              hint="use a folder outside the repository")
        if root.is_relative_to(real):
            raise ConfigError(f"{where}: {url!r} contains the repository ({root}); the "
                              "remote's folder is dvlite's to write and clean",
                              hint="use a folder outside the repository")
