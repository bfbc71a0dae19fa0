"""kill -9 of `repro` mid-stage: the stage command and its own children die with dvlite
(parent-death signal, the group's guard), and what survives even that is killed by the
next run before it starts, so the re-run never races with an orphan writing outputs."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dvlite.pipeline.locks import read_lock
from tests.helpers import check_repo, group_members, run_proc, wait_for
from tests.pipeline.util import BLOCK, PY, setup_steps

pytestmark = [pytest.mark.e2e, pytest.mark.crash]

PIPELINE = """\
stages:
  a:
    cmd: {py} block.py a
    outs: [a.txt]
  b:
    cmd: {py} block.py b
    outs: [b.txt]
"""


@pytest.fixture(autouse=True)
def no_leftovers(repo: Path) -> Iterator[None]:
    """Whatever a failing test leaves running is killed, not left for the next tests."""
    yield
    for marker in repo.glob("started-*"):
        for pid in group_members(json.loads(marker.read_text())["pgid"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def guards_of(pgid: int) -> list[int]:
    """The guard process(es) watching group `pgid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"dvlite-guard" in argv and str(pgid).encode() in argv:
            found.append(int(entry.name))
    return found


def start_repro(repo: Path, *args: str) -> subprocess.Popen[str]:
    # output to a file, not a pipe: a surviving orphan would hold a pipe open
    with open(repo.parent / "repro.log", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "dvlite", "repro", *args], cwd=repo,
                                stdout=log, stderr=subprocess.STDOUT, text=True)


def started(repo: Path, proc: subprocess.Popen[str], name: str) -> dict[str, object]:
    marker = repo / f"started-{name}"

    def ready() -> bool:
        assert proc.poll() is None, (repo.parent / "repro.log").read_text()
        return marker.exists()

    wait_for(ready, f"stage {name} to start")
    body = json.loads(marker.read_text())
    assert isinstance(body, dict)
    return body


def armed(repo: Path, pgid: object) -> None:
    """Wait until dvlite has set up the group's guard and record (it does so right after
    starting the command, which may already be running)."""
    record = repo / ".dvlite" / "running" / str(pgid)
    assert isinstance(pgid, int)
    wait_for(lambda: len(guards_of(pgid)) == 1 and record.is_file(), "guard and record")


def kill_dvlite(proc: subprocess.Popen[str], seed: int) -> None:
    # a seeded pause puts the kill at different moments of the stage's writing loop
    time.sleep(random.Random(seed).random() * 0.1)
    proc.kill()
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def rerun_completes(repo: Path, stages: list[str]) -> None:
    (repo / "go").write_text("")
    r = run_proc("repro", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert sorted(read_lock(repo, "dvlite.yaml")) == stages
    for name in stages:
        assert (repo / f"{name}.txt").read_text() == f"done {name}\n"
    assert not list((repo / ".dvlite" / "running").iterdir())
    check_repo(repo)


def setup(repo: Path, only_a: bool = True) -> None:
    text = PIPELINE.format(py=PY)
    if only_a:
        text = text.split("  b:")[0]
    setup_steps(repo, text, {"block.py": BLOCK})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_takes_the_stage_and_its_child_along(repo: Path, seed: int) -> None:
    setup(repo)
    proc = start_repro(repo)
    stage = started(repo, proc, "a")
    pgid = stage["pgid"]
    assert isinstance(pgid, int)
    assert set(stage["pids"]) < set(group_members(pgid))  # type: ignore[arg-type]
    armed(repo, pgid)
    kill_dvlite(proc, seed)
    wait_for(lambda: not group_members(pgid), "the stage's group to die", timeout=30)
    wait_for(lambda: not guards_of(pgid), "the guard to exit", timeout=30)
    rerun_completes(repo, ["a"])


@pytest.mark.parametrize("seed", [4, 5])
def test_kill_9_during_two_parallel_stages(repo: Path, seed: int) -> None:
    setup(repo, only_a=False)
    proc = start_repro(repo, "-j", "2")
    groups = [started(repo, proc, name)["pgid"] for name in ("a", "b")]
    for pgid in groups:
        armed(repo, pgid)
    kill_dvlite(proc, seed)
    for pgid in groups:
        assert isinstance(pgid, int)
        wait_for(lambda g=pgid: not group_members(g), f"group {pgid} to die", timeout=30)
    rerun_completes(repo, ["a", "b"])


@pytest.mark.parametrize("seed", [6, 7])
def test_survivors_of_a_killed_guard_are_killed_by_the_rerun(repo: Path, seed: int) -> None:
    """The guard killed along with dvlite (say, by the OOM killer): the shell still dies
    (parent-death signal), its child lives on until the next run kills it first."""
    setup(repo)
    proc = start_repro(repo)
    stage = started(repo, proc, "a")
    pgid = stage["pgid"]
    assert isinstance(pgid, int)
    armed(repo, pgid)
    guards = guards_of(pgid)
    os.kill(guards[0], signal.SIGKILL)
    kill_dvlite(proc, seed)
    records = list((repo / ".dvlite" / "running").iterdir())
    assert [p.name for p in records] == [str(pgid)]
    child = stage["pids"][1]  # type: ignore[index]
    assert child in group_members(pgid)  # only the record can find it now
    rerun_completes(repo, ["a"])
    assert not group_members(pgid)


def test_a_reused_group_id_without_the_token_is_left_alone(repo: Path) -> None:
    """A stale record whose group id now belongs to an unrelated process group: the
    re-run drops the record and kills nothing."""
    setup(repo)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                 start_new_session=True)
    try:
        running = repo / ".dvlite" / "running"
        running.mkdir(parents=True)
        (running / str(bystander.pid)).write_text(json.dumps(
            {"owner": 2 ** 22 + 1, "owner_start": 0, "token": "0" * 32}))
        rerun_completes(repo, ["a"])
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
