"""SIGTERM and SIGHUP (a CI timeout, a closed terminal) in the middle of every long
command: dvlite exits with 128 + the signal and one `error: interrupted` line, leaves the
cache, the remote and the workspace consistent, and running the command again finishes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvlite.pipeline.locks import read_lock
from tests.func.util import user_snapshot
from tests.helpers import (
    check_repo,
    folder_remote_oids,
    gen,
    git,
    group_members,
    run,
    run_proc,
    store_temps,
    wait_for,
)
from tests.pipeline.util import BLOCK, PY, setup_steps

pytestmark = pytest.mark.e2e

SIGNALS = [signal.SIGTERM, signal.SIGHUP]
DATA = {"data": {f"f{i:02}.txt": f"file {i}\n" * 50 for i in range(40)},
        "model.bin": os.urandom(3 << 20)}


def ok(*args: str, cwd: Path) -> None:
    r = run(*args, cwd=cwd)
    assert r.exit_code == 0, (args, r.stdout, r.stderr)


def store(repo: Path) -> Path:
    return repo.parent / "store"


def added(repo: Path) -> None:
    gen(repo, DATA)
    ok("add", "data", "model.bin", cwd=repo)
    ok("remote", "add", "origin", str(store(repo)), "--default", cwd=repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "data")


def pushed_and_wiped(repo: Path) -> None:
    added(repo)
    ok("push", cwd=repo)
    shutil.rmtree(repo / ".dvlite" / "cache")


def pushed_and_deleted(repo: Path) -> None:
    pushed_and_wiped(repo)
    shutil.rmtree(repo / "data")
    (repo / "model.bin").unlink()


def deleted(repo: Path) -> None:
    added(repo)
    shutil.rmtree(repo / "data")
    (repo / "model.bin").unlink()


def with_garbage(repo: Path) -> None:
    added(repo)
    gen(repo, {"junk": {f"j{i}": f"junk {i}\n" for i in range(200)}})
    ok("add", "junk", cwd=repo)
    git(repo, "rm", "-q", "--cached", "junk.dvl")
    (repo / "junk.dvl").unlink()
    shutil.rmtree(repo / "junk")


def fresh(repo: Path) -> None:
    gen(repo, DATA)


def workspace_is_whole(repo: Path) -> None:
    snap = user_snapshot(repo)
    for name, data in DATA.items():
        if isinstance(data, dict):
            for sub, text in data.items():
                assert snap[f"{name}/{sub}"] == text.encode()
        else:
            assert snap[name] == data


def remote_is_whole(repo: Path) -> None:
    cache = repo / ".dvlite" / "cache"
    local = {p.name for p in cache.glob("xxh128/??/*")}
    assert local <= folder_remote_oids(store(repo))
    assert run_proc("fsck", "--remote", cwd=repo).returncode == 0


def no_remote_temps(repo: Path) -> None:
    assert store_temps(store(repo)) == []


def nothing(repo: Path) -> None:
    del repo


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    point: str
    prepare: Callable[[Path], None]
    after: Callable[[Path], None]  # checks after the interrupted run
    done: Callable[[Path], None]  # checks after the re-run
    complete: bool = True  # the cache holds every object the pointers name, even midway


CASES = {
    "add": Case(("add", "data", "model.bin"), "odb.after_temp_write", fresh, nothing,
                workspace_is_whole),
    "add-pointer": Case(("add", "data", "model.bin"), "add.after_cache", fresh, nothing,
                        workspace_is_whole),
    "push-objects": Case(("push",), "push.after_object", added, no_remote_temps,
                         remote_is_whole),
    "push-manifests": Case(("push",), "push.before_manifests", added, no_remote_temps,
                           remote_is_whole),
    "fetch": Case(("fetch",), "fetch.after_object", pushed_and_wiped, nothing, nothing,
                  complete=False),
    "pull": Case(("pull",), "fetch.before_manifests", pushed_and_deleted, nothing,
                 workspace_is_whole, complete=False),
    "checkout": Case(("checkout",), "checkout.before_rename", deleted, nothing,
                     workspace_is_whole),
    "gc": Case(("gc",), "gc.after_local_delete", with_garbage, nothing, workspace_is_whole),
}


def interrupt_at(repo: Path, point: str, sig: signal.Signals, *args: str,
                 cwd: Path | None = None) -> tuple[int, str]:
    """Run `dvlite ARGS` held at `point`, send `sig` once it is there; (code, stderr)."""
    mark = repo.parent / "held"
    env = {**os.environ, "DVLITE_FAULTPOINT": point, "DVLITE_FAULTPOINT_SLEEP": "300",
           "DVLITE_FAULTPOINT_MARK": str(mark)}
    proc = subprocess.Popen([sys.executable, "-m", "dvlite", *args], cwd=cwd or repo,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)

    def held() -> bool:
        assert proc.poll() is None, proc.communicate()
        return mark.exists()

    wait_for(held, f"dvlite {' '.join(args)} to reach {point}")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize("sig", SIGNALS, ids=["TERM", "HUP"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_signal_mid_command_then_rerun(repo: Path, name: str, sig: signal.Signals) -> None:
    case = CASES[name]
    case.prepare(repo)
    code, err = interrupt_at(repo, case.point, sig, *case.args)
    assert code == 128 + sig, err
    assert err.splitlines() == ["error: interrupted"], err
    check_repo(repo, complete=case.complete)
    case.after(repo)
    r = run_proc(*case.args, cwd=repo)
    assert r.returncode == 0, r.stderr
    check_repo(repo)
    case.done(repo)
    assert run_proc("status", "--exit-code", cwd=repo).returncode == 0


@pytest.mark.parametrize("sig", SIGNALS, ids=["TERM", "HUP"])
def test_signal_mid_get(repo: Path, tmp_path: Path, sig: signal.Signals) -> None:
    pushed_and_wiped(repo)
    out = tmp_path / "export"
    out.mkdir()
    args = ("get", str(repo), "data", "-o", "data")
    code, err = interrupt_at(repo, "get.after_object", sig, *args, cwd=out)
    assert code == 128 + sig, err
    assert err.splitlines() == ["error: interrupted"], err
    assert not list(out.rglob("*dvlite-tmp*"))
    assert not (out / "data").exists()  # nothing half-exported under the final name
    r = run_proc(*args, cwd=out)
    assert r.returncode == 0, r.stderr
    assert {p.name: p.read_text() for p in (out / "data").iterdir()} == DATA["data"]


@pytest.mark.parametrize("sig", SIGNALS, ids=["TERM", "HUP"])
def test_signal_mid_stage_stops_the_stage_and_its_child(repo: Path,
                                                        sig: signal.Signals) -> None:
    setup_steps(repo, f"stages:\n  a:\n    cmd: {PY} block.py a\n    outs: [a.txt]\n",
                {"block.py": BLOCK})
    proc = subprocess.Popen([sys.executable, "-m", "dvlite", "repro"], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    marker = repo / "started-a"

    def started() -> bool:
        assert proc.poll() is None, proc.communicate()
        return marker.exists()

    wait_for(started, "the stage to start")
    pgid = json.loads(marker.read_text())["pgid"]
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    # the stage's own output (a KeyboardInterrupt from SIGINT) comes first
    errors = [line for line in err.splitlines() if line.startswith(("error:", "hint:"))]
    assert errors[0].startswith("error: interrupted"), err
    assert len(errors) == 2, err
    assert group_members(pgid) == []  # the stage and its child, stopped before dvlite exits
    assert not (repo / "dvlite.lock").exists()
    check_repo(repo)
    (repo / "go").write_text("")
    r = run_proc("repro", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert sorted(read_lock(repo, "dvlite.yaml")) == ["a"]
