"""`dvlite status`: modified, missing, not in cache; --json and --exit-code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import gen, git, object_path, read_pointer, run


@pytest.fixture
def tracked(repo: Path) -> Path:
    gen(repo, {"data": {"a": "1", "sub": {"b": "2"}}, "model.bin": "m"})
    assert run("add", "data", "model.bin").exit_code == 0
    return repo


def test_clean(tracked: Path) -> None:
    r = run("status")
    assert (r.exit_code, r.stdout) == (0, "Data and pointers are up to date.\n")
    assert run("status", "--exit-code").exit_code == 0


def test_no_tracked_data(repo: Path) -> None:
    assert run("status").stdout == "No tracked data.\n"


def test_plain_exits_0_exit_code_exits_1(tracked: Path) -> None:
    (tracked / "data" / "a").write_text("changed")
    (tracked / "data" / "new").write_text("n")
    (tracked / "data" / "sub" / "b").unlink()
    (tracked / "model.bin").unlink()
    r = run("status")
    assert r.exit_code == 0
    assert "modified:     data/a" in r.stdout
    assert "modified:     data/new" in r.stdout
    assert "modified:     data/sub/b" in r.stdout
    assert "missing:      model.bin" in r.stdout
    assert run("status", "--exit-code").exit_code == 1


def test_json(tracked: Path) -> None:
    (tracked / "data" / "a").write_text("changed")
    out = json.loads(run("status", "--json").stdout)
    assert out["clean"] is False
    by = {o["path"]: o for o in out["outputs"]}
    assert by["data"]["modified"] == ["data/a"]
    assert by["model.bin"] == {"path": "model.bin", "modified": [], "missing": False,
                               "not_in_cache": 0, "corrupt": []}


def test_not_in_cache(tracked: Path) -> None:
    oid = read_pointer(tracked / "model.bin.dvl").oid
    object_path(tracked, oid).unlink()
    r = run("status", "--exit-code")
    assert r.exit_code == 1
    assert "not in cache: model.bin (1 objects)" in r.stdout


def test_folder_manifest_not_in_cache(tracked: Path) -> None:
    oid = read_pointer(tracked / "data.dvl").oid
    object_path(tracked, oid).unlink()
    r = run("status", "--json", "data")
    assert json.loads(r.stdout)["outputs"][0]["not_in_cache"] == 1
    shutil.rmtree(tracked / "data")
    assert json.loads(run("status", "--json", "data").stdout)["outputs"][0]["missing"] is True


@pytest.mark.parametrize("target", ["data", "data.dvl", "data/", "data/sub", "data/sub/b"])
def test_targets(tracked: Path, target: str) -> None:
    (tracked / "model.bin").write_text("changed")
    r = run("status", "--exit-code", target)
    assert r.exit_code == 0, r.stdout


def test_unknown_target(tracked: Path) -> None:
    r = run("status", "nope")
    assert r.exit_code == 2 and "'nope' is not tracked by dvlite" in r.stderr


def test_malformed_pointer_is_an_error(tracked: Path) -> None:
    (tracked / "model.bin.dvl").write_text("path: model.bin\ntype: file\n")
    r = run("status")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: model.bin.dvl: missing 'hash'")


def test_every_malformed_pointer_is_named(tracked: Path) -> None:
    for name in ("x.dvl", "y.dvl", "z.dvl"):
        (tracked / name).write_text("garbage\n")
    r = run("status")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == (
        "error: x.dvl: not a pointer file (expected a mapping of path, type, hash, size) "
        "(and 2 more: y.dvl, z.dvl)")


def test_two_pointers_for_one_path_refused(tracked: Path) -> None:
    (tracked / "copy.dvl").write_bytes((tracked / "model.bin.dvl").read_bytes())
    r = run("status")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == (
        "error: model.bin.dvl: tracks 'model.bin', but copy.dvl also tracks it")
    (tracked / "copy.dvl").unlink()
    # a pointer inside a tracked folder, force-added to git past the folder's ignore entry
    (tracked / "data" / "sub.dvl").write_bytes(
        (tracked / "model.bin.dvl").read_bytes().replace(b"path: model.bin", b"path: sub"))
    git(tracked, "add", "-f", "data/sub.dvl")
    r = run("checkout", "--force")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == (
        "error: data/sub.dvl: tracks 'data/sub', but data.dvl tracks 'data'")
    assert (tracked / "data" / "sub" / "b").read_text() == "2"
