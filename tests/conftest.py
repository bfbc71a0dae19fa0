"""Fixtures: a template git repo with dvlite initialised, copied fresh for each test."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import GIT_ENV, git

os.environ.update(GIT_ENV)
os.environ.setdefault("DVLITE_TEST", "1")


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template") / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    git(root, "config", "gc.auto", "0")
    git(root, "config", "commit.gpgsign", "false")
    from tests.helpers import run

    assert run("init", cwd=root).exit_code == 0
    git(root, "commit", "-q", "-m", "init dvlite")
    return root


@pytest.fixture
def repo(tmp_path: Path, template_repo: Path) -> Iterator[Path]:
    """A fresh git + dvlite repository; the test runs with it as the working directory."""
    root = tmp_path / "repo"
    shutil.copytree(template_repo, root, symlinks=True)
    old = Path.cwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(old)
