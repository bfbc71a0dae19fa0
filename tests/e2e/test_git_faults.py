"""RELIABILITY F22, git faults: index.lock present, detached HEAD, mid-rebase, a shallow
clone missing the revision, `git` missing from PATH. Each is a clear error (or works),
and leaves the repository as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.func.util import user_snapshot
from tests.helpers import gen, git, object_path, read_pointer, run, run_proc

pytestmark = pytest.mark.e2e


def one_error(stderr: str, start: str) -> None:
    lines = stderr.splitlines()
    assert lines and lines[0].startswith(start), stderr
    assert all(line.startswith("hint: ") for line in lines[1:]), stderr


def commit_version(repo: Path, data: bytes, msg: str) -> None:
    (repo / "m.bin").write_bytes(data)
    assert run("add", "m.bin").exit_code == 0
    git(repo, "commit", "-qm", msg)


@pytest.mark.parametrize("args", [("remove", "m.bin"), ("move", "m.bin", "m2.bin"),
                                  ("add", "n.bin")])
def test_index_lock_changes_nothing(repo: Path, args: tuple[str, ...]) -> None:
    commit_version(repo, b"v1", "v1")
    gen(repo, {"n.bin": "new"})
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    before = user_snapshot(repo), git(repo, "status", "--porcelain")
    r = run(*args)
    assert r.exit_code == 1
    one_error(r.stderr, f"error: git's index is locked: {lock} exists")
    assert (user_snapshot(repo), git(repo, "status", "--porcelain")) == before
    lock.unlink()
    assert run(*args).exit_code == 0  # the same command works once git is done


def test_detached_head_works_and_gc_keeps_its_data(repo: Path) -> None:
    commit_version(repo, b"v1", "v1")
    git(repo, "checkout", "-q", "--detach")
    commit_version(repo, b"on detached head", "detached")
    detached = read_pointer(repo / "m.bin.dvl").oid
    (repo / "m.bin").write_bytes(b"work in progress")
    assert run("add", "m.bin").exit_code == 0
    r = run("gc")
    assert r.exit_code == 0, r.stderr
    assert object_path(repo, detached).read_bytes() == b"on detached head"  # HEAD uses it
    r = run("diff", "HEAD")
    assert r.exit_code == 0 and "m.bin" in r.stdout
    assert run("status", "--exit-code").exit_code == 0


def test_mid_rebase_conflicted_pointer_is_a_clear_error(repo: Path) -> None:
    commit_version(repo, b"base", "base")
    git(repo, "checkout", "-q", "-b", "topic")
    commit_version(repo, b"topic", "topic")
    git(repo, "checkout", "-q", "main")
    assert run("checkout").exit_code == 0
    commit_version(repo, b"main", "main")
    git(repo, "checkout", "-q", "topic")
    assert run("checkout").exit_code == 0
    proc = subprocess.run(["git", "rebase", "main"], cwd=repo, capture_output=True, text=True,
                          check=False)  # stops: both sides changed m.bin.dvl
    assert proc.returncode != 0 and (repo / ".git" / "rebase-merge").is_dir()
    before = user_snapshot(repo)
    for args in (("status",), ("checkout",), ("checkout", "--force"), ("add", "m.bin")):
        r = run(*args)
        assert r.exit_code == 1, args
        one_error(r.stderr, "error: m.bin.dvl")
        assert user_snapshot(repo) == before, args
    git(repo, "rebase", "--abort")
    assert run("status", "--exit-code").exit_code == 0


def test_shallow_clone_missing_the_revision(repo: Path, tmp_path: Path) -> None:
    assert run("remote", "add", "store", str(tmp_path / "store"), "--default").exit_code == 0
    git(repo, "add", ".dvlite/config")
    commit_version(repo, b"v1", "v1")
    commit_version(repo, b"v2", "v2")
    assert run("push", "--all-commits").exit_code == 0
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    assert run("pull", cwd=shallow).exit_code == 0
    before = user_snapshot(shallow), sorted((tmp_path / "store").rglob("*"))
    for args in (("diff", "HEAD~1"), ("push", "--rev", "HEAD~1"),
                 ("get", ".", "m.bin", "--rev", "HEAD~1", "-o", str(tmp_path / "old"))):
        r = run(*args, cwd=shallow)
        assert r.exit_code == 1, (args, r.stderr)
        assert r.stderr == ("error: unknown revision 'HEAD~1'\nhint: this clone is shallow: "
                            "`git fetch --unshallow` gets the older commits\n"), args
    r = run("gc", "--remote", "--all-commits", "--now", "--yes", cwd=shallow)
    assert r.exit_code == 2
    one_error(r.stderr, "error: gc --remote cannot run in a shallow clone")
    assert (user_snapshot(shallow), sorted((tmp_path / "store").rglob("*"))) == before
    assert not (tmp_path / "old").exists()


@pytest.mark.parametrize("args", [("status",), ("checkout",), ("add", "n.bin"),
                                  ("remove", "m.bin"), ("diff",), ("get", ".", "m.bin"),
                                  ("get", "file:///nowhere", "m.bin")])
def test_git_missing_from_path(repo: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    commit_version(repo, b"v1", "v1")
    (repo / "m.bin").unlink()
    gen(repo, {"n.bin": "new"})
    before = user_snapshot(repo)
    r = run_proc(*args, cwd=repo, env={"PATH": str(tmp_path / "nothing")})
    assert (r.returncode, r.stderr) == (1, "error: git is not installed or not on PATH\n")
    assert user_snapshot(repo) == before
