"""Bad remote states and configs end with one clear `error:` line and the right exit code:
corrupt or wrong-size objects (exit 3, nothing stored), missing objects, missing
credentials, unknown bucket, unreachable endpoint, unknown remote."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.helpers import check_repo, gen, git, read_pointer, run, store_temps
from tests.remote.conftest import RemoteHandle, configure
from tests.remote.s3fixtures import BUCKET, S3, s3_remote_options


def _pushed(repo: Path) -> None:
    gen(repo, {"a.bin": b"A" * 300, "d": {"x.txt": "x", "y.txt": "y"}})
    assert run("add", "a.bin", "d").exit_code == 0
    git(repo, "commit", "-qm", "data")
    r = run("push")
    assert r.exit_code == 0, r.stderr
    shutil.rmtree(repo / ".dvlite" / "cache")
    (repo / "a.bin").unlink()
    shutil.rmtree(repo / "d")


def _key(repo: Path, pointer: str) -> str:
    oid = read_pointer(repo / pointer).oid
    return f"{oid.algo}/{oid.hex[:2]}/{oid.hex}"


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_corrupt_remote_object_exit_3_nothing_stored(repo, remote: RemoteHandle):
    _pushed(repo)
    key = _key(repo, "a.bin.dvl")
    remote.put(key, b"B" * 300)  # same size, wrong bytes
    r = run("pull")
    assert r.exit_code == 3
    line = _one_error_line(r.stderr)
    assert key.rsplit("/", 1)[-1] in line and "origin" in line and "corrupt" in line
    assert not (repo / "a.bin").exists()
    assert (repo / "d" / "x.txt").read_text() == "x"  # the rest still arrived
    cache = repo / ".dvlite" / "cache"
    assert not list(cache.rglob(key.rsplit("/", 1)[-1]))
    assert not store_temps(cache)
    r = run("fetch")
    assert r.exit_code == 3


def test_wrong_size_in_pointer_exit_3(repo, remote: RemoteHandle):
    _pushed(repo)
    pf = repo / "a.bin.dvl"
    pf.write_text(pf.read_text().replace("size: 300", "size: 301"))
    r = run("fetch", "a.bin")
    assert r.exit_code == 3
    assert "301" in _one_error_line(r.stderr)
    assert not [p for p in (repo / ".dvlite" / "cache").rglob("*") if p.is_file()]


def test_missing_remote_object_others_still_fetched(repo, remote: RemoteHandle):
    _pushed(repo)
    key = _key(repo, "a.bin.dvl")
    remote.delete(key)
    r = run("pull")
    assert r.exit_code == 1
    line = _one_error_line(r.stderr)
    assert "missing on remote 'origin'" in line and key.rsplit("/", 1)[-1] in line
    assert "a.bin" in r.stdout  # the failure list names the path
    assert (repo / "d" / "y.txt").read_text() == "y"
    remote.put(key, b"A" * 300)  # someone re-pushes it: a re-run finishes
    assert run("pull").exit_code == 0
    assert (repo / "a.bin").read_bytes() == b"A" * 300
    check_repo(repo)


def test_unknown_remote_and_no_default(repo):
    r = run("push")
    assert r.exit_code == 1 and "no default remote" in _one_error_line(r.stderr)
    r = run("push", "-r", "nope")
    assert r.exit_code == 1 and "unknown remote 'nope'" in _one_error_line(r.stderr)


@pytest.mark.s3
def test_missing_credentials(repo, s3: S3, monkeypatch):
    configure("origin", f"s3://{BUCKET}/p", s3_remote_options(s3.endpoint))
    gen(repo, {"f": "data"})
    assert run("add", "f").exit_code == 0
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    r = run("push")
    assert r.exit_code == 1
    line = _one_error_line(r.stderr)
    assert "credentials" in line and "origin" in line


@pytest.mark.s3
def test_unknown_bucket(repo, s3: S3):
    configure("origin", "s3://no-such-bucket/p", s3_remote_options(s3.endpoint))
    gen(repo, {"f": "data"})
    assert run("add", "f").exit_code == 0
    r = run("push")
    assert r.exit_code == 1
    assert "bucket" in _one_error_line(r.stderr)
    shutil.rmtree(repo / ".dvlite" / "cache")
    for cmd in ("pull", "fetch"):
        r = run(cmd)
        assert r.exit_code == 1
        assert "bucket" in _one_error_line(r.stderr)


@pytest.mark.s3
def test_unreachable_endpoint_fails_in_bounded_time(repo):
    configure("origin", f"s3://{BUCKET}/p", s3_remote_options("http://127.0.0.1:9"))
    gen(repo, {"f": "data"})
    assert run("add", "f").exit_code == 0
    start = time.monotonic()
    r = run("push")
    assert r.exit_code == 1
    assert "cannot reach remote 'origin'" in _one_error_line(r.stderr)
    assert time.monotonic() - start < 30


def test_local_remote_folder_missing_on_pull(repo, tmp_path):
    configure("origin", str(tmp_path / "nowhere"), {})
    gen(repo, {"f": "data"})
    assert run("add", "f").exit_code == 0
    assert run("fetch").exit_code == 0  # nothing to fetch: the remote is not asked
    shutil.rmtree(repo / ".dvlite" / "cache")
    r = run("fetch")
    assert r.exit_code == 1
    assert "does not exist" in _one_error_line(r.stderr)
