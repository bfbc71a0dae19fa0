"""Fixtures for hook tests: a bare git origin, a shared folder remote, and clones that
run the real installed hooks (dvlite is found on PATH, from this interpreter's venv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvlite.config import edit
from tests.helpers import git, run


@dataclass
class World:
    a: Path  # the first clone (the `repo` fixture), hooks installed
    origin: Path  # bare git repository
    remote: Path  # the dvlite folder remote

    def clone(self, name: str, install: bool = True) -> Path:
        dest = self.origin.parent / name
        sh(self.origin.parent, "clone", "-q", str(self.origin), name)
        git(dest, "config", "gc.auto", "0")
        if install:
            assert run("install", cwd=dest).exit_code == 0
        return dest


def sh(cwd: Path, *args: str, check: bool = True,
       stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """git with its hooks, like a user runs it; stderr kept for the hooks' messages."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          input=stdin, check=False, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def copy_cache(src: Path, dest: Path) -> None:
    """Give `dest` every object `src` has (stands in for a fetch)."""
    shutil.copytree(src / ".dvlite" / "cache", dest / ".dvlite" / "cache",
                    dirs_exist_ok=True, symlinks=True)


def set_remote(repo: Path, url: str) -> None:
    edit(repo / ".dvlite" / "config", "remote.origin.url", url)
    edit(repo / ".dvlite" / "config", "core.remote", "origin")


@pytest.fixture
def hook_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed hooks call `dvlite`: put this venv's bin first on PATH."""
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.delenv("DVLITE_SKIP_HOOKS", raising=False)


@pytest.fixture
def world(tmp_path: Path, repo: Path, hook_path: None) -> World:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    remote = tmp_path / "remote"
    remote.mkdir()
    set_remote(repo, str(remote))
    assert run("install", cwd=repo).exit_code == 0
    git(repo, "add", ".dvlite/config", ".gitattributes")
    git(repo, "commit", "-q", "-m", "remote and merge driver")
    git(repo, "remote", "add", "origin", str(origin))
    sh(repo, "push", "-q", "-u", "origin", "main")
    return World(repo, origin, remote)
