"""kill -9 at named points of push and pull (F2, F3, F21): the remote and the cache hold
only whole, correct objects, no manifest without its files, and a re-run finishes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid, hash_bytes
from tests.helpers import check_repo, gen, git, is_store_temp, run, run_proc, snapshot, store_temps
from tests.remote.conftest import RemoteHandle

PUSH_POINTS = ["push.before_upload", "push.after_object", "push.before_manifests",
               "push.after_all", "odb.after_temp_write", "odb.before_rename",
               "pack.before_index"]
PULL_POINTS = ["fetch.before_download", "fetch.after_object", "fetch.before_manifests",
               "odb.after_temp_write", "odb.before_rename", "s3.after_get",
               "pack.after_read", "checkout.before_rename"]
# Points only one kind of remote passes through.
NOT_ON = {("local", "s3.after_get")}


def _data(repo: Path) -> dict[str, bytes | str]:
    gen(repo, {"d": {f"f{i}.bin": os.urandom(2000 + i) for i in range(6)},
               "big.bin": os.urandom(1_500_000)})  # past the pack limit: a loose object
    assert run("add", "d", "big.bin").exit_code == 0
    git(repo, "commit", "-qm", "data")
    return {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/")}


def _check_remote(remote: RemoteHandle) -> None:
    """Every object whole and correct; every manifest's files present."""
    names = set()
    for key in remote.objects():
        data = remote.read(key)
        algo, _, name = key.split("/")
        assert hash_bytes(algo, data).hex == name, f"partial or corrupt object {key}"
        names.add(name)
    for key in remote.objects():
        data = remote.read(key)
        if data.startswith(b'{"format": '):
            manifest = Manifest.from_bytes(data, key)
            lacking = [e.relpath for e in manifest if e.oid.hex not in names]
            assert not lacking, f"manifest {key} on the remote without {lacking}"


def _check_cache(repo: Path) -> None:
    cache = repo / ".dvlite" / "cache" / "xxh128"
    for path in cache.rglob("*") if cache.exists() else []:
        if path.is_file() and not is_store_temp(path.name):
            assert hash_bytes("xxh128", path.read_bytes()).hex == path.name


def _age_temp_files(repo: Path) -> None:
    past = time.time() - 7200
    for p in store_temps(repo / ".dvlite" / "cache"):
        os.utime(p, (past, past))


@pytest.mark.crash
@pytest.mark.e2e
@pytest.mark.parametrize("point", PUSH_POINTS)
def test_kill_during_push_then_rerun(repo, remote: RemoteHandle, point):
    before = _data(repo)
    proc = run_proc("push", "-j", "2", cwd=repo, env={"DVLITE_FAULTPOINT": point})
    if point.startswith("odb.") and remote.kind == "s3":
        assert proc.returncode == 0, proc.stderr  # no local store write on an S3 push
    else:
        assert proc.returncode == -signal.SIGKILL, proc.stderr
    _check_remote(remote)
    if remote.kind == "local" and point.startswith("odb."):
        assert [k for k in remote.list_keys() if is_store_temp(k)]  # killed mid-copy
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["failed"] == 0
    assert len(remote.objects()) == 8  # 6 files + manifest + big.bin
    _check_remote(remote)
    assert run("status", "--remote", "--exit-code").exit_code == 0
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "d")
    (repo / "big.bin").unlink()
    assert run("pull").exit_code == 0
    assert {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/")} == before
    # F21: a killed copy into a folder remote leaves at most a temp file, which gc removes
    assert run("gc", "--remote", "--now", "--yes").exit_code == 0
    assert not [k for k in remote.list_keys() if is_store_temp(k)]
    assert len(remote.objects()) == 8


@pytest.mark.crash
@pytest.mark.e2e
@pytest.mark.parametrize("point", PULL_POINTS)
def test_kill_during_pull_then_rerun(repo, remote: RemoteHandle, point):
    before = _data(repo)
    assert run("push").exit_code == 0
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "d")
    (repo / "big.bin").unlink()
    proc = run_proc("pull", "-j", "2", cwd=repo, env={"DVLITE_FAULTPOINT": point})
    if (remote.kind, point) in NOT_ON:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == -signal.SIGKILL, proc.stderr
    _check_cache(repo)
    for rel, data in before.items():  # a workspace file is absent or whole, never partial
        path = repo / rel
        if path.exists() and not rel.endswith((".dvl", ".gitignore")):
            assert path.read_bytes() == data
    r = run("pull")
    assert r.exit_code == 0, r.stderr
    assert {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/")} == before
    _age_temp_files(repo)
    assert run("gc").exit_code == 0  # removes what the killed run left in the temp area
    check_repo(repo)


def test_manifest_is_never_pushed_before_its_files(repo, remote: RemoteHandle):
    """A file that cannot be read blocks its folder's manifest, not the other objects."""
    _data(repo)
    manifest_oid = Oid.parse(
        (repo / "d.dvl").read_text().split("hash: ")[1].split()[0])
    m = Manifest.from_bytes((repo / ".dvlite" / "cache" / "xxh128" / manifest_oid.hex[:2] /
                             manifest_oid.hex).read_bytes(), "m")
    victim = next(iter(m)).oid
    (repo / ".dvlite" / "cache" / "xxh128" / victim.hex[:2] / victim.hex).unlink()
    r = run("push", "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["transferred"] == 6  # 5 folder files + big.bin; no manifest
    assert {f["path"] for f in doc["failures"]} == {"d", f"d/{next(iter(m)).relpath}"}
    _check_remote(remote)
    assert manifest_oid.hex not in str(remote.objects())


@pytest.mark.crash
@pytest.mark.e2e
@pytest.mark.parametrize("point", ["gc.after_local_delete", "gc.after_remote_delete"])
def test_kill_during_gc_then_rerun(repo, remote: RemoteHandle, point):
    before = _data(repo)
    (repo / "big.bin").write_bytes(b"old version")
    assert run("add", "big.bin").exit_code == 0
    assert run("push").exit_code == 0
    (repo / "big.bin").write_bytes(before["big.bin"])  # type: ignore[arg-type]
    assert run("add", "big.bin").exit_code == 0  # "old version" is now garbage
    proc = run_proc("gc", "--remote", "--now", "--yes", cwd=repo,
                    env={"DVLITE_FAULTPOINT": point})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    check_repo(repo)  # nothing reachable was deleted
    _check_remote(remote)
    r = run("gc", "--remote", "--now", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    old = hash_bytes("xxh128", b"old version").hex
    assert old not in str(remote.objects())
    assert not list((repo / ".dvlite" / "cache").rglob(old))
    assert run("push").exit_code == 0
    assert run("fsck", "--remote").exit_code == 0


@pytest.mark.e2e
def test_two_pulls_at_once_share_the_cache(repo, remote: RemoteHandle):
    """Fetches share the cache without the lock (writes are idempotent renames); the
    checkouts take turns."""
    import subprocess
    import sys

    before = _data(repo)
    assert run("push").exit_code == 0
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "d")
    (repo / "big.bin").unlink()
    procs = [subprocess.Popen([sys.executable, "-m", "dvlite", "pull", "-j", "4"], cwd=repo,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/")} == before
    check_repo(repo)
