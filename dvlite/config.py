"""`.dvlite/config` (in git) and `.dvlite/config.local` (not in git), both TOML.

Reading uses tomllib (fast, strict); writing goes through tomlkit so users' comments and
layout survive `dvlite config` and `dvlite remote` edits.

The committed file comes with whatever repository a user clones, so it is trusted less
than `config.local`, as git trusts a repository's own config less than the user's (see
"What a committed config may say" in docs/format.md): `cache.dir` is honoured only from
`config.local`, `~` in a remote url is expanded only there, and no remote may be empty or
lie inside (or around) the repository's workspace.
"""

from __future__ import annotations

import tomllib
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvlite.errors import ConfigError
from dvlite.remote_config import REMOTE_KEYS, check_url, remote_config, typed
from dvlite.settings import CacheConfig, CoreConfig, GcConfig, HooksConfig, committed_refusal
from dvlite.storage.atomic import atomic_write

if TYPE_CHECKING:
    from dvlite.storage.remote.options import RemoteConfig

LAYOUT_VERSION = 1
MAX_CONFIG_BYTES = 1 << 20  # a config is a few lines: refuse, rather than parse, megabytes
SECRET_KEYS = frozenset({"access_key_id", "secret_access_key", "session_token", "password"})
# Settings a cloned repository must not choose for the machine: only config.local may.
MACHINE_LOCAL_KEYS = frozenset({"cache.dir"})
_SCHEMA: dict[str, dict[str, type]] = {
    "core": {"remote": str, "autostage": bool, "hash": str, "lock_timeout": float,
             "fsync": bool, "layout": int, "no_scm": bool},
    "cache": {"type": str, "dir": str},
    "hooks": {"fetch": bool, "strict": bool, "push": bool},
    "gc": {"grace": str},
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
    "hooks.push": True,
    "gc.grace": "14d",
}


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: too large for a config file (over {MAX_CONFIG_BYTES} bytes)")
    try:
        return tomllib.loads(raw.decode())
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (TOML must be UTF-8)") from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:  # deep nesting recurses
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _lookup(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in split_key(key):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class Config:
    """The merged view of `config` and `config.local` (local wins). `workspace` is the
    repository's root: no remote may lie inside it (None: no such check, as for `get`,
    which only reads another repository's remote)."""

    def __init__(self, shared: Path, local: Path, workspace: Path | None = None) -> None:
        self.shared_path = shared
        self.local_path = local
        self.workspace = workspace
        self.shared = read_toml(shared)
        self.local = read_toml(local)
        self.data = _merge(self.shared, self.local)

    def get(self, key: str) -> Any:
        """The checked value of `key`, or its default: `dvlite config KEY` reads any key
        by name; commands read the typed records below, each built on first use."""
        if key in MACHINE_LOCAL_KEYS and _lookup(self.shared, key) is not None:
            raise committed_refusal(self.shared_path, key)
        node = _lookup(self.data, key)
        if node is None:
            return DEFAULTS.get(key)
        return _checked(key, node, self.shared_path.parent)

    @cached_property
    def core(self) -> CoreConfig:
        return CoreConfig.read(self.get)

    @cached_property
    def cache(self) -> CacheConfig:
        committed = _lookup(self.shared, "cache.dir") is not None
        return CacheConfig.read(self.get, self.shared_path if committed else None)

    @cached_property
    def hooks(self) -> HooksConfig:
        return HooksConfig.read(self.get)

    @cached_property
    def gc(self) -> GcConfig:
        return GcConfig.read(self.get)

    def _remote_tables(self) -> dict[str, dict[str, Any]]:
        section = self.data.get("remote", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{self.shared_path}: [remote] must be a table")
        return {name: table if isinstance(table, dict) else {}
                for name, table in section.items()}

    def remotes(self) -> dict[str, RemoteConfig]:
        """Every remote, its options typed (an option of the wrong type is an error). A
        section without a url (credentials kept in config.local for a remote that
        another commit defines) is listed with url ""; only using it fails."""
        where = self.shared_path.parent
        return {name: remote_config(name, table, where)
                for name, table in self._remote_tables().items()}

    def remote_settings(self, name: str) -> dict[str, Any]:
        """The options of remote `name` as its files set them (url aside), for showing."""
        return {k: v for k, v in self._remote_tables().get(name, {}).items() if k != "url"}

    def remote(self, name: str | None) -> RemoteConfig:
        """The remote `name` (default: core.remote), which must have a url fit for use."""
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
        chosen_cfg = remotes[chosen]
        if _lookup(self.data, f"remote.{chosen}.url") is None:
            raise ConfigError(f"remote '{chosen}' has no url",
                              hint=f"dvlite remote add {chosen} URL (its options are kept)")
        trusted = _lookup(self.local, f"remote.{chosen}.url") is not None
        source = self.local_path if trusted else self.shared_path
        check_url(chosen, chosen_cfg.url, source, trusted=trusted, workspace=self.workspace)
        return chosen_cfg

    def check_write(self, key: str, value: Any, local: bool) -> None:
        """Refuse, before it is written to config.local (`local`) or the committed config,
        a value that file may not hold."""
        parts = split_key(key)
        if parts[-1] in SECRET_KEYS and not local:
            raise ConfigError(f"'{key}' is a secret: store it with --local (kept out of git)")
        if key in MACHINE_LOCAL_KEYS and not local:
            raise ConfigError(f"{key} is set per machine: store it with --local "
                              "(.dvlite/config.local, which git ignores)")
        if parts[0] == "remote" and parts[-1] == "url":
            check_url(parts[1], str(value), self.local_path if local else self.shared_path,
                      trusted=local, workspace=self.workspace)

    def require_remote(self, name: str) -> None:
        """Refuse an unknown remote name (without judging its url, which may be what the
        caller is about to fix)."""
        remotes = self._remote_tables()  # not typed: the option being fixed may be wrong
        if name not in remotes:
            known = ", ".join(sorted(remotes)) or "none"
            raise ConfigError(f"unknown remote '{name}' (configured: {known})")


def _checked(key: str, value: Any, where: Path) -> Any:
    """A known setting read from a file must have its type (an int serves as a float)."""
    section, _, name = key.partition(".")
    kind = _SCHEMA.get(section, {}).get(name)
    if kind is None:
        return value
    return typed(value, kind, f"{where}: {key}", hint=f"dvlite config {key} VALUE")




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
