"""Config: key checking and coercion, merged reads, comment-preserving edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvlite.config import Config, coerce, edit, remove_section, split_key
from dvlite.errors import ConfigError


@pytest.mark.parametrize("key,value,expected", [
    ("core.autostage", "false", False),
    ("core.autostage", "YES", True),
    ("core.autostage", "0", False),
    ("core.lock_timeout", "2.5", 2.5),
    ("core.layout", "1", 1),
    ("core.remote", "origin", "origin"),
    ("cache.type", "hardlink,copy", "hardlink,copy"),
    ("remote.my.store.url", "s3://b/p", "s3://b/p"),
    ("remote.r.jobs", "4", 4),
    ("remote.r.verify", "off", False),
    ("remote.r.custom_option", "x", "x"),
])
def test_coerce(key: str, value: str, expected: object) -> None:
    got = coerce(key, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("key,value,message", [
    ("core.autostage", "maybe", "expects true or false"),
    ("core.lock_timeout", "soon", "expects a number"),
    ("remote.r.jobs", "many", "expects a number"),
    ("core.nope", "1", "unknown config key"),
    ("nope", "1", "unknown config key"),
    ("core.autostage.deep", "1", "unknown config key"),
    ("remote.r", "1", "invalid key"),
])
def test_coerce_errors(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        coerce(key, value)


def test_split_key_remote_names_with_dots() -> None:
    assert split_key("remote.a.b.url") == ["remote", "a.b", "url"]
    assert split_key("core.remote") == ["core", "remote"]


def test_merge_local_wins_and_defaults(tmp_path: Path) -> None:
    shared, local = tmp_path / "config", tmp_path / "config.local"
    shared.write_text('[core]\nremote = "a"\n[remote.a]\nurl = "/x"\n')
    local.write_text('[core]\nremote = "b"\n[remote.b]\nurl = "/y"\n')
    cfg = Config(shared, local)
    assert cfg.get("core.remote") == "b"
    assert cfg.get("core.autostage") is True
    assert cfg.get("cache.type") == "reflink,copy"
    assert cfg.get("no.such") is None
    assert cfg.remote(None).url == "/y"
    assert cfg.remote("a").url == "/x"
    with pytest.raises(ConfigError, match="unknown remote 'c'"):
        cfg.remote("c")


def test_no_default_remote(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no default remote"):
        Config(tmp_path / "c", tmp_path / "l").remote(None)


def test_bad_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[core\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        Config(tmp_path / "config", tmp_path / "l")


def test_remote_without_url_fails_only_when_used(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[remote.ok]\nurl = '/data'\n[remote.x]\nregion = 'eu'\n")
    config = Config(tmp_path / "config", tmp_path / "l")
    assert config.remotes()["x"].url == ""
    assert config.remote("ok").url == "/data"
    with pytest.raises(ConfigError, match="remote 'x' has no url"):
        config.remote("x")


def test_edit_keeps_comments_and_unsets(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("# keep me\n[core]\nhash = \"xxh128\"  # inline\n")
    edit(path, "core.autostage", False)
    edit(path, "remote.a.b.url", "/data")
    text = path.read_text()
    assert "# keep me" in text and "# inline" in text
    cfg = Config(path, tmp_path / "l")
    assert cfg.get("core.autostage") is False
    assert cfg.remote("a.b").url == "/data"
    edit(path, "remote.a.b.url", None)
    assert "remote" not in Config(path, tmp_path / "l").data
    edit(path, "never.set", None)  # unsetting a missing key is a no-op
    assert "# keep me" in path.read_text()


def test_remove_section(tmp_path: Path) -> None:
    path = tmp_path / "config"
    edit(path, "remote.a.url", "/x")
    assert remove_section(path, ["remote", "a"])
    assert not remove_section(path, ["remote", "a"])
    assert not remove_section(tmp_path / "missing", ["remote", "a"])


def test_wrongly_typed_setting_in_the_file_is_a_clear_error(tmp_path: Path) -> None:
    shared = tmp_path / "config"
    shared.write_text('[core]\nlock_timeout = "soon"\nautostage = 1\n')
    config = Config(shared, tmp_path / "config.local")
    with pytest.raises(ConfigError, match=r"core\.lock_timeout must be a number"):
        config.get("core.lock_timeout")
    with pytest.raises(ConfigError, match=r"core\.autostage must be true or false"):
        config.get("core.autostage")


def test_whole_number_serves_as_a_float_setting(tmp_path: Path) -> None:
    shared = tmp_path / "config"
    shared.write_text("[core]\nlock_timeout = 3\n")
    assert Config(shared, tmp_path / "config.local").get("core.lock_timeout") == 3.0


def test_remote_keys_are_the_fsspec_options() -> None:
    from dataclasses import fields

    from dvlite.remote_config import REMOTE_KEYS
    from dvlite.storage.remote.options import FsspecOptions

    named = {f.name for f in fields(FsspecOptions)} - {"storage_options"}
    assert named == set(REMOTE_KEYS) - {"url"}


def test_remote_options_are_typed_once(tmp_path: Path) -> None:
    from dvlite.storage.remote.options import FolderOptions, FsspecOptions

    (tmp_path / "config").write_text(
        "[remote.f]\nurl = '/data'\njobs = 3\nregion = 'eu'\n"
        "[remote.s]\nurl = 's3://b/p'\nread_timeout = 5\nverify = false\nlayout = 1\n"
        "[remote.m]\nurl = 'memory://b/p'\njobs = 2\nretries = 1\npassword = 'pw'\n")
    (tmp_path / "l").write_text("[remote.s]\nsecret_access_key = 'hush'\n")
    remotes = Config(tmp_path / "config", tmp_path / "l").remotes()
    assert remotes["f"].options == FolderOptions(jobs=3)
    s3 = remotes["s"].options
    assert s3 == FsspecOptions(layout=1, read_timeout=5.0, verify=False,
                               secret_access_key="hush",
                               storage_options={"read_timeout": 5.0, "verify": False,
                                                "secret_access_key": "hush"})
    assert "hush" not in repr(remotes["s"])
    other = remotes["m"].options
    assert isinstance(other, FsspecOptions) and other.jobs == 2
    assert other.storage_options == {"retries": 1, "password": "pw"}
    assert "pw" not in repr(other)


def test_remote_option_of_the_wrong_type_names_it(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[remote.s]\nurl = 's3://b/p'\nretries = 'many'\n")
    config = Config(tmp_path / "config", tmp_path / "l")
    with pytest.raises(ConfigError, match=r"remote\.s\.retries must be a whole number"):
        config.remotes()
    config.require_remote("s")  # so `remote modify` can still fix it
