"""The pre-commit framework's hook definitions, and the PRE_COMMIT_* variables it passes
instead of git's arguments and stdin."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dvlite.repo.githooks.install import HOOK_NAMES
from tests.helpers import folder_remote_oids, gen, git, read_pointer, run
from tests.hooks.conftest import World, sh

ROOT = Path(__file__).resolve().parents[2]


def test_pre_commit_hooks_yaml_covers_every_hook() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == [f"dvlite-{n}" for n in HOOK_NAMES]
    for h, name in zip(hooks, HOOK_NAMES, strict=True):
        assert h["entry"] == f"dvlite hook {name}"
        assert h["stages"] == [name]
        assert h["language"] == "python"
        assert h["pass_filenames"] is False


def test_post_checkout_from_framework_variables(repo: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    gen(repo, {"m.bin": "v1"})
    assert run("add", "m.bin").exit_code == 0
    git(repo, "commit", "-q", "-m", "v1")
    (repo / "m.bin").chmod(0o644)
    (repo / "m.bin").unlink()
    head = git(repo, "rev-parse", "HEAD").strip()
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", head)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", head)
    monkeypatch.setenv("PRE_COMMIT_CHECKOUT_TYPE", "0")  # a file checkout: nothing
    assert run("hook", "post-checkout").exit_code == 0
    assert not (repo / "m.bin").exists()
    monkeypatch.setenv("PRE_COMMIT_CHECKOUT_TYPE", "1")
    r = run("hook", "post-checkout")
    assert r.exit_code == 0
    assert (repo / "m.bin").read_text() == "v1"


def test_pre_push_from_framework_variables(world: World,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    a = world.a
    gen(a, {"m.bin": "v1"})
    assert run("add", "m.bin").exit_code == 0
    git(a, "commit", "-q", "-m", "v1")
    oid = read_pointer(a / "m.bin.dvl").oid
    monkeypatch.setenv("PRE_COMMIT_TO_REF", git(a, "rev-parse", "HEAD").strip())
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", git(a, "rev-parse", "origin/main").strip())
    monkeypatch.setenv("PRE_COMMIT_REMOTE_NAME", "origin")
    monkeypatch.setenv("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main")
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main")
    r = run("hook", "pre-push")
    assert r.exit_code == 0, r.stderr
    assert "uploaded 1 object(s)" in r.stderr
    assert oid.hex in folder_remote_oids(world.remote, oid.algo)


def test_hook_outside_a_dvlite_repo_is_silent(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks installed globally (core.hooksPath) also run in repositories without dvlite."""
    git(tmp_path, "init", "-q")
    monkeypatch.chdir(tmp_path)
    for name in HOOK_NAMES:
        r = run("hook", name, "a", "b", "1")
        assert (r.exit_code, r.stdout, r.stderr) == (0, "", ""), name


def test_unknown_hook_name_warns(repo: Path) -> None:
    r = run("hook", "pre-rebase")
    assert r.exit_code == 0
    assert "no 'pre-rebase' hook" in r.stderr


def test_amend_does_not_touch_data(world: World) -> None:
    a = world.a
    gen(a, {"m.bin": "v1"})
    assert run("add", "m.bin").exit_code == 0
    sh(a, "commit", "-q", "-m", "v1")
    (a / "m.bin").chmod(0o644)
    (a / "m.bin").unlink()
    proc = sh(a, "commit", "-q", "--amend", "-m", "v1 again")  # post-rewrite amend
    assert "dvlite: checked out" not in proc.stderr
    assert not (a / "m.bin").exists()


def test_monorepo_with_dvlite_in_subfolders(tmp_path: Path, hook_path: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks run at the work tree's top; they serve each dvlite project below it, and
    the merge driver finds the project from the pointer's path."""
    top = tmp_path / "mono"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    git(top, "config", "gc.auto", "0")
    for project in ("vision", "speech"):
        (top / project).mkdir()
        monkeypatch.chdir(top / project)
        assert run("init").exit_code == 0
        gen(top / project, {"d": {"a": f"{project} a0", "b": f"{project} b0"}})
        assert run("add", "d").exit_code == 0
    assert run("install", cwd=top / "vision").exit_code == 0
    monkeypatch.chdir(top)
    sh(top, "add", ".gitattributes")
    sh(top, "commit", "-q", "-m", "two projects")
    sh(top, "checkout", "-q", "-b", "theirs")
    for project in ("vision", "speech"):
        (top / project / "d" / "b").chmod(0o644)
        (top / project / "d" / "b").write_text("theirs")
        assert run("add", "d", cwd=top / project).exit_code == 0
    sh(top, "commit", "-q", "-m", "theirs")
    sh(top, "checkout", "-q", "main")  # post-checkout restores both projects' data
    assert (top / "speech" / "d" / "b").read_text() == "speech b0"
    assert (top / "vision" / "d" / "b").read_text() == "vision b0"
    (top / "vision" / "d" / "a").chmod(0o644)
    (top / "vision" / "d" / "a").write_text("ours")
    assert run("add", "d", cwd=top / "vision").exit_code == 0
    sh(top, "commit", "-q", "-m", "ours")
    sh(top, "merge", "-q", "--no-edit", "theirs")
    assert (top / "vision" / "d" / "a").read_text() == "ours"
    assert (top / "vision" / "d" / "b").read_text() == "theirs"
    assert (top / "speech" / "d" / "b").read_text() == "theirs"
