"""`dvlite remote add/remove/default/modify`: the remote sections of the committed config
and config.local, each change checked before anything is written."""

from __future__ import annotations

import re

from dvlite import config as cfg
from dvlite.errors import ConfigError, UsageError
from dvlite.remote_config import REMOTE_KEYS
from dvlite.repo.configure import config_file
from dvlite.workspace.repo import Repo

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
# Schemes dvlite's tests cover; any other goes to fsspec untried.
_KNOWN_SCHEMES = ("s3", "s3a", "file")


def check_name(name: str) -> None:
    """Refuse a name of other characters than letters, digits, '_', '-' and '.', or one
    that starts with '-' or '.'."""
    if not _NAME.fullmatch(name):
        raise UsageError(f"invalid remote name '{name}'",
                         hint="use letters, digits, '_', '-' and '.'")


def add_remote(repo: Repo, name: str, url: str, *, default: bool, force: bool,
               local: bool) -> list[str]:
    """Write remote `name` (and, with `default`, core.remote) into config.local (`local`)
    or the committed config. An existing remote with a url is replaced only with `force`,
    its options then dropped too. Returns warnings for the user."""
    check_name(name)
    existing = repo.config.remotes().get(name)
    if existing is not None and existing.url and not force:
        raise ConfigError(f"remote '{name}' already exists", hint="use --force to replace it")
    warnings = []
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme and scheme not in _KNOWN_SCHEMES:
        warnings.append(f"'{scheme}://' goes through fsspec as is: it is not verified by "
                        "dvlite's tests")
    repo.config.check_write(f"remote.{name}.url", url, local)
    target = config_file(repo, local)
    if force:
        cfg.remove_section(target, ["remote", name])
    cfg.edit(target, f"remote.{name}.url", url)
    if default:
        cfg.edit(target, "core.remote", name)
    return warnings


def remove_remote(repo: Repo, name: str) -> None:
    """Remove remote `name` from both files, and core.remote wherever it names it."""
    c = repo.config
    removed = [cfg.remove_section(p, ["remote", name]) for p in (c.shared_path, c.local_path)]
    if not any(removed):
        raise ConfigError(f"unknown remote '{name}'")
    for path in (c.shared_path, c.local_path):
        if cfg.read_toml(path).get("core", {}).get("remote") == name:
            cfg.edit(path, "core.remote", None)


def set_default(repo: Repo, name: str, *, local: bool) -> None:
    """Make the configured remote `name` core.remote."""
    repo.config.require_remote(name)
    cfg.edit(config_file(repo, local), "core.remote", name)


def check_option(repo: Repo, name: str, key: str) -> None:
    """Refuse an unknown remote, or an option no remote has."""
    repo.config.require_remote(name)
    if key not in REMOTE_KEYS:
        raise ConfigError(f"unknown remote option '{key}'",
                          hint="known: " + ", ".join(sorted(REMOTE_KEYS)))


def set_option(repo: Repo, name: str, key: str, value: str, *, local: bool) -> None:
    """Set option `key` of remote `name`, converted to its type, in config.local (`local`,
    the only place for secrets) or the committed config."""
    check_option(repo, name, key)
    full = f"remote.{name}.{key}"
    parsed = cfg.coerce(full, value)
    repo.config.check_write(full, parsed, local)
    cfg.edit(config_file(repo, local), full, parsed)


def unset_option(repo: Repo, name: str, key: str, *, local: bool) -> None:
    """Remove option `key` of remote `name` from config.local (`local`) or the committed
    config (an option the file does not hold is no error)."""
    check_option(repo, name, key)
    cfg.edit(config_file(repo, local), f"remote.{name}.{key}", None)
