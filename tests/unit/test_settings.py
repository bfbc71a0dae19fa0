"""The typed settings records: defaults, checked values, and what is refused where."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvlite.config import Config
from dvlite.errors import ConfigError
from dvlite.settings import CacheConfig, CoreConfig, GcConfig, HooksConfig, parse_duration


def config(tmp_path: Path, shared: str = "", local: str = "") -> Config:
    (tmp_path / "config").write_text(shared)
    (tmp_path / "config.local").write_text(local)
    return Config(tmp_path / "config", tmp_path / "config.local")


def test_defaults(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert cfg.core == CoreConfig(remote=None, autostage=True, hash="xxh128",
                                  lock_timeout=10.0, fsync=False, layout=1, no_scm=False)
    assert cfg.cache == CacheConfig("reflink,copy", None, None)
    assert cfg.cache.dir is None
    assert cfg.hooks == HooksConfig(fetch=True, strict=False, push=True)
    assert cfg.gc == GcConfig("14d", 14 * 86400.0)
    assert cfg.gc.grace == 14 * 86400.0


def test_values_are_read_once_and_local_wins(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[core]\nremote = "a"\nlock_timeout = 3\n[hooks]\nstrict = true\n',
                 '[core]\nremote = "b"\n[cache]\ndir = "/srv/cache"\n[gc]\ngrace = "12h"\n')
    assert cfg.core is cfg.core
    assert (cfg.core.remote, cfg.core.lock_timeout) == ("b", 3.0)
    assert cfg.hooks.strict is True
    assert cfg.cache.dir == "/srv/cache"
    assert (cfg.gc.grace_text, cfg.gc.grace) == ("12h", 12 * 3600.0)


def test_wrongly_typed_value_fails_its_table_only(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[core]\nautostage = 1\n[hooks]\npush = "yes"\n')
    with pytest.raises(ConfigError, match=r"core\.autostage must be true or false"):
        _ = cfg.core
    with pytest.raises(ConfigError, match=r"hooks\.push must be true or false"):
        _ = cfg.hooks
    assert cfg.cache.type == "reflink,copy"


def test_committed_cache_dir_is_refused_only_when_used(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[cache]\ndir = "/elsewhere"\ntype = "copy"\n',
                 '[cache]\ndir = "/mine"\n')
    assert cfg.cache.type == "copy"  # the link types alone do not need the folder
    with pytest.raises(ConfigError, match=r"cache\.dir may be set only in config\.local") as exc:
        _ = cfg.cache.dir
    assert exc.value.hint == ("move it: dvlite config --local cache.dir VALUE, then "
                              "dvlite config --unset cache.dir")


def test_invalid_grace_is_refused_only_when_applied(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[gc]\ngrace = "soon"\n')
    assert cfg.gc.grace_text == "soon"  # messages may still show it
    with pytest.raises(ConfigError, match=r"gc\.grace: invalid duration 'soon'"):
        _ = cfg.gc.grace
    with pytest.raises(ConfigError, match=r"gc\.grace must be a string"):
        _ = config(tmp_path, "[gc]\ngrace = 14\n").gc


@pytest.mark.parametrize("text,seconds", [
    ("0", 0.0), ("14d", 14 * 86400.0), ("14", 14 * 86400.0), (" 12h ", 43200.0),
    ("1.5m", 90.0), ("30s", 30.0), ("2w", 14 * 86400.0),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-1d", "1y", "1 d h"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_duration(text)
    assert exc.value.msg == f"gc.grace: invalid duration '{text}'"
