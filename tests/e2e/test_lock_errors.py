"""The repository lock (SPEC guarantee 5) and the one exit point (guarantee 6), as a user
sees them: subprocesses, exit codes, one `error:` line, no traceback without -v."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import check_repo, gen, git, read_pointer, run, run_proc

pytestmark = pytest.mark.e2e


def start(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dvlite", *args], cwd=repo, text=True,
                            env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_holder(repo: Path, proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """Poll until `proc` has written itself into the lock file (so it holds the lock)."""
    lock = repo / ".dvlite" / "lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = lock.read_text() if lock.exists() else ""
        if text.startswith(f"{proc.pid} "):
            return text
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("the holder never took the lock")


# Holds the lock far longer than any test waits; tests kill the holder when done.
HOLD = {"DVLITE_FAULTPOINT": "add.after_cache", "DVLITE_FAULTPOINT_SLEEP": "60"}


def test_locked_error_names_the_holder(repo: Path) -> None:
    gen(repo, {"a.bin": "a", "b.bin": "b"})
    assert run("config", "--local", "core.lock_timeout", "0.3").exit_code == 0
    holder = start(repo, "-v", "add", "a.bin", env=HOLD)
    try:
        assert wait_for_holder(repo, holder) == f"{holder.pid} dvlite add a.bin\n"
        t0 = time.monotonic()
        r = run_proc("add", "b.bin", cwd=repo)
        waited = time.monotonic() - t0
        assert r.returncode == 4
        assert r.stderr.splitlines()[0] == (
            f"error: another dvlite process holds the repository lock "
            f"(pid {holder.pid}: dvlite add a.bin)")
        assert r.stderr.splitlines()[1].startswith("hint: ")
        assert "Traceback" not in r.stderr
        assert 0.3 <= waited < 30
        assert not (repo / "b.bin.dvl").exists()
        # read-only commands need no lock
        assert run_proc("status", cwd=repo).returncode == 0
    finally:
        holder.kill()
        holder.communicate()
    # F20: a killed holder's lock dies with it; the next command proceeds at once
    r = run_proc("add", "a.bin", "b.bin", cwd=repo)
    assert r.returncode == 0, r.stderr
    check_repo(repo)


def test_waiter_proceeds_when_the_holder_finishes(repo: Path) -> None:
    gen(repo, {"a.bin": "a", "b.bin": "b"})
    holder = start(repo, "add", "a.bin",
                   env={**HOLD, "DVLITE_FAULTPOINT_SLEEP": "1"})
    wait_for_holder(repo, holder)
    r = run_proc("add", "b.bin", cwd=repo)  # default timeout 10 s: it waits
    holder.communicate(timeout=30)
    assert holder.returncode == 0
    assert r.returncode == 0, r.stderr
    assert (repo / ".gitignore").read_text().splitlines() == ["/a.bin", "/b.bin"]
    check_repo(repo)


def test_concurrent_adds_never_corrupt_the_repo(repo: Path) -> None:
    """F19: two adds started together, on different and on overlapping paths."""
    gen(repo, {f"d{i}": {f"f{j}": f"{i}-{j}" for j in range(30)} for i in range(3)})
    gen(repo, {"shared": {f"f{j}": f"s{j}" for j in range(30)}})
    procs = [start(repo, "add", "d0", "shared"), start(repo, "add", "d1", "d2", "shared")]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    lines = (repo / ".gitignore").read_text().splitlines()
    assert sorted(lines) == ["/d0", "/d1", "/d2", "/shared"]
    assert all(read_pointer(repo / f"{n}.dvl").nfiles == 30 for n in ("d0", "d1", "d2", "shared"))
    assert run("status", "--exit-code").exit_code == 0
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert staged == [".gitignore", "d0.dvl", "d1.dvl", "d2.dvl", "shared.dvl"]
    check_repo(repo)


def test_ctrl_c_exits_130(repo: Path) -> None:
    gen(repo, {"a.bin": "a"})
    proc = start(repo, "add", "a.bin", env=HOLD)
    wait_for_holder(repo, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err == "error: interrupted\n"


def test_outside_a_repository(tmp_path: Path) -> None:
    r = run_proc("status", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("error: not a dvlite repository")
    assert r.stderr.splitlines()[1] == "hint: run `dvlite init`"
    assert r.stdout == ""


def test_usage_errors_exit_2(repo: Path) -> None:
    for args in (["add"], ["status", "--bogus"], ["nosuchcommand"], ["checkout", "--force=x"]):
        r = run_proc(*args, cwd=repo)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("error: "), r.stderr
        assert "Traceback" not in r.stderr


def test_traceback_only_with_verbose(repo: Path) -> None:
    (repo / ".dvlite" / "config").write_text("[core\n")
    r = run_proc("status", cwd=repo)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and "invalid TOML" in r.stderr
    r = run_proc("-v", "status", cwd=repo)
    assert r.returncode == 1 and "Traceback" in r.stderr
    assert r.stderr.splitlines()[-1].startswith("error: ")


def test_integrity_exit_3_and_quiet(repo: Path) -> None:
    gen(repo, {"a.bin": "a"})
    assert run("add", "a.bin").exit_code == 0
    from tests.helpers import object_path

    obj = object_path(repo, read_pointer(repo / "a.bin.dvl").oid)
    obj.chmod(0o644)
    obj.write_text("rot")
    r = run_proc("-q", "fsck", cwd=repo)
    assert r.returncode == 3 and r.stdout == ""


def test_version(repo: Path) -> None:
    r = run_proc("--version", cwd=repo)
    assert r.returncode == 0 and r.stdout.startswith("dvlite ")


def test_permission_denied_is_one_error_line(repo: Path) -> None:
    gen(repo, {"a.bin": "a"})
    if os.geteuid() == 0:
        chattr = subprocess.run(["chattr", "+i", str(repo)], capture_output=True, check=False)
        if chattr.returncode:
            pytest.skip("chattr +i not supported here")
        try:
            r = run_proc("add", "a.bin", cwd=repo)
        finally:
            subprocess.run(["chattr", "-i", str(repo)], check=True)
    else:
        repo.chmod(0o555)
        try:
            r = run_proc("add", "a.bin", cwd=repo)
        finally:
            repo.chmod(0o755)
    assert r.returncode == 1
    assert r.stderr.startswith("error: permission denied while writing"), r.stderr
    assert "Traceback" not in r.stderr
    assert not (repo / "a.bin.dvl").exists()


def test_git_missing_from_path(repo: Path) -> None:
    gen(repo, {"a.bin": "a"})
    r = run_proc("add", "a.bin", cwd=repo, env={"PATH": "/nonexistent"})
    assert r.returncode == 1
    assert r.stderr == "error: git is not installed or not on PATH\n"
    assert not (repo / "a.bin.dvl").exists()
