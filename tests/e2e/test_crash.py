"""kill -9 at every named crash point of `add` and `checkout` (RELIABILITY F1, F3): the
repository stays consistent, user bytes are intact, and running the command again
finishes the job."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.func.util import user_snapshot
from tests.helpers import check_repo, gen, git, read_pointer, run, run_proc, store_temps

pytestmark = [pytest.mark.e2e, pytest.mark.crash]

ADD_POINTS = ["odb.after_temp_write", "odb.before_rename", "add.before_manifest",
              "add.after_cache", "add.after_pointer", "add.before_stage"]
CHECKOUT_POINTS = ["checkout.before_writes", "checkout.before_rename", "checkout.after_rename"]
V1 = {"data": {"a.txt": "alpha " * 100, "sub": {"b.bin": bytes(range(256)) * 8}},
      "model.bin": b"weights-v1" * 1000}


def check_after_crash(repo: Path) -> None:
    """`check_repo`, allowing the temp files a killed writer leaves in the cache (gc
    removes them): nowhere else, and never at an object's final name."""
    for leftover in store_temps(repo / ".dvlite" / "cache"):
        leftover.unlink()
    check_repo(repo)


def kill_at(repo: Path, point: str, *args: str) -> None:
    r = run_proc(*args, cwd=repo, env={"DVLITE_FAULTPOINT": point})
    assert r.returncode == -signal.SIGKILL, (point, r.returncode, r.stderr)


def workspace(repo: Path) -> dict[str, bytes | str]:
    snap = user_snapshot(repo)
    return {k: v for k, v in snap.items() if k.startswith(("data/", "model.bin"))
            and not k.endswith(".dvl") and ".dvlite-tmp-" not in k}


@pytest.mark.parametrize("point", ADD_POINTS)
def test_add_killed_then_rerun(repo: Path, tmp_path: Path, point: str) -> None:
    gen(repo, V1)
    reference = tmp_path / "reference"
    shutil.copytree(repo, reference, symlinks=True)
    assert run("add", "data", "model.bin", cwd=reference).exit_code == 0
    before = workspace(repo)

    kill_at(repo, point, "add", "data", "model.bin")
    assert workspace(repo) == before  # user bytes untouched
    for pf in repo.glob("*.dvl"):  # a pointer only ever names objects that are cached
        read_pointer(pf)
    check_after_crash(repo)

    r = run_proc("add", "data", "model.bin", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert workspace(repo) == before
    for name in ("data.dvl", "model.bin.dvl", ".gitignore"):
        assert (repo / name).read_bytes() == (reference / name).read_bytes(), name
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert staged == [".gitignore", "data.dvl", "model.bin.dvl"]
    assert run("status", "--exit-code").exit_code == 0
    check_after_crash(repo)


@pytest.mark.parametrize("point", ["odb.after_temp_write", "add.after_cache", "add.after_pointer"])
def test_readd_after_edit_killed(repo: Path, point: str) -> None:
    gen(repo, V1)
    assert run("add", "data", "model.bin").exit_code == 0
    git(repo, "commit", "-qm", "v1")
    old = {p: (repo / p).read_bytes() for p in ("data.dvl", "model.bin.dvl")}
    (repo / "model.bin").write_bytes(b"weights-v2" * 1000)
    (repo / "data" / "a.txt").write_text("edited")
    before = workspace(repo)
    kill_at(repo, point, "add", "model.bin", "data")
    assert workspace(repo) == before
    check_after_crash(repo)
    # the old pointer still names cached objects, so a checkout could go back to it
    for name, data in old.items():
        if (repo / name).read_bytes() == data:
            assert read_pointer(repo / name)
    assert run_proc("add", "model.bin", "data", cwd=repo).returncode == 0
    assert run("status", "--exit-code").exit_code == 0
    assert workspace(repo) == before
    check_after_crash(repo)


@pytest.fixture
def two_versions(repo: Path) -> tuple[Path, dict[str, bytes], dict[str, bytes | str]]:
    """Pointers at v1 in the workspace files' place of v2: a checkout has work to do."""
    gen(repo, V1)
    assert run("add", "data", "model.bin").exit_code == 0
    v1_files = workspace(repo)
    v1_pointers = {p: (repo / p).read_bytes() for p in ("data.dvl", "model.bin.dvl")}
    (repo / "model.bin").write_bytes(b"weights-v2" * 1000)
    (repo / "data" / "a.txt").write_text("v2")
    (repo / "data" / "sub" / "new.txt").write_text("only in v2")
    (repo / "data" / "sub" / "b.bin").unlink()
    assert run("add", "data", "model.bin").exit_code == 0
    for name, data in v1_pointers.items():
        (repo / name).write_bytes(data)
    return repo, v1_pointers, v1_files


@pytest.mark.parametrize("point", CHECKOUT_POINTS)
def test_checkout_killed_then_rerun(
    two_versions: tuple[Path, dict[str, bytes], dict[str, bytes | str]], point: str
) -> None:
    repo, _, v1_files = two_versions
    v2_files = workspace(repo)
    kill_at(repo, point, "checkout")
    # every workspace file is whole: the v1 or the v2 version, never a part
    now = workspace(repo)
    for path, data in now.items():
        assert data in (v1_files.get(path), v2_files.get(path)), path
    check_after_crash_allowing_workspace_temps(repo)
    r = run_proc("checkout", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert workspace(repo) == v1_files
    assert run("status", "--exit-code").exit_code == 0
    check_after_crash(repo)


def check_after_crash_allowing_workspace_temps(repo: Path) -> None:
    """After a kill mid-checkout, only hidden temp files beside the targets may be left."""
    for stray in repo.rglob("*.dvlite-tmp-*"):
        assert stray.name.startswith("."), stray
        assert ".dvlite" not in stray.relative_to(repo).parts


@pytest.mark.parametrize("point", ["checkout.before_writes", "checkout.before_rename"])
def test_forced_checkout_killed_keeps_the_user_edit(repo: Path, point: str) -> None:
    gen(repo, V1)
    assert run("add", "model.bin").exit_code == 0
    (repo / "model.bin").write_bytes(b"my precious edit")
    kill_at(repo, point, "checkout", "--force")
    # the edit was saved into the cache before anything was replaced
    from dvlite.core.oid import hash_bytes
    from tests.helpers import object_path

    saved = object_path(repo, hash_bytes("xxh128", b"my precious edit"))
    assert saved.read_bytes() == b"my precious edit"
    assert run_proc("checkout", "--force", cwd=repo).returncode == 0
    assert (repo / "model.bin").read_bytes() == V1["model.bin"]
    check_after_crash(repo)


def test_file_changing_while_added_is_refused(repo: Path) -> None:
    gen(repo, {"grow.log": "line\n" * 1000})
    proc = subprocess.Popen(
        [sys.executable, "-m", "dvlite", "add", "grow.log"], cwd=repo, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "DVLITE_FAULTPOINT": "odb.after_temp_write",
             "DVLITE_FAULTPOINT_SLEEP": "4"})
    cache = repo / ".dvlite" / "cache"
    deadline = time.monotonic() + 30
    while not store_temps(cache):  # the copy has started
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    with open(repo / "grow.log", "a") as f:
        f.write("one more line\n")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.startswith(f"error: '{repo / 'grow.log'}' changed while it was being added")
    assert not (repo / "grow.log.dvl").exists()
    check_after_crash(repo)
    assert run("add", "grow.log").exit_code == 0
    assert read_pointer(repo / "grow.log.dvl").size == 5000 + 14


@pytest.mark.parametrize("point", ["checkout.before_rename", "checkout.after_rename"])
def test_add_in_hardlink_mode_killed_while_relinking(repo: Path, point: str) -> None:
    assert run("config", "cache.type", "hardlink").exit_code == 0
    gen(repo, V1)
    before = workspace(repo)
    kill_at(repo, point, "add", "data", "model.bin")
    assert workspace(repo) == before  # each file: the original or its link, same bytes
    check_after_crash_allowing_workspace_temps(repo)
    r = run_proc("add", "data", "model.bin", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert workspace(repo) == before
    assert (repo / "model.bin").stat().st_nlink == 2  # linked to its cache object
    assert run("status", "--exit-code").exit_code == 0
    check_after_crash(repo)
