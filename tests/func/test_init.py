"""`dvlite init`: inside git only (unless --no-scm), idempotent."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.func.util import user_snapshot as snapshot
from tests.helpers import check_repo, gen, git, run


def test_init_stages_config_and_gitignore(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    r = run("init", cwd=tmp_path)
    assert r.exit_code == 0, r.stderr
    assert "Initialised dvlite" in r.stdout
    staged = git(tmp_path, "diff", "--cached", "--name-only").split()
    assert staged == [".dvlite/.gitignore", ".dvlite/config"]
    assert "layout = 1" in (tmp_path / ".dvlite" / "config").read_text()


def test_init_again_changes_nothing(repo: Path) -> None:
    before = snapshot(repo)
    status = git(repo, "status", "--porcelain")
    r = run("init")
    assert r.exit_code == 0
    assert "already initialised" in r.stdout
    assert snapshot(repo) == before
    assert git(repo, "status", "--porcelain") == status


def test_init_refuses_outside_git(tmp_path: Path) -> None:
    r = run("init", cwd=tmp_path)
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ") and "not inside a git repository" in r.stderr
    assert "hint: " in r.stderr
    assert not (tmp_path / ".dvlite").exists()


def test_init_no_scm_then_add_and_checkout(tmp_path: Path) -> None:
    assert run("init", "--no-scm", cwd=tmp_path).exit_code == 0
    gen(tmp_path, {"d": {"a": "1"}, "f": "2"})
    r = run("add", "d", "f", cwd=tmp_path)
    assert r.exit_code == 0, r.stderr
    assert "git add" in r.stdout  # tells the user what to commit
    (tmp_path / "f").unlink()
    assert run("checkout", cwd=tmp_path).exit_code == 0
    assert (tmp_path / "f").read_text() == "2"
    assert run("status", "--exit-code", cwd=tmp_path).exit_code == 0
    check_repo(tmp_path)


def test_init_in_subfolder_of_initialised_repo(repo: Path) -> None:
    (repo / "sub").mkdir()
    r = run("init", cwd=repo / "sub")
    assert r.exit_code == 0
    assert r.stdout == f"dvlite is already initialised in {repo}; nothing changed\n"
    assert not (repo / "sub" / ".dvlite").exists()


def test_init_in_nested_git_repo_is_a_new_project(repo: Path) -> None:
    inner = repo / "vendor" / "proj"
    inner.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(inner)], check=True)
    assert run("init", cwd=inner).stdout.startswith("Initialised dvlite")
    assert (inner / ".dvlite" / "config").exists()
