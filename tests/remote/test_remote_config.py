"""remote add / list / default / modify / remove, and what lands in which config file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tests.helpers import run


def _toml(repo: Path, name: str = "config") -> dict[str, object]:
    path = repo / ".dvlite" / name
    return tomllib.loads(path.read_text()) if path.exists() else {}


def test_add_list_default_remove(repo):
    assert run("remote", "add", "a", "/srv/a").exit_code == 0
    assert run("remote", "add", "b", "s3://bucket/x", "--default").exit_code == 0
    doc = json.loads(run("remote", "list", "--json").stdout)
    assert [(d["name"], d["url"], d["default"]) for d in doc] == [
        ("a", "/srv/a", False), ("b", "s3://bucket/x", True)]
    assert run("remote", "default", "a").exit_code == 0
    assert _toml(repo)["core"]["remote"] == "a"  # type: ignore[index]
    assert "a\t/srv/a\t(default)" in run("remote", "list").stdout
    r = run("remote", "add", "a", "/elsewhere")
    assert r.exit_code == 1 and "already exists" in r.stderr
    assert run("remote", "add", "a", "/elsewhere", "--force").exit_code == 0
    assert _toml(repo)["remote"]["a"]["url"] == "/elsewhere"  # type: ignore[index]
    assert run("remote", "remove", "a").exit_code == 0
    cfg = _toml(repo)
    assert "a" not in cfg["remote"] and "remote" not in cfg.get("core", {})  # type: ignore
    r = run("remote", "remove", "a")
    assert r.exit_code == 1 and "unknown remote 'a'" in r.stderr
    r = run("remote", "default", "zzz")
    assert r.exit_code == 1 and "unknown remote 'zzz'" in r.stderr


def test_modify_options_and_secrets(repo):
    assert run("remote", "add", "s3", "s3://bkt/p").exit_code == 0
    assert run("remote", "modify", "s3", "endpoint_url", "http://127.0.0.1:9000").exit_code == 0
    assert run("remote", "modify", "s3", "jobs", "4").exit_code == 0
    assert _toml(repo)["remote"]["s3"]["jobs"] == 4  # type: ignore[index]
    r = run("remote", "modify", "s3", "jobs", "many")
    assert r.exit_code == 1 and "expects a number" in r.stderr
    r = run("remote", "modify", "s3", "secret_access_key", "hunter2")
    assert r.exit_code == 1 and "--local" in r.stderr
    assert "hunter2" not in (repo / ".dvlite" / "config").read_text()
    assert run("remote", "modify", "s3", "secret_access_key", "hunter2", "--local").exit_code == 0
    assert _toml(repo, "config.local")["remote"]["s3"]["secret_access_key"] == "hunter2"  # type: ignore[index]
    listing = run("remote", "list", "--json").stdout
    assert "hunter2" not in listing and '"secret_access_key": "***"' in listing
    r = run("remote", "modify", "s3", "endpoint", "x")
    assert r.exit_code == 1 and "unknown remote option 'endpoint'" in r.stderr
    assert "endpoint_url" in r.stderr
    assert run("remote", "modify", "s3", "jobs", "--unset").exit_code == 0
    assert "jobs" not in _toml(repo)["remote"]["s3"]  # type: ignore[index]
    r = run("remote", "modify", "nope", "region", "x")
    assert r.exit_code == 1 and "unknown remote 'nope'" in r.stderr


def test_url_password_is_never_printed_and_unknown_scheme_warns(repo):
    r = run("remote", "add", "h", "webdav://user:s3cret@host/path")
    assert r.exit_code == 0
    assert "not verified" in r.stderr
    assert "s3cret" not in r.stdout
    assert "s3cret" not in run("remote", "list").stdout
    r = run("remote", "add", "bad name", "/x")
    assert r.exit_code == 2


def test_remove_drops_local_settings_too(repo):
    assert run("remote", "add", "r", "/x", "--default").exit_code == 0
    assert run("remote", "modify", "r", "access_key_id", "AK", "--local").exit_code == 0
    assert run("remote", "remove", "r").exit_code == 0
    assert "remote" not in _toml(repo, "config.local")
    r = run("push")
    assert r.exit_code == 1 and "no default remote" in r.stderr
