"""The typed non-remote settings: one frozen record per table of the config, `[core]`,
`[cache]`, `[hooks]` and `[gc]`, that `Config` builds once from its checked values (the
remotes are `RemoteConfig`s).

A record is built the first time a command reads its table, so a wrongly typed value
fails the commands that read that table. Two values are refused only where they are
used, as a command that does not need them must not fail on them: a `cache.dir` in the
committed config (when the cache folder is opened; `DVLITE_CACHE_DIR` overrides it) and
a `gc.grace` that is no duration (when the grace is applied; messages show its text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvlite.errors import ConfigError

Lookup = Callable[[str], Any]  # `Config.get`: a key's checked value, or its default
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def committed_refusal(shared: Path, key: str) -> ConfigError:
    """The error for a machine-local `key` that the committed config `shared` sets."""
    return ConfigError(
        f"{shared}: {key} may be set only in config.local, not in the committed config "
        "(a cloned repository must not choose paths on this machine)",
        hint=f"move it: dvlite config --local {key} VALUE, then dvlite config --unset {key}")


def parse_duration(text: str) -> float:
    """`text` (a number, then s, m, h, d or w; days without one) in seconds."""
    seconds = _seconds(text)
    if seconds is None:
        raise _invalid_duration(text)
    return seconds


def _seconds(text: str) -> float | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    return None if m is None else float(m.group(1)) * _UNITS[m.group(2) or "d"]


def _invalid_duration(text: str) -> ConfigError:
    return ConfigError(f"gc.grace: invalid duration '{text}'", hint="e.g. 14d, 12h, 0")


@dataclass(frozen=True, slots=True)
class CoreConfig:
    remote: str | None  # the default remote's name
    autostage: bool
    hash: str
    lock_timeout: float
    fsync: bool
    layout: int
    no_scm: bool

    @classmethod
    def read(cls, get: Lookup) -> CoreConfig:
        return cls(remote=get("core.remote"), autostage=get("core.autostage"),
                   hash=get("core.hash"), lock_timeout=get("core.lock_timeout"),
                   fsync=get("core.fsync"), layout=get("core.layout"),
                   no_scm=get("core.no_scm"))


@dataclass(frozen=True, slots=True)
class CacheConfig:
    type: str  # link types, in order of preference
    local_dir: str | None  # cache.dir from config.local
    committed_in: Path | None  # the committed config, when it sets cache.dir

    @classmethod
    def read(cls, get: Lookup, committed_in: Path | None) -> CacheConfig:
        return cls(get("cache.type"), None if committed_in else get("cache.dir"),
                   committed_in)

    @property
    def dir(self) -> str | None:
        """`cache.dir`, refused if the committed config sets it."""
        if self.committed_in is not None:
            raise committed_refusal(self.committed_in, "cache.dir")
        return self.local_dir


@dataclass(frozen=True, slots=True)
class HooksConfig:
    fetch: bool  # post-checkout and post-merge fetch missing data
    strict: bool  # pre-commit blocks a commit of changed, un-added data
    push: bool  # pre-push pushes the data of the commits being pushed

    @classmethod
    def read(cls, get: Lookup) -> HooksConfig:
        return cls(get("hooks.fetch"), get("hooks.strict"), get("hooks.push"))


@dataclass(frozen=True, slots=True)
class GcConfig:
    grace_text: str  # as written, for messages
    grace_seconds: float | None  # None: not a duration

    @classmethod
    def read(cls, get: Lookup) -> GcConfig:
        text = get("gc.grace")
        return cls(text, _seconds(text))

    @property
    def grace(self) -> float:
        """`gc.grace` in seconds, refused if it is no duration."""
        if self.grace_seconds is None:
            raise _invalid_duration(self.grace_text)
        return self.grace_seconds
