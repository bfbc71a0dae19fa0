"""push / fetch / pull through the CLI, on a local-folder remote and on S3 (moto)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers import check_repo, gen, git, read_pointer, run, snapshot
from tests.remote.conftest import RemoteHandle

DATA = {
    "data": {"a.txt": "alpha\n", "sub": {"b.bin": b"\x00\x01" * 500, "c.txt": "gamma"}},
    "model.bin": b"weights" * 100,
}


def _setup(repo: Path) -> dict[str, bytes | str]:
    gen(repo, DATA)
    assert run("add", "data", "model.bin").exit_code == 0
    git(repo, "commit", "-qm", "data")
    return {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/")}


def _wipe(repo: Path) -> None:
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "data")
    (repo / "model.bin").unlink()


def _object_key(repo: Path, pointer: str) -> str:
    oid = read_pointer(repo / pointer).oid
    return f"{oid.algo}/{oid.hex[:2]}/{oid.hex}"


def test_push_wipe_pull_is_byte_identical(repo, remote: RemoteHandle):
    before = _setup(repo)
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["transferred"] == 5 and summary["failed"] == 0  # 4 files + 1 manifest
    assert len(remote.objects()) == 5
    assert "dvlite-format" in remote.list_keys()
    _wipe(repo)
    r = run("pull", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 5
    after = {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/")}
    assert after == before
    check_repo(repo)


def test_noop_push_and_pull(repo, remote: RemoteHandle):
    _setup(repo)
    assert run("push").exit_code == 0
    r = run("push", "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["transferred"] == 0
    r = run("pull")
    assert r.exit_code == 0 and "up to date" in r.stdout


def test_push_skips_what_the_remote_already_has(repo, remote: RemoteHandle):
    _setup(repo)
    assert run("push").exit_code == 0
    (repo / ".dvlite" / "remotes.db").unlink()  # forget the known objects: ask the remote
    r = run("push", "--json")
    assert json.loads(r.stdout) == {
        "remote": "origin", "transferred": 0, "bytes": 0, "already_present": 5, "failed": 0,
        "failures": [], "run_cache_records": 0}


def test_pull_one_file_inside_a_folder(repo, remote: RemoteHandle):
    _setup(repo)
    assert run("push").exit_code == 0
    _wipe(repo)
    r = run("pull", "data/sub/c.txt", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 2  # the file's object + the manifest
    assert (repo / "data" / "sub" / "c.txt").read_text() == "gamma"
    assert not (repo / "data" / "a.txt").exists()
    assert not (repo / "model.bin").exists()
    objects = [p for p in (repo / ".dvlite" / "cache").rglob("*") if p.is_file()]
    assert len(objects) == 2


def test_push_and_fetch_targets(repo, remote: RemoteHandle):
    _setup(repo)
    assert run("push", "model.bin").exit_code == 0
    assert remote.objects() == [_object_key(repo, "model.bin.dvl")]
    shutil.rmtree(repo / ".dvlite" / "cache")
    assert run("fetch", "model.bin").exit_code == 0
    assert run("checkout", "model.bin").exit_code == 0
    assert (repo / "model.bin").read_bytes() == b"weights" * 100


def test_push_and_fetch_at_revisions(repo, remote: RemoteHandle):
    _setup(repo)
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "model.bin").write_bytes(b"v2")
    assert run("add", "model.bin").exit_code == 0
    git(repo, "commit", "-qm", "v2")
    assert run("push", "--rev", first, "model.bin").exit_code == 0
    from dvlite.core.oid import hash_bytes

    old = hash_bytes("xxh128", b"weights" * 100)
    assert remote.objects() == [f"xxh128/{old.hex[:2]}/{old.hex}"]
    r = run("push", "--all-commits", "--json")
    assert r.exit_code == 0
    assert len(remote.objects()) == 6  # both versions of model.bin + data
    shutil.rmtree(repo / ".dvlite" / "cache")
    r = run("fetch", "--rev", first, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 5
    git(repo, "checkout", "-q", first)
    assert run("checkout", "--force").exit_code == 0
    assert (repo / "model.bin").read_bytes() == b"weights" * 100


def test_pull_from_subfolder_and_relative_remote(repo, tmp_path):
    _setup(repo)
    (repo / "deep").mkdir()
    assert run("remote", "add", "rel", "../relstore", cwd=repo / "deep").exit_code == 0
    assert run("push", "-r", "rel", cwd=repo / "deep").exit_code == 0
    assert (tmp_path / "relstore" / "dvlite-format").exists()  # against the root, not cwd
    _wipe(repo)
    assert run("pull", "-r", "rel", "-j", "2", cwd=repo / "deep").exit_code == 0
    assert (repo / "data" / "sub" / "c.txt").read_text() == "gamma"


def test_push_of_one_file_in_a_folder_holds_the_manifest_back(repo, remote: RemoteHandle):
    _setup(repo)
    manifest_key = _object_key(repo, "data.dvl")
    r = run("push", "data/sub/c.txt", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 1
    assert manifest_key not in remote.objects()  # never a manifest without its files
    assert run("push", "data/a.txt").exit_code == 0
    assert manifest_key not in remote.objects()
    r = run("push", "data/sub/b.bin", "--json")
    assert json.loads(r.stdout)["transferred"] == 2  # the last file, then the manifest
    assert manifest_key in remote.objects()


def test_object_deleted_behind_dvlites_back_is_repushed_after_a_pull_finds_it_missing(
        repo, remote: RemoteHandle):
    _setup(repo)
    assert run("push").exit_code == 0
    key = _object_key(repo, "model.bin.dvl")
    remote.delete(key)
    # The known objects still list the object: a push trusts them and uploads nothing.
    assert json.loads(run("push", "--json").stdout)["transferred"] == 0
    saved = repo.parent / "saved-cache"
    shutil.copytree(repo / ".dvlite" / "cache", saved)
    _wipe(repo)
    r = run("pull")
    assert r.exit_code != 0
    assert key.rsplit("/", 1)[-1] in r.stderr or "missing" in r.stderr
    # The pull found it missing and forgot it; the next push re-uploads it.
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.copytree(saved, repo / ".dvlite" / "cache")
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 1
    assert key in remote.objects()
