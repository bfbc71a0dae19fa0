"""A project with history for the API tests: tracked files and a folder in two commits,
pushed to a folder remote that the committed config names, and a bare clone of it (a
repository with no cache, as a server holds it). Each test gets its own per-user object
cache, so nothing leaks between tests or into the home folder."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvlite.workspace import objects
from tests.helpers import gen, git, run
from tests.remote.conftest import remote
from tests.remote.s3fixtures import moto_endpoint, s3

__all__ = ["moto_endpoint", "remote", "s3"]

BIG = random.Random(7).randbytes(3 << 20)  # over the 1 MiB up to which objects are packed


@dataclass(frozen=True)
class Project:
    root: Path
    store: Path  # the folder remote
    first: str  # the first commit
    second: str  # HEAD
    origin: Path  # a bare clone: git's files only, no cache

    @property
    def url(self) -> str:
        return f"file://{self.origin}"


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This test's own per-user object cache."""
    monkeypatch.delenv("DVLITE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    objects._manifests.clear()  # parsed manifests are kept per process
    yield tmp_path / "xdg" / "dvlite" / "objects"
    objects._manifests.clear()


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD").strip()


def build(root: Path, origin: Path) -> tuple[str, str]:
    """Two commits of tracked data and plain files, every object pushed."""
    gen(root, {"data": {"a.txt": "alpha\n", "sub": {"b.txt": "beta\n"}},
               "model.bin": b"v1", "big.bin": BIG, "README.md": "hello\n"})
    assert run("add", "data", "model.bin", "big.bin").exit_code == 0
    first = commit_all(root, "v1")
    assert run("push").exit_code == 0
    (root / "model.bin").write_bytes(b"v2")
    (root / "data" / "a.txt").write_text("alpha 2\n")
    assert run("add", "data", "model.bin").exit_code == 0
    second = commit_all(root, "v2")
    assert run("push").exit_code == 0
    subprocess.run(["git", "clone", "-q", "--bare", str(root), str(origin)], check=True)
    return first, second


@pytest.fixture
def project(repo: Path, tmp_path: Path) -> Project:
    store = tmp_path / "store"
    assert run("remote", "add", "store", str(store), "--default").exit_code == 0
    first, second = build(repo, tmp_path / "origin.git")
    return Project(repo, store, first, second, tmp_path / "origin.git")
