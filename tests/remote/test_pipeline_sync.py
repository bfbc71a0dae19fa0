"""Pipeline outputs (dvlite.lock) travel with push/fetch; --run-cache moves run records
after their objects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dvlite.core.oid import hash_bytes
from tests.helpers import git, run
from tests.remote.conftest import RemoteHandle


def _pipeline(repo: Path) -> str:
    r = run("stage", "add", "-n", "make", "-o", "out.txt", "echo produced > out.txt")
    assert r.exit_code == 0, r.stderr
    r = run("repro")
    assert r.exit_code == 0, r.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pipeline")
    oid = hash_bytes("xxh128", b"produced\n")
    return f"xxh128/{oid.hex[:2]}/{oid.hex}"


def test_push_and_fetch_pipeline_outputs(repo, remote: RemoteHandle):
    key = _pipeline(repo)
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert key in remote.objects()
    shutil.rmtree(repo / ".dvlite" / "cache")
    r = run("fetch", "--json")
    assert r.exit_code == 0, r.stderr
    assert (repo / ".dvlite" / "cache" / key).read_bytes() == b"produced\n"


def test_run_cache_records_round_trip(repo, remote: RemoteHandle):
    key = _pipeline(repo)
    runs = repo / ".dvlite" / "runs"
    records = sorted(p.name for p in runs.iterdir())
    assert records
    r = run("push", "--run-cache", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["run_cache_records"] == len(records)
    assert sorted(k.split("/")[1] for k in remote.list_keys() if k.startswith("runs/")) == \
        records
    shutil.rmtree(runs)
    shutil.rmtree(repo / ".dvlite" / "cache")
    r = run("pull", "--run-cache", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["run_cache_records"] == len(records)
    assert sorted(p.name for p in runs.iterdir()) == records
    assert (repo / ".dvlite" / "cache" / key).exists()


def test_status_remote_counts_pipeline_outputs(repo, remote: RemoteHandle):
    _pipeline(repo)
    r = run("status", "--remote", "--json", "--exit-code")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["outputs"] == [{"path": "out.txt", "not_on_remote": 1}]
    assert run("push").exit_code == 0
    assert run("status", "--remote", "--exit-code").exit_code == 0


def test_pull_brings_back_pipeline_outputs(repo, remote: RemoteHandle):
    _pipeline(repo)
    assert run("push").exit_code == 0
    shutil.rmtree(repo / ".dvlite" / "cache")
    (repo / "out.txt").unlink()
    r = run("pull", "--json")
    assert r.exit_code == 0, r.stderr
    assert (repo / "out.txt").read_text() == "produced\n"
    assert json.loads(r.stdout)["checked_out"] == 1
    assert run("fsck", "--remote").exit_code == 0


def test_cached_pipeline_outputs_are_required_uncached_are_not(repo, remote: RemoteHandle):
    r = run("stage", "add", "-n", "two", "-o", "kept.txt", "-O", "plain.txt",
            "echo kept > kept.txt && echo plain > plain.txt")
    assert r.exit_code == 0, r.stderr
    assert run("repro").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "two outputs")
    kept = hash_bytes("xxh128", b"kept\n")
    (repo / ".dvlite" / "cache" / "xxh128" / kept.hex[:2] / kept.hex).unlink()
    r = run("push", "--json")
    assert r.exit_code == 1  # a cached output whose data is gone is an error, like a .dvl
    assert [f["path"] for f in json.loads(r.stdout)["failures"]] == ["kept.txt"]
    assert "plain.txt" not in r.stderr


def test_push_rev_pushes_that_commits_stage_outputs(repo, remote: RemoteHandle):
    r = run("stage", "add", "-n", "make", "-d", "data.txt", "-o", "out.txt",
            "cp data.txt out.txt")
    assert r.exit_code == 0, r.stderr
    keys = {}
    for version in ("v1", "v2"):
        (repo / "data.txt").write_text(version + "\n")
        assert run("repro").exit_code == 0
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", version)
        git(repo, "tag", version)
        oid = hash_bytes("xxh128", f"{version}\n".encode())
        keys[version] = f"xxh128/{oid.hex[:2]}/{oid.hex}"
    r = run("push", "--rev", "v1")
    assert r.exit_code == 0, r.stderr
    assert keys["v1"] in remote.objects()
    assert keys["v2"] not in remote.objects()
    r = run("push", "out.txt")  # a stage output as a target
    assert r.exit_code == 0, r.stderr
    assert keys["v2"] in remote.objects()
    (repo / "out.txt").unlink()
    shutil.rmtree(repo / ".dvlite" / "cache")
    r = run("pull", "out.txt")
    assert r.exit_code == 0, r.stderr
    assert (repo / "out.txt").read_text() == "v2\n"


def test_push_run_cache_sends_every_record_with_its_objects(repo, remote: RemoteHandle):
    r = run("stage", "add", "-n", "make", "-d", "data.txt", "-o", "out.txt",
            "cp data.txt out.txt")
    assert r.exit_code == 0, r.stderr
    for version in ("v1", "v2", "v3"):  # three runs, only the last in the workspace
        (repo / "data.txt").write_text(version + "\n")
        assert run("repro").exit_code == 0
    r = run("push", "--run-cache")
    assert r.exit_code == 0, r.stderr
    assert "pushed 3 run-cache records to" in r.stdout
    assert "up to date" not in r.stdout
    old = hash_bytes("xxh128", b"v1\n")
    assert f"xxh128/{old.hex[:2]}/{old.hex}" in remote.objects()  # the v1 run's output
    assert len([k for k in remote.list_keys() if k.startswith("runs/")]) == 3
    again = run("push", "--run-cache")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.strip() == "Everything is up to date."
