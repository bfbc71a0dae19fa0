"""dvlite get: a killed run's work folder is cleaned by the next one, nothing goes to the
system temp folder, and bare repositories are sources like any other."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dvlite.repo.get import WORK_PREFIX
from tests.helpers import gen, git, run, run_proc


@pytest.fixture
def project(repo: Path, tmp_path: Path) -> Path:
    """A committed project whose data is also on a folder remote."""
    assert run("remote", "add", "store", str(tmp_path / "store"), "--default").exit_code == 0
    gen(repo, {"data": {f"f{i}.txt": f"file {i}" for i in range(5)}, "m.bin": b"model"})
    assert run("add", "data", "m.bin").exit_code == 0
    git(repo, "add", ".dvlite/config")
    git(repo, "commit", "-qm", "v1")
    assert run("push").exit_code == 0
    return repo


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    out = tmp_path / "elsewhere"
    out.mkdir()
    return out


@pytest.mark.parametrize("source", ["path", "url"])
def test_killed_get_is_cleaned_up_by_the_next(project: Path, elsewhere: Path, tmp_path: Path,
                                              source: str) -> None:
    systemp = tmp_path / "systemp"
    systemp.mkdir()
    repo = str(project) if source == "path" else f"file://{project}"
    env = {"TMPDIR": str(systemp), "DVLITE_FAULTPOINT": "get.after_object"}
    killed = run_proc("get", repo, "data", cwd=elsewhere, env=env)
    assert killed.returncode == -9, killed.stderr
    [left] = list(elsewhere.iterdir())
    assert left.name.startswith(WORK_PREFIX) and left.is_dir()
    assert list(systemp.iterdir()) == []  # nothing outside the destination's folder
    done = run_proc("get", repo, "data", cwd=elsewhere, env={"TMPDIR": str(systemp)})
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["data"]
    assert (elsewhere / "data" / "f3.txt").read_text() == "file 3"
    assert list(systemp.iterdir()) == []


def test_work_folder_of_a_live_run_is_left_alone(project: Path, elsewhere: Path) -> None:
    live = elsewhere / f"{WORK_PREFIX}{os.getpid()}-live"
    live.mkdir()
    fd = os.open(live / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert run("get", str(project), "m.bin", cwd=elsewhere).exit_code == 0
        assert live.is_dir()
    finally:
        os.close(fd)
    starting = elsewhere / f"{WORK_PREFIX}{os.getpid()}-starting"  # no lock file yet
    starting.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    gone = elsewhere / f"{WORK_PREFIX}{dead}-gone"
    gone.mkdir()
    assert run("get", str(project), "m.bin", "-o", "m2", cwd=elsewhere).exit_code == 0
    assert starting.is_dir() and not gone.exists()
    assert run("get", str(project), "m.bin", "-o", "m3", cwd=elsewhere).exit_code == 0
    assert not live.exists()  # unlocked now: its owner is gone
    assert sorted(p.name for p in elsewhere.iterdir()) == \
        sorted(["m.bin", "m2", "m3", starting.name])


def test_get_from_a_bare_repository(project: Path, elsewhere: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(project), str(bare))
    for repo, out in ((str(bare), "d1"), (f"file://{bare}", "d2"), ("../bare.git", "d3"),
                      (str(bare / "refs"), "d4")):
        r = run("get", repo, "data", "-o", out, cwd=elsewhere)
        assert r.exit_code == 0, (repo, r.stderr)
        assert (elsewhere / out / "f4.txt").read_text() == "file 4"
    r = run("get", str(bare), "m.bin", "--rev", "main", cwd=elsewhere)
    assert r.exit_code == 0, r.stderr
    assert (elsewhere / "m.bin").read_bytes() == b"model"


def test_get_from_a_folder_that_is_no_repository(elsewhere: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    r = run("get", str(plain), "x", cwd=elsewhere)
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ") and "not inside a git repository" in r.stderr
    assert list(elsewhere.iterdir()) == []
