"""dvlite get: export from a local repository or a git URL, verified, no dvlite repo here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import gen, git, read_pointer, run
from tests.remote.conftest import RemoteHandle


def _project(repo: Path) -> str:
    gen(repo, {"data": {"a.txt": "alpha", "sub": {"b.txt": "beta"}}, "m.bin": b"v1"})
    assert run("add", "data", "m.bin").exit_code == 0
    git(repo, "add", ".dvlite/config")
    git(repo, "commit", "-qm", "v1")
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "m.bin").write_bytes(b"v2")
    assert run("add", "m.bin").exit_code == 0
    git(repo, "commit", "-qm", "v2")
    return first


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    out = tmp_path / "elsewhere"
    out.mkdir()
    return out


def test_get_from_local_repository_cache(repo, elsewhere):
    first = _project(repo)
    r = run("get", str(repo), "data", cwd=elsewhere)
    assert r.exit_code == 0, r.stderr
    assert (elsewhere / "data" / "sub" / "b.txt").read_text() == "beta"
    assert (elsewhere / "data" / "a.txt").read_text() == "alpha"
    r = run("get", str(repo), "m.bin", "--rev", first, "-o", "old.bin", cwd=elsewhere)
    assert r.exit_code == 0, r.stderr
    assert (elsewhere / "old.bin").read_bytes() == b"v1"
    r = run("get", str(repo), "data/sub/b.txt", "-o", "b", cwd=elsewhere)
    assert r.exit_code == 0 and (elsewhere / "b").read_text() == "beta"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["b", "data", "old.bin"]
    r = run("get", str(repo), "data", cwd=elsewhere)
    assert r.exit_code == 2 and "already exists" in r.stderr
    r = run("get", str(repo), "nope", cwd=elsewhere)
    assert r.exit_code == 2 and "not tracked" in r.stderr


def test_get_from_git_url_through_the_remote(repo, remote: RemoteHandle, elsewhere):
    _project(repo)  # commits .dvlite/config with the remote in it
    assert run("push", "--all-commits").exit_code == 0
    r = run("get", f"file://{repo}", "data", "-o", "copy", cwd=elsewhere)
    assert r.exit_code == 0, r.stderr
    assert (elsewhere / "copy" / "sub" / "b.txt").read_text() == "beta"
    oid = read_pointer(repo / "m.bin.dvl").oid
    remote.put(f"{oid.algo}/{oid.hex[:2]}/{oid.hex}", b"v3")  # corrupt, same size
    r = run("get", f"file://{repo}", "m.bin", cwd=elsewhere)
    assert r.exit_code == 3 and oid.hex in r.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["copy"]  # nothing partial


def test_get_without_cache_uses_local_repos_remote(repo, tmp_path, elsewhere):
    assert run("remote", "add", "store", str(tmp_path / "store"), "--default").exit_code == 0
    _project(repo)
    assert run("push").exit_code == 0
    shutil.rmtree(repo / ".dvlite" / "cache")
    r = run("get", ".", "m.bin", "-o", str(elsewhere / "m"), cwd=repo)
    assert r.exit_code == 0, r.stderr
    assert (elsewhere / "m").read_bytes() == b"v2"


def test_get_bad_url(elsewhere):
    r = run("get", "file:///no/such/repo", "x", cwd=elsewhere)
    assert r.exit_code == 1 and "cannot clone" in r.stderr


def test_get_from_file_url_resolves_a_relative_remote_against_the_source(repo, elsewhere):
    assert run("remote", "add", "store", "../store", "--default").exit_code == 0
    _project(repo)
    assert run("push").exit_code == 0
    r = run("get", f"file://{repo}", "data/a.txt", "-o", "a", cwd=elsewhere)
    assert r.exit_code == 0, r.stderr
    assert (elsewhere / "a").read_text() == "alpha"
