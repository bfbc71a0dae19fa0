"""A failing stage, Ctrl-C and kill -9 during repro: the lock stays valid and complete
for the stages that succeeded; running again finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dvlite.pipeline.locks import read_lock
from dvlite.workspace.repo import Repo
from tests.helpers import check_repo, run, run_proc
from tests.pipeline.util import PY, lock, ran, setup_steps, step

PIPELINE = f"""\
stages:
  a:
    cmd: {step("a", "a.txt", "in.txt")}
    deps: [in.txt]
    outs: [a.txt]
  b:
    cmd: {step("b", "b.txt", "a.txt")}
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: {step("c", "c.txt", "b.txt")}
    deps: [b.txt]
    outs: [c.txt]
"""


def test_failing_stage_stops_with_its_exit_code_and_keeps_the_valid_lock(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup_steps(repo, PIPELINE, {"in.txt": "in\n"})
    monkeypatch.setenv("STEP_FAIL", "b")
    r = run("repro")
    assert r.exit_code == 7
    assert "error: stage 'b' failed with exit code 7" in r.stderr
    assert ran(repo) == ["a"]
    assert sorted(lock(repo)) == ["a"]
    assert read_lock(repo, "dvlite.yaml")["a"].cmd.endswith("a a.txt in.txt")
    monkeypatch.delenv("STEP_FAIL")
    assert run("repro").exit_code == 0
    assert ran(repo) == ["b", "c"]
    check_repo(repo)


def test_failure_in_parallel_run_keeps_finished_siblings(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup_steps(repo, f"""\
stages:
  bad:
    cmd: {step("bad", "bad.txt")}
    outs: [bad.txt]
  good:
    cmd: {step("good", "good.txt")}
    outs: [good.txt]
  after:
    cmd: {step("after", "after.txt", "bad.txt", "good.txt")}
    deps: [bad.txt, good.txt]
    outs: [after.txt]
""")
    monkeypatch.setenv("STEP_FAIL", "bad")
    r = run("repro", "-j", "2")
    assert r.exit_code == 7
    assert sorted(lock(repo)) == ["good"]
    assert "after" not in ran(repo)


SLOW = """\
import os, sys, time
open("started", "w").write(str(os.getpid()))
try:
    time.sleep(60)
except KeyboardInterrupt:
    sys.exit(130)
open("b.txt", "w").write("late")
"""


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_mid_stage_stops_the_command_and_leaves_a_valid_lock(
        repo: Path, sig: signal.Signals) -> None:
    setup_steps(repo, PIPELINE.replace(step("b", "b.txt", "a.txt"), f"{PY} slow.py"),
                {"in.txt": "in\n", "slow.py": SLOW})
    proc = subprocess.Popen([sys.executable, "-m", "dvlite", "repro"], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marker = repo / "started"
    deadline = time.monotonic() + 60
    while not (marker.exists() and marker.read_text()):  # poll until the stage has started
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "stage never started"
        time.sleep(0.02)
    child = int(marker.read_text())
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, err  # 130, 143, 129
    assert "error: interrupted" in err
    assert "Traceback" not in err
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the stage's command was stopped too
    assert not (repo / "b.txt").exists()
    assert sorted(read_lock(repo, "dvlite.yaml")) == ["a"]
    assert not list(repo.glob("*.dvlite-tmp-*"))
    check_repo(repo)
    (repo / "dvlite.yaml").write_text(PIPELINE)
    r = run_proc("repro", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert sorted(read_lock(repo, "dvlite.yaml")) == ["a", "b", "c"]


@pytest.mark.crash
@pytest.mark.parametrize("point", ["repro.before_lock", "add.before_manifest",
                                   "odb.before_rename"])
def test_kill_9_during_repro_then_rerun_completes(repo: Path, point: str) -> None:
    setup_steps(repo, PIPELINE.replace("a.txt]", "a.txt]\n").replace(
        step("a", "a.txt", "in.txt"), step("a", "adir/", "in.txt")).replace(
        "outs: [a.txt]", "outs: [adir]").replace("deps: [a.txt]", "deps: [adir]").replace(
        step("b", "b.txt", "a.txt"), step("b", "b.txt", "adir/a.txt")), {"in.txt": "in\n"})
    r = run_proc("repro", cwd=repo, env={"DVLITE_FAULTPOINT": point})
    assert r.returncode == -signal.SIGKILL
    entries = read_lock(repo, "dvlite.yaml") if (repo / "dvlite.lock").exists() else {}
    assert "a" not in entries
    r = run_proc("repro", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert sorted(read_lock(repo, "dvlite.yaml")) == ["a", "b", "c"]
    # a kill -9 may leave a temp file in the cache's temp area; gc removes those
    handle = Repo.find(repo)
    handle.cache.clean_temp(older_than=0)
    handle.close()
    check_repo(repo)
    r = run_proc("repro", cwd=repo)
    assert "nothing to run" in r.stdout


def test_missing_output_in_a_parallel_run_lets_the_other_command_finish(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  lazy:
    cmd: echo nothing
    outs: [never.txt]
  slow:
    cmd: {PY} -c "import time; time.sleep(0.5)" && {step("slow", "slow.txt")}
    outs: [slow.txt]
""")
    r = run("repro", "-j", "2")
    assert r.exit_code == 1
    assert "stage 'lazy' did not produce its output 'never.txt'" in r.stderr
    assert ran(repo) == ["slow"]
    assert sorted(lock(repo)) == ["slow"]


@pytest.mark.crash
def test_kill_9_while_restoring_from_run_cache_then_rerun_completes(repo: Path) -> None:
    setup_steps(repo, PIPELINE, {"in.txt": "in\n"})
    assert run_proc("repro", cwd=repo).returncode == 0
    ran(repo)
    before = (repo / "dvlite.lock").read_bytes()
    for name in ("a.txt", "b.txt", "c.txt"):
        (repo / name).unlink()
    r = run_proc("repro", cwd=repo, env={"DVLITE_FAULTPOINT": "checkout.before_rename"})
    assert r.returncode == -signal.SIGKILL
    assert (repo / "dvlite.lock").read_bytes() == before
    r = run_proc("repro", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("from run cache") == 3
    assert ran(repo) == []
    assert (repo / "c.txt").read_text() == "in\na\nb\nc\n"
    assert (repo / "dvlite.lock").read_bytes() == before
    assert not list(repo.glob(".*dvlite-tmp-*"))


MANY = """\
import pathlib, sys
data = pathlib.Path("in.txt").read_text()
out = pathlib.Path("many"); out.mkdir(exist_ok=True)
for i in range(400):
    (out / f"{i:03}.txt").write_text(f"{i} {data}")
"""


def _cache_objects(repo: Path) -> int:
    return sum(1 for p in (repo / ".dvlite" / "cache" / "xxh128").glob("*/*") if p.is_file())


def test_gc_during_repro_never_deletes_the_outputs_just_stored(repo: Path) -> None:
    # repro holds at the point where the 401 objects are stored and the lock entry not
    # yet written; a gc started there must wait for the entry, not delete the objects
    setup_steps(repo, f"stages:\n  many:\n    cmd: {PY} many.py\n    deps: [in.txt]\n"
                "    outs: [many]\n", {"many.py": MANY, "in.txt": "v1\n"})
    assert run("config", "core.lock_timeout", "300").exit_code == 0
    env = {**os.environ, "DVLITE_FAULTPOINT": "repro.after_store",
           "DVLITE_FAULTPOINT_SLEEP": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "dvlite", "repro"], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _cache_objects(repo) < 401 and proc.poll() is None:
        assert time.monotonic() < deadline, "repro never stored its outputs"
        time.sleep(0.02)
    gc = run("gc", "--workspace", "--json")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert gc.exit_code == 0, gc.stderr
    assert '"cache": []' in gc.stdout
    assert _cache_objects(repo) == 401
    assert run("fsck").exit_code == 0
    assert run("status", "--exit-code").exit_code == 0
    check_repo(repo)
