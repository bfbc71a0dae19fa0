"""gc: scopes (workspace, branches and tags, all commits), dry-run, remote deletion with
confirmation and grace, stale temp files and multipart uploads."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from dvlite.core.oid import hash_bytes
from tests.helpers import check_repo, gen, git, is_store_temp, run, store_temps
from tests.remote.conftest import RemoteHandle
from tests.remote.s3fixtures import BUCKET


def _oid(data: bytes) -> str:
    return str(hash_bytes("xxh128", data))


def _version(repo: Path, data: bytes, commit: bool) -> None:
    (repo / "m.bin").write_bytes(data)
    assert run("add", "m.bin").exit_code == 0
    if commit:
        git(repo, "commit", "-qm", f"m {data[:5]!r}")


def _cache_oids(repo: Path) -> set[str]:
    cache = repo / ".dvlite" / "cache" / "xxh128"
    return {f"xxh128:{p.name}" for p in cache.rglob("*")
            if p.is_file() and not is_store_temp(p.name)}


def test_gc_default_scope_keeps_refs_and_workspace(repo):
    gen(repo, {"d": {"a": "a", "b": "b"}})
    assert run("add", "d").exit_code == 0
    _version(repo, b"v1-data", commit=True)
    _version(repo, b"v2-data", commit=False)
    _version(repo, b"v3-data", commit=False)
    r = run("gc", "--dry-run")
    assert r.exit_code == 0
    assert f"cache\t{_oid(b'v2-data')}\t7" in r.stdout
    assert _oid(b"v2-data") in _cache_oids(repo)  # dry run deletes nothing
    r = run("gc", "--json")
    doc = json.loads(r.stdout)
    assert [o["hash"] for o in doc["cache"]] == [_oid(b"v2-data")]
    left = _cache_oids(repo)
    assert {_oid(b"v1-data"), _oid(b"v3-data"), _oid(b"a"), _oid(b"b")} <= left
    assert _oid(b"v2-data") not in left
    check_repo(repo)
    assert run("gc", "--workspace").exit_code == 0
    assert _oid(b"v1-data") not in _cache_oids(repo)
    check_repo(repo)


def test_gc_keeps_other_branches_and_tags_unless_workspace(repo):
    _version(repo, b"main-1", commit=True)
    git(repo, "checkout", "-qb", "side")
    _version(repo, b"side-1", commit=True)
    git(repo, "tag", "t1")
    _version(repo, b"side-2", commit=True)
    git(repo, "checkout", "-q", "main")
    assert run("checkout").exit_code == 0
    _version(repo, b"main-2", commit=True)
    assert run("gc").exit_code == 0
    assert {_oid(b"main-1"), _oid(b"side-1"), _oid(b"side-2")} - _cache_oids(repo) == {
        _oid(b"main-1")}
    git(repo, "branch", "-D", "side")
    assert run("gc").exit_code == 0
    assert _oid(b"side-1") in _cache_oids(repo)  # the tag keeps it
    assert _oid(b"side-2") not in _cache_oids(repo)
    assert run("gc", "--all-commits").exit_code == 0
    assert run("gc", "--workspace").exit_code == 0
    assert _cache_oids(repo) == {_oid(b"main-2")}


def test_gc_removes_stale_temp_files_only(repo):
    _version(repo, b"kept", commit=True)
    cache = repo / ".dvlite" / "cache"
    tmp = cache / "tmp"
    shard = hash_bytes("xxh128", b"kept").hex[:2]
    tmp.mkdir(parents=True, exist_ok=True)
    old = [tmp / f"{'a' * 32}.tmp", cache / "xxh128" / shard / f".{'0' * 32}.dvlite-tmp-1-a-0"]
    new = [tmp / f"{'b' * 32}.tmp", cache / "xxh128" / shard / f".{'1' * 32}.dvlite-tmp-1-a-1"]
    foreign = [tmp / "backup.tar", tmp / "old.tmp", tmp / ".x.dvlite-tmp-notours"]
    past = time.time() - 7200
    for path in old + new + foreign:
        path.write_bytes(b"partial")
    for path in old + foreign:
        os.utime(path, (past, past))
    r = run("gc")
    assert r.exit_code == 0
    assert "removed 2 stale temp files from the cache" in r.stdout
    assert sorted(p for p in store_temps(cache) if p not in foreign) == sorted(new)
    assert all(p.read_bytes() == b"partial" for p in foreign)  # not dvlite's names
    assert _cache_oids(repo) == {_oid(b"kept")}


def test_gc_remote_leaves_foreign_files_in_a_folder_remotes_tmp(repo, tmp_path):
    """A folder remote on a NAS may have its own tmp/: only dvlite's temp names go."""
    store = tmp_path / "store"
    assert run("remote", "add", "o", str(store), "--default").exit_code == 0
    _version(repo, b"kept", commit=True)
    assert run("push").exit_code == 0
    (store / "tmp").mkdir()
    ours = store / "tmp" / f"{'c' * 32}.tmp"
    theirs = [store / "tmp" / "backup.tar", store / "notes.dvlite-tmp-x",
              store / "tmp" / "nested.tmp"]
    for path in [ours, *theirs]:
        path.write_bytes(b"precious")
    r = run("gc", "--remote", "--now", "--yes")
    assert r.exit_code == 0, r.stderr
    assert "removed 1 stale temp files from remote 'o'" in r.stdout
    assert "multipart" not in r.stdout
    assert not ours.exists()
    assert all(p.read_bytes() == b"precious" for p in theirs)


def test_gc_remote_grace_confirmation_and_now(repo, remote: RemoteHandle):
    _version(repo, b"kept", commit=True)
    assert run("push").exit_code == 0
    _version(repo, b"dropped", commit=False)
    assert run("push").exit_code == 0
    _version(repo, b"kept", commit=False)  # back to the committed version
    r = run("gc", "--remote")
    assert r.exit_code == 2 and "--yes" in r.stderr  # no terminal: never deletes silently
    r = run("gc", "--remote", "--yes", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["remote"] == [] and doc["kept_younger_than_grace"] == 1
    r = run("gc", "-r", "origin", "--now", "--dry-run")
    assert f"remote\t{_oid(b'dropped')}\t7" in r.stdout
    assert len(remote.objects()) == 2
    r = run("gc", "--remote", "--now", "--yes")
    assert r.exit_code == 0, r.stderr
    dropped = hash_bytes("xxh128", b"dropped").hex
    assert [k.rsplit("/", 1)[-1] for k in remote.objects()] == [hash_bytes(
        "xxh128", b"kept").hex]
    assert dropped not in str(remote.objects())
    # the known objects forgot it: pushing it again really uploads it
    _version(repo, b"dropped", commit=False)
    r = run("push", "--json")
    assert json.loads(r.stdout)["transferred"] == 1


def test_gc_grace_config_zero(repo, remote: RemoteHandle):
    _version(repo, b"old", commit=False)
    assert run("push").exit_code == 0
    _version(repo, b"new", commit=True)
    assert run("config", "gc.grace", "0").exit_code == 0
    assert run("gc", "--remote", "--yes").exit_code == 0
    assert len(remote.objects()) == 0  # "new" was never pushed, "old" is gone


@pytest.mark.s3
def test_gc_aborts_stale_multipart_uploads(repo, s3):
    from tests.remote.conftest import configure
    from tests.remote.s3fixtures import s3_remote_options

    configure("origin", f"s3://{BUCKET}/store", s3_remote_options(s3.endpoint))
    client = s3.client()
    client.create_multipart_upload(Bucket=BUCKET, Key="store/xxh128/ab/orphan")
    others = ["elsewhere/not-ours", "storeother/backup.tar", "store1/model.bin", "store"]
    for key in others:  # the prefix "store" without its "/" would match all but the first
        client.create_multipart_upload(Bucket=BUCKET, Key=key)
    # (moto stamps every upload "Initiated" in 2010, so the age rule cannot be shown here)
    r = run("gc", "--remote", "--now", "--yes")
    assert r.exit_code == 0
    assert "aborted 1 stale multipart uploads on remote 'origin'" in r.stdout
    left = client.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert sorted(u["Key"] for u in left) == sorted(others)


@pytest.mark.s3
def test_gc_lists_and_deletes_only_below_the_remotes_folder(repo, s3):
    """s3://bucket/t1 is the folder t1/: keys of t1other/ and t10/ are never touched."""
    from tests.remote.conftest import configure
    from tests.remote.s3fixtures import s3_remote_options

    configure("origin", f"s3://{BUCKET}/t1", s3_remote_options(s3.endpoint))
    client = s3.client()
    _version(repo, b"kept", commit=True)
    assert run("push").exit_code == 0
    hex_ = hash_bytes("xxh128", b"unused").hex
    foreign = [f"t1other/xxh128/{hex_[:2]}/{hex_}", f"t10/xxh128/{hex_[:2]}/{hex_}",
               "t1other/packs/xxh128/x.pack", "t10/fresh/" + "0" * 32]
    for key in foreign:
        client.put_object(Bucket=BUCKET, Key=key, Body=b"unused")
    r = run("gc", "--remote", "--now", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["remote"] == []
    assert set(foreign) <= set(s3.keys(""))


def test_gc_remote_removes_temp_files_of_killed_format_and_run_cache_writes(repo, tmp_path):
    """A kill while the format file or a run-cache record is written to a folder remote
    leaves a temp file beside it; gc --remote removes it (with --now, at once)."""
    store = tmp_path / "store"
    assert run("remote", "add", "o", str(store), "--default").exit_code == 0
    gen(repo, {"a.txt": "a"})
    assert run("add", "a.txt").exit_code == 0
    assert run("push").exit_code == 0
    (store / "runs").mkdir()
    leftovers = [store / ".dvlite-format.dvlite-tmp-0123456789ab",
                 store / "runs" / f".{'a' * 32}.dvlite-tmp-0123456789ab"]
    for path in leftovers:
        path.write_text("partial")
    assert run("gc", "--remote", "--yes").exit_code == 0
    assert all(p.exists() for p in leftovers)  # young: a write may be running now
    assert run("gc", "--remote", "--now", "--yes").exit_code == 0
    assert not any(p.exists() for p in leftovers)
    assert (store / "dvlite-format").is_file()
    assert run("status", "--remote", "--exit-code").exit_code == 0
