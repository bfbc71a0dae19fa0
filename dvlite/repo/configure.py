"""`dvlite config`: read one setting, or write or remove it in the committed config or
config.local, refusing a value every later command would fail on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvlite import config as cfg
from dvlite.errors import ConfigError
from dvlite.workspace.repo import Repo


@dataclass(frozen=True, slots=True)
class ConfigWrite:
    """A value `set_value` wrote, typed, and the file. `link_types` is what a `cache.type`
    value names (the CLI warns about the kinds that share the cache object), empty for any
    other key."""

    value: Any
    path: Path
    link_types: tuple[str, ...] = ()


def config_file(repo: Repo, local: bool) -> Path:
    """The file a write goes to: config.local (`local`) or the committed config."""
    return repo.config.local_path if local else repo.config.shared_path


def get_value(repo: Repo, key: str) -> Any:
    """The value in effect (config.local over config over the defaults), typed."""
    current = repo.config.get(key)
    if current is None:
        raise ConfigError(f"'{key}' is not set")
    return current


def set_value(repo: Repo, key: str, value: str, *, local: bool) -> ConfigWrite:
    """Write `key` into config.local (`local`) or the committed config, converted to the
    setting's type; nothing is written when the key, the value or the file is refused."""
    parsed = cfg.coerce(key, value)
    link_types = _check_value(key, parsed)
    repo.config.check_write(key, parsed, local)
    target = config_file(repo, local)
    cfg.edit(target, key, parsed)
    return ConfigWrite(parsed, target, link_types)


def unset_value(repo: Repo, key: str, *, local: bool) -> None:
    """Remove `key` from config.local (`local`) or the committed config; a key that file
    does not hold is an error (the other file may be the one that sets it)."""
    target = config_file(repo, local)
    if not _is_set(cfg.read_toml(target), cfg.split_key(key)):
        raise ConfigError(f"'{key}' is not set in {target.name}")
    cfg.edit(target, key, None)


def _check_value(key: str, value: Any) -> tuple[str, ...]:
    """Refuse, while the user is looking, a value every later command would fail on.
    Returns the link kinds of a `cache.type` value."""
    from dvlite.core.oid import new_hasher
    from dvlite.settings import parse_duration
    from dvlite.storage.links import parse_link_types

    if key == "core.hash":
        new_hasher(str(value))  # unknown, or blake3 without its package
    elif key == "cache.type":
        return parse_link_types(str(value))
    elif key == "gc.grace":
        parse_duration(str(value))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        least = 1 if key.endswith(".jobs") else 0
        if value < least:
            raise ConfigError(f"{key} expects a number >= {least}, got {value}")
    return ()


def _is_set(doc: dict[str, Any], parts: list[str]) -> bool:
    node: Any = doc
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
