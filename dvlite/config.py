"""`.dvlite/config` (in git) and `.dvlite/config.local` (not in git), both TOML.

Reading uses tomllib (fast, strict); writing goes through tomlkit so users' comments and
layout survive `dvlite config` and `dvlite remote` edits.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvlite.errors import ConfigError
from dvlite.storage.atomic import atomic_write

LAYOUT_VERSION = 1
SECRET_KEYS = frozenset({"access_key_id", "secret_access_key", "session_token", "password"})
_SCHEMA: dict[str, dict[str, type]] = {
    "core": {"remote": str, "autostage": bool, "hash": str, "lock_timeout": float,
             "fsync": bool, "layout": int, "no_scm": bool},
    "cache": {"type": str, "dir": str},
    "hooks": {"fetch": bool, "strict": bool},
    "gc": {"grace": str},
}
REMOTE_KEYS: dict[str, type] = {
    "url": str, "endpoint_url": str, "region": str, "profile": str, "jobs": int,
    "access_key_id": str, "secret_access_key": str, "session_token": str,
    "read_timeout": float, "connect_timeout": float, "retries": int, "verify": bool,
    "layout": int,
}
DEFAULTS: dict[str, Any] = {
    "core.autostage": True,
    "core.hash": "xxh128",
    "core.lock_timeout": 10.0,
    "core.fsync": False,
    "core.layout": LAYOUT_VERSION,
    "core.no_scm": False,
    "cache.type": "reflink,copy",
    "hooks.fetch": True,
    "hooks.strict": False,
    "gc.grace": "14d",
}


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    name: str
    url: str  # "" when no file gives one (e.g. only credentials in config.local)
    options: dict[str, Any] = field(default_factory=dict)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from exc


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class Config:
    """The merged view of `config` and `config.local` (local wins)."""

    def __init__(self, shared: Path, local: Path) -> None:
        self.shared_path = shared
        self.local_path = local
        self.data = _merge(read_toml(shared), read_toml(local))

    def get(self, key: str) -> Any:
        node: Any = self.data
        for part in split_key(key):
            if not isinstance(node, dict) or part not in node:
                return DEFAULTS.get(key)
            node = node[part]
        return _checked(key, node, self.shared_path.parent)

    @property
    def algo(self) -> str:
        return str(self.get("core.hash"))

    def remotes(self) -> dict[str, RemoteConfig]:
        section = self.data.get("remote", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{self.shared_path}: [remote] must be a table")
        out = {}
        for name, opts in section.items():
            # A section without a url (credentials kept in config.local for a remote
            # that another commit defines) is listed as such; only using it fails.
            table = opts if isinstance(opts, dict) else {}
            url = table.get("url")
            options = {k: v for k, v in table.items() if k != "url"}
            out[name] = RemoteConfig(name, url if isinstance(url, str) else "", options)
        return out

    def remote(self, name: str | None, *, need_url: bool = True) -> RemoteConfig:
        """The remote `name` (default: core.remote); with `need_url`, one that has a url."""
        remotes = self.remotes()
        chosen = name or self.get("core.remote")
        if not chosen:
            raise ConfigError(
                "no remote given and no default remote set",
                hint="dvlite remote add NAME URL --default, or pass -r NAME",
            )
        if chosen not in remotes:
            known = ", ".join(sorted(remotes)) or "none"
            raise ConfigError(f"unknown remote '{chosen}' (configured: {known})")
        found = remotes[chosen]
        if need_url and not found.url:
            raise ConfigError(f"remote '{chosen}' has no url",
                              hint=f"dvlite remote add {chosen} URL (its options are kept)")
        return found


def _checked(key: str, value: Any, where: Path) -> Any:
    """A known setting read from a file must have its type (an int serves as a float)."""
    section, _, name = key.partition(".")
    kind = _SCHEMA.get(section, {}).get(name)
    if kind is None:
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise ConfigError(
        f"{where}: {key} must be {_TYPE_NAMES[kind]}, not {value!r}",
        hint=f"dvlite config {key} VALUE",
    )


_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def split_key(key: str) -> list[str]:
    parts = key.split(".")
    if parts[0] == "remote" and len(parts) > 3:
        # remote names may contain dots: remote.NAME.OPTION
        parts = ["remote", ".".join(parts[1:-1]), parts[-1]]
    return parts


def coerce(key: str, value: str) -> Any:
    """Check `key` is a known setting and convert `value` to its type."""
    parts = split_key(key)
    if parts[0] == "remote":
        if len(parts) != 3:
            raise ConfigError(f"invalid key '{key}'", hint="remote keys are remote.NAME.OPTION")
        kind = REMOTE_KEYS.get(parts[2], str)
    elif len(parts) == 2 and parts[1] in _SCHEMA.get(parts[0], {}):
        kind = _SCHEMA[parts[0]][parts[1]]
    else:
        raise ConfigError(f"unknown config key '{key}'", hint=_known_keys_hint())
    return _convert(key, value, kind)


def _convert(key: str, value: str, kind: type) -> Any:
    if kind is bool:
        lowered = value.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{key} expects true or false, got '{value}'")
    if kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            raise ConfigError(f"{key} expects a number, got '{value}'") from None
    return value


def _known_keys_hint() -> str:
    keys = [f"{s}.{k}" for s, opts in _SCHEMA.items() for k in opts]
    return "known keys: " + ", ".join(keys) + ", remote.NAME.OPTION"


def edit(path: Path, key: str, value: Any | None) -> None:
    """Set (or, with value None, remove) `key` in one TOML file, keeping its comments."""
    import tomlkit

    try:
        doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
    except Exception as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
    parts = split_key(key)
    node: Any = doc
    for part in parts[:-1]:
        if part not in node:
            if value is None:
                return
            node[part] = tomlkit.table()
        node = node[part]
    if value is None:
        node.pop(parts[-1], None)
        _drop_empty(doc, parts[:-1])
    else:
        node[parts[-1]] = value
    atomic_write(path, tomlkit.dumps(doc).encode())


def _drop_empty(doc: Any, parts: list[str]) -> None:
    for depth in range(len(parts), 0, -1):
        node = doc
        for part in parts[: depth - 1]:
            node = node[part]
        if not node[parts[depth - 1]]:
            node.pop(parts[depth - 1])


def remove_section(path: Path, parts: list[str]) -> bool:
    import tomlkit

    if not path.exists():
        return False
    doc = tomlkit.parse(path.read_text())
    node: Any = doc
    for part in parts[:-1]:
        if part not in node:
            return False
        node = node[part]
    if parts[-1] not in node:
        return False
    node.pop(parts[-1])
    _drop_empty(doc, parts[:-1])
    atomic_write(path, tomlkit.dumps(doc).encode())
    return True
