"""A user's day, as subprocesses: version a dataset, travel back in git, get the bytes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import check_repo, gen, git, run_proc

pytestmark = pytest.mark.e2e


def dv(repo: Path, *args: str) -> str:
    r = run_proc(*args, cwd=repo)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def test_versions_travel_with_git(tmp_path: Path) -> None:
    repo = tmp_path / "proj"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    dv(repo, "init")
    gen(repo, {"images": {f"{i}.png": f"image {i}" for i in range(20)}, "model.pt": "v1"})
    dv(repo, "add", "images", "model.pt")
    git(repo, "commit", "-qm", "v1")
    v1 = {p.relative_to(repo).as_posix(): p.read_bytes()
          for p in [*repo.glob("images/*"), repo / "model.pt"]}

    (repo / "images" / "3.png").write_text("retouched")
    (repo / "images" / "20.png").write_text("new image")
    (repo / "images" / "0.png").unlink()
    (repo / "model.pt").write_text("v2")
    assert run_proc("status", "--exit-code", cwd=repo).returncode == 1
    dv(repo, "add", "images", "model.pt")
    git(repo, "commit", "-qm", "v2")
    assert json.loads(dv(repo, "diff", "--json", "HEAD~1", "HEAD")) == {
        "added": [{"path": "images/20.png", "hash": _hash(repo, "images/20.png")}],
        "modified": [
            {"path": "images/3.png", "old": _hash_of(b"image 3"),
             "new": _hash(repo, "images/3.png")},
            {"path": "model.pt", "old": _hash_of(b"v1"), "new": _hash(repo, "model.pt")}],
        "deleted": [{"path": "images/0.png", "hash": _hash_of(b"image 0")}],
    }

    git(repo, "checkout", "-q", "HEAD~1")
    assert run_proc("status", "--exit-code", cwd=repo).returncode == 1
    dv(repo, "checkout")
    now = {p.relative_to(repo).as_posix(): p.read_bytes()
           for p in [*repo.glob("images/*"), repo / "model.pt"]}
    assert now == v1
    assert run_proc("status", "--exit-code", cwd=repo).returncode == 0
    git(repo, "checkout", "-q", "main")
    dv(repo, "checkout")
    assert (repo / "model.pt").read_text() == "v2"
    assert "cached" in dv(repo, "ls")
    assert run_proc("fsck", cwd=repo).returncode == 0
    check_repo(repo)


def _hash_of(data: bytes) -> str:
    from dvlite.core.oid import hash_bytes

    return str(hash_bytes("xxh128", data))


def _hash(repo: Path, rel: str) -> str:
    return _hash_of((repo / rel).read_bytes())
