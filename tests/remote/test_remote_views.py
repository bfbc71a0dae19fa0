"""status --remote, fsck --remote and ls --remote."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import gen, git, read_pointer, run
from tests.remote.conftest import RemoteHandle


def _tracked(repo: Path) -> None:
    gen(repo, {"a.bin": b"A" * 100, "d": {"x": "x", "y": "y"}})
    assert run("add", "a.bin", "d").exit_code == 0
    git(repo, "commit", "-qm", "data")


def _key(repo: Path, pointer: str) -> str:
    oid = read_pointer(repo / pointer).oid
    return f"{oid.algo}/{oid.hex[:2]}/{oid.hex}"


def test_status_remote(repo, remote: RemoteHandle):
    _tracked(repo)
    r = run("status", "--remote", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["clean"] is False
    assert {o["path"]: o["not_on_remote"] for o in doc["outputs"]} == {"a.bin": 1, "d": 3}
    assert run("status", "--remote", "--exit-code").exit_code == 1
    assert run("push", "a.bin").exit_code == 0
    r = run("status", "-r", "origin")
    assert "not on remote: d (3 objects)" in r.stdout and "a.bin" not in r.stdout
    assert run("push").exit_code == 0
    r = run("status", "--remote", "--exit-code")
    assert r.exit_code == 0 and "Everything is on remote 'origin'" in r.stdout


def test_fsck_remote_reports_missing_wrong_size_corrupt(repo, remote: RemoteHandle):
    _tracked(repo)
    assert run("push").exit_code == 0
    r = run("fsck", "--remote", "--json")
    assert r.exit_code == 0, r.stdout
    assert json.loads(r.stdout)["checked"] == 4
    a_key = _key(repo, "a.bin.dvl")
    manifest = json.loads(remote.read(_key(repo, "d.dvl")))
    x_hex = next(e["hash"] for e in manifest["entries"] if e["path"] == "x")
    y_hex = next(e["hash"] for e in manifest["entries"] if e["path"] == "y")
    remote.put(a_key, b"B" * 100)  # corrupt, same size
    remote.put(f"xxh128/{x_hex[:2]}/{x_hex}", b"longer than one byte")
    remote.delete(f"xxh128/{y_hex[:2]}/{y_hex}")
    r = run("fsck", "--remote", "--json")
    assert r.exit_code == 3
    doc = json.loads(r.stdout)
    assert [s.split()[1] for s in doc["corrupt"]] == ["(a.bin)"]
    assert [s.split()[1] for s in doc["wrong_size"]] == ["(d/x)"]
    assert [s.split()[1] for s in doc["missing"]] == ["(d/y)"]
    r = run("fsck", "--remote")
    assert r.exit_code == 3 and "corrupt on remote" in r.stdout


def test_ls_remote(repo, remote: RemoteHandle):
    _tracked(repo)
    assert run("push", "d").exit_code == 0
    r = run("ls", "--remote", "--json")
    assert r.exit_code == 0
    assert {i["path"]: i["on_remote"] for i in json.loads(r.stdout)} == {
        "a.bin": False, "d": True}
    r = run("ls", "-r", "origin")
    assert "a.bin" in r.stdout and "not on remote" in r.stdout
