"""A killed or interrupted `exp run` records no experiment, and running it again does; a
Ctrl-C of `exp run --run-all` stops every experiment running, starts no other, and leaves
them all queued; while one runs, `exp show` says `running`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.exp.util import exp_repo, head
from tests.helpers import check_repo, git, run, run_proc, wait_for

pytestmark = pytest.mark.e2e


def _refs(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname)", "refs/exps", "refs/exps-queue",
               "refs/exps-failed").split()


def _held(repo: Path, args: list[str], mark: Path) -> subprocess.Popen[str]:
    """`dvlite ARGS` (and the `dvlite` it starts) held at `exp.before_ref`."""
    env = {**os.environ, "DVLITE_FAULTPOINT": "exp.before_ref",
           "DVLITE_FAULTPOINT_SLEEP": "300", "DVLITE_FAULTPOINT_MARK": str(mark)}
    proc = subprocess.Popen([sys.executable, "-m", "dvlite", *args], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def there() -> bool:
        assert proc.poll() is None, proc.communicate()
        return mark.exists()

    wait_for(there, "the experiment to reach its ref")
    return proc


@pytest.mark.crash
@pytest.mark.parametrize("point", ["repro.before_lock", "exp.before_ref"])
def test_killed_exp_run_records_nothing_and_runs_again(repo: Path, point: str) -> None:
    base = exp_repo(repo)
    args = ("exp", "run", "-n", "lr5", "-S", "train.lr=0.5")
    r = run_proc(*args, cwd=repo, env={"DVLITE_FAULTPOINT": point})
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert _refs(repo) == []
    check_repo(repo)
    r = run_proc(*args, "--json", cwd=repo)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["name"] == "lr5" and doc["baseline"] == base
    assert _refs(repo) == ["refs/exps/lr5"]
    assert json.loads(git(repo, "show", "refs/exps/lr5:scores.json"))["acc"] == 0.5
    assert head(repo) == base
    check_repo(repo)


def test_interrupted_exp_run_says_so_and_records_nothing(repo: Path) -> None:
    exp_repo(repo)
    proc = _held(repo, ["exp", "run", "-n", "lr5", "-S", "train.lr=0.5"], repo.parent / "m")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.splitlines()[0] == "error: interrupted: no experiment was recorded", err
    assert _refs(repo) == []
    check_repo(repo)


def test_ctrl_c_of_run_all_leaves_the_queue_as_it_was(repo: Path) -> None:
    exp_repo(repo)
    for lr in ("0.1", "0.2"):
        assert run("exp", "run", "--queue", "-n", f"q{lr[-1]}", "-S", f"train.lr={lr}"
                   ).exit_code == 0
    queued = _refs(repo)
    proc = _held(repo, ["exp", "run", "--run-all", "-j", "1"], repo.parent / "m")
    shown = json.loads(run("exp", "show", "--json").stdout)
    assert {r["name"]: r["state"] for r in shown[1:]} == {"q1": "running", "q2": "queued"}
    os.kill(proc.pid, signal.SIGINT)  # this process only: it forwards the interrupt
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "error: interrupted: the experiments not finished stay queued" in err
    assert _refs(repo) == queued  # nothing recorded, nothing failed, q2 never started
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    shown = json.loads(run("exp", "show", "--json").stdout)
    assert [r["state"] for r in shown[1:]] == ["queued", "queued"]
    r = run_proc("exp", "run", "--run-all", "-j", "2", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert _refs(repo) == ["refs/exps/q1", "refs/exps/q2"]
    check_repo(repo)


def test_a_queued_experiment_claimed_by_a_live_run_all_is_skipped(repo: Path) -> None:
    exp_repo(repo)
    for name in ("q1", "q2"):
        assert run("exp", "run", "--queue", "-n", name, "-S", "train.lr=0.3").exit_code == 0
    proc = _held(repo, ["exp", "run", "--run-all", "-j", "1"], repo.parent / "m")
    try:
        # q1 is held by the first run: this one runs q2 only
        r = run("exp", "run", "--run-all", "--json")
        assert r.exit_code == 0, r.stderr
        assert [(d["name"], d["state"]) for d in json.loads(r.stdout)] == [
            ("q1", "running"), ("q2", "success")]
    finally:
        os.kill(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
    assert _refs(repo) == ["refs/exps-queue/q1", "refs/exps/q2"]
