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


def test_a_local_section_without_url_breaks_only_its_own_use(repo, tmp_path):
    """Credentials stored with --local for a remote that a later commit adds: at an
    older commit, the other remotes work and the incomplete one is listed as such."""
    store = tmp_path / "store"
    assert run("remote", "add", "fr", str(store), "--default").exit_code == 0
    local = repo / ".dvlite" / "config.local"
    local.write_text("[remote.s3local]\naccess_key_id = 'AKIA'\n"
                     "secret_access_key = 'secret'\n")
    (repo / "m.bin").write_bytes(b"model")
    assert run("add", "m.bin").exit_code == 0
    r = run("push", "-r", "fr")
    assert r.exit_code == 0, r.stderr
    (repo / "m.bin").unlink()
    r = run("pull", "-r", "fr")
    assert r.exit_code == 0, r.stderr
    assert (repo / "m.bin").read_bytes() == b"model"
    assert run("status", "--remote").exit_code == 0
    listed = run("remote", "list")
    assert listed.exit_code == 0
    assert "s3local\t(no url: options only, not usable)" in listed.stdout
    assert "secret" not in listed.stdout
    doc = json.loads(run("remote", "list", "--json").stdout)
    assert {d["name"]: d["url"] for d in doc} == {"fr": str(store), "s3local": None}
    r = run("push", "-r", "s3local")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == "error: remote 's3local' has no url"
    assert "Traceback" not in r.stderr
    assert run("remote", "modify", "s3local", "region", "eu-west-1", "--local").exit_code == 0
    assert run("remote", "add", "s3local", "s3://bucket/p").exit_code == 0  # completes it
    doc = json.loads(run("remote", "list", "--json").stdout)
    got = next(d for d in doc if d["name"] == "s3local")
    assert got["url"] == "s3://bucket/p" and got["options"]["access_key_id"] == "***"
