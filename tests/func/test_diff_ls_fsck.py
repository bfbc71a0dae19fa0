"""`dvlite diff`, `dvlite ls`, `dvlite fsck`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import check_repo, gen, git, object_path, read_pointer, run


@pytest.fixture
def history(repo: Path) -> Path:
    gen(repo, {"data": {"a": "1", "sub": {"b": "2"}, "c": "3"}, "model.bin": "m1"})
    assert run("add", "data", "model.bin").exit_code == 0
    git(repo, "commit", "-qm", "v1")
    (repo / "data" / "a").write_text("1b")
    (repo / "data" / "c").unlink()
    (repo / "data" / "sub" / "new").write_text("n")
    gen(repo, {"extra.bin": "e"})
    assert run("add", "data", "extra.bin").exit_code == 0
    git(repo, "commit", "-qm", "v2")
    return repo


def test_diff_between_revisions(history: Path) -> None:
    r = run("diff", "HEAD~1", "HEAD")
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        "added:     data/sub/new", "added:     extra.bin",
        "modified:  data/a", "deleted:   data/c"]


def test_diff_json(history: Path) -> None:
    out = json.loads(run("diff", "--json", "HEAD~1", "HEAD").stdout)
    assert [x["path"] for x in out["added"]] == ["data/sub/new", "extra.bin"]
    assert out["modified"][0]["path"] == "data/a"
    assert out["modified"][0]["old"] != out["modified"][0]["new"]
    assert out["deleted"] == [{"path": "data/c", "hash": out["deleted"][0]["hash"]}]


def test_diff_rev_vs_workspace(history: Path) -> None:
    assert run("diff").stdout == "No data changes.\n"
    (history / "data" / "sub" / "b").write_text("edited")
    (history / "model.bin").unlink()
    r = run("diff")
    assert r.stdout.splitlines() == ["modified:  data/sub/b", "deleted:   model.bin"]
    r = run("diff", "HEAD~1")
    assert "added:     extra.bin" in r.stdout and "modified:  data/sub/b" in r.stdout


def test_diff_unknown_revision(history: Path) -> None:
    r = run("diff", "nope")
    assert r.exit_code == 1 and r.stderr == "error: unknown revision 'nope'\n"
    assert run("diff", "--", "-x").exit_code == 1


def test_ls(history: Path) -> None:
    lines = run("ls").stdout.splitlines()
    assert [ln.split("\t")[0] for ln in lines] == ["data", "extra.bin", "model.bin"]
    assert all(ln.endswith("\tcached") for ln in lines)
    items = json.loads(run("ls", "--json", "HEAD~1").stdout)
    assert [i["path"] for i in items] == ["data", "model.bin"]
    assert items[0]["nfiles"] == 3 and items[1]["nfiles"] is None
    object_path(history, read_pointer(history / "model.bin.dvl").oid).unlink()
    items = {i["path"]: i for i in json.loads(run("ls", "--json").stdout)}
    assert items["model.bin"]["cached"] is False and items["data"]["cached"] is True


def test_fsck_clean(history: Path) -> None:
    r = run("fsck")
    assert r.exit_code == 0 and "0 corrupt, 0 missing" in r.stdout


def test_fsck_corrupt_object_exit_3_and_quarantine(history: Path) -> None:
    oid = read_pointer(history / "model.bin.dvl").oid
    path = object_path(history, oid)
    os.chmod(path, 0o644)
    path.write_text("bitrot")
    r = run("fsck", "--json")
    assert r.exit_code == 3
    out = json.loads(r.stdout)
    assert out["corrupt"] == [str(oid)]
    assert out["missing"] == [f"{oid} (model.bin)"]
    assert not path.exists()
    assert (history / ".dvlite" / "cache" / "bad" / oid.hex).read_text() == "bitrot"
    # re-adding the workspace copy repairs the cache
    assert run("add", "model.bin").exit_code == 0
    assert run("fsck").exit_code == 0
    check_repo(history)


def test_fsck_missing_object_exit_3(history: Path) -> None:
    object_path(history, read_pointer(history / "extra.bin.dvl").oid).unlink()
    r = run("fsck")
    assert r.exit_code == 3 and "missing: " in r.stdout and "(extra.bin)" in r.stdout


def test_fsck_symlink_in_place_of_an_object_is_corrupt(history: Path, tmp_path: Path) -> None:
    oid = read_pointer(history / "model.bin.dvl").oid
    path = object_path(history, oid)
    (tmp_path / "elsewhere").write_text("m1")  # even with the right bytes behind it
    path.unlink()
    os.symlink(tmp_path / "elsewhere", path)
    r = run("fsck")
    assert r.exit_code == 3 and f"corrupt: {oid}" in r.stdout
    assert not os.path.lexists(path)
    assert (tmp_path / "elsewhere").read_text() == "m1"


def test_diff_before_the_first_commit(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert run("init", cwd=tmp_path).exit_code == 0
    gen(tmp_path, {"d": {"a": "1"}})
    assert run("add", "d", cwd=tmp_path).exit_code == 0
    r = run("diff", cwd=tmp_path)
    assert (r.exit_code, r.stdout) == (0, "added:     d/a\n")
