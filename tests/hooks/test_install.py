"""`dvlite install` / `uninstall`: idempotent, chaining, never losing a foreign hook."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from dvlite.repo.githooks.install import HOOK_NAMES, script
from tests.helpers import git, run, snapshot
from tests.hooks.conftest import sh

ROOT = Path(__file__).resolve().parents[2]


def hooks_snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mode) for p in sorted(folder.iterdir())
            if not p.name.endswith(".sample")}


def user_hook(path: Path, body: str) -> bytes:
    data = f"#!/bin/sh\n{body}\n".encode()
    path.write_bytes(data)
    path.chmod(0o755)
    return data


def test_install_writes_packaged_scripts_and_driver(repo: Path) -> None:
    r = run("install")
    assert r.exit_code == 0, r.stderr
    hooks = repo / ".git" / "hooks"
    for name in HOOK_NAMES:
        assert (hooks / name).read_bytes() == script(name)
        assert os.access(hooks / name, os.X_OK)
    assert git(repo, "config", "merge.dvlite.driver").strip() == \
        "dvlite merge-driver %O %A %B %P"
    attrs = (repo / ".gitattributes").read_text().splitlines()
    assert "*.dvl merge=dvlite" in attrs
    assert "dvlite.lock merge=dvlite" in attrs
    assert ".gitattributes" in git(repo, "diff", "--cached", "--name-only")


def test_install_twice_changes_nothing(repo: Path) -> None:
    assert run("install").exit_code == 0
    before = snapshot(repo), hooks_snapshot(repo / ".git" / "hooks")
    r = run("install")
    assert r.exit_code == 0
    assert "nothing changed" in r.stdout
    assert (snapshot(repo), hooks_snapshot(repo / ".git" / "hooks")) == before


def test_user_hook_is_chained_and_restored(repo: Path, hook_path: None) -> None:
    hooks = repo / ".git" / "hooks"
    mine = user_hook(hooks / "pre-commit", 'echo "user hook ran" >> "$(git rev-parse '
                     '--show-toplevel)/../user.log"')
    r = run("install")
    assert r.exit_code == 0
    assert "kept the existing pre-commit hook" in r.stdout
    assert (hooks / "pre-commit.dvlite-chained").read_bytes() == mine
    assert run("install").exit_code == 0  # re-install keeps the chain as it is
    assert (hooks / "pre-commit.dvlite-chained").read_bytes() == mine
    (repo / "f.txt").write_text("x")
    sh(repo, "add", "f.txt")
    sh(repo, "commit", "-q", "-m", "one")
    assert (repo.parent / "user.log").read_text() == "user hook ran\n"
    r = run("uninstall")
    assert r.exit_code == 0
    assert "restored your pre-commit hook" in r.stdout
    assert (hooks / "pre-commit").read_bytes() == mine
    assert not (hooks / "pre-commit.dvlite-chained").exists()
    assert sorted(p.name for p in hooks.iterdir() if not p.name.endswith(".sample")) == \
        ["pre-commit"]
    (repo / "f.txt").write_text("y")
    sh(repo, "commit", "-q", "-am", "two")
    assert (repo.parent / "user.log").read_text() == "user hook ran\n" * 2
    with pytest.raises(subprocess.CalledProcessError):
        git(repo, "config", "merge.dvlite.driver")


def test_failing_user_hook_still_blocks_the_commit(repo: Path, hook_path: None) -> None:
    hooks = repo / ".git" / "hooks"
    user_hook(hooks / "pre-commit", "echo 'user says no' >&2; exit 3")
    assert run("install").exit_code == 0
    (repo / "f.txt").write_text("x")
    sh(repo, "add", "f.txt")
    proc = sh(repo, "commit", "-q", "-m", "one", check=False)
    assert proc.returncode != 0
    assert "user says no" in proc.stderr


def test_lfs_style_pre_push_keeps_working_with_stdin(repo: Path, hook_path: None,
                                                    tmp_path: Path) -> None:
    """A git-lfs pre-push hook reads the ref lines on stdin; chained, it still gets them."""
    hooks = repo / ".git" / "hooks"
    lfs = user_hook(hooks / "pre-push",
                    'command -v git-lfs >/dev/null 2>&1 || true\n'
                    f'cat > "{tmp_path}/lfs-stdin"; echo "$1 $2" > "{tmp_path}/lfs-args"')
    assert run("install").exit_code == 0
    assert (hooks / "pre-push.dvlite-chained").read_bytes() == lfs
    origin = tmp_path / "o.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(repo, "remote", "add", "origin", str(origin))
    sh(repo, "push", "-q", "origin", "main")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert (tmp_path / "lfs-stdin").read_text() == \
        f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"
    assert (tmp_path / "lfs-args").read_text() == f"origin {origin}\n"
    assert run("uninstall").exit_code == 0
    assert (hooks / "pre-push").read_bytes() == lfs


def test_core_hooks_path_is_respected(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", "githooks")
    assert run("install").exit_code == 0
    assert (repo / "githooks" / "post-checkout").read_bytes() == script("post-checkout")
    assert not (repo / ".git" / "hooks" / "post-checkout").exists()
    assert run("uninstall").exit_code == 0
    assert not (repo / "githooks" / "post-checkout").exists()


def test_committed_hooks_folder_is_never_modified(repo: Path) -> None:
    team = repo / ".githooks"
    team.mkdir()
    user_hook(team / "pre-commit", "echo team hook")
    (team / "post-merge").write_bytes(script("post-merge"))  # dvlite's, committed by hand
    git(repo, "add", ".githooks")
    git(repo, "commit", "-q", "-m", "team hooks")
    git(repo, "config", "core.hooksPath", ".githooks")
    before = snapshot(repo)
    for command in ("install", "uninstall"):
        r = run(command)
        assert r.exit_code == 1
        lines = r.stderr.splitlines()
        assert lines[0] == (f"error: cannot {command} hooks in {team}: git tracks "
                            "post-merge, pre-commit there, and dvlite never changes a "
                            "committed file")
        assert lines[1].startswith("hint: have each committed hook call `dvlite hook NAME")
        assert len(lines) == 2
        assert snapshot(repo) == before
        assert git(repo, "status", "--porcelain") == ""
    with pytest.raises(subprocess.CalledProcessError):
        git(repo, "config", "merge.dvlite.driver")


def test_shared_hooks_folder_of_another_repository_is_never_modified(
        repo: Path, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    git(tmp_path, "init", "-q", str(dotfiles))
    (dotfiles / "hooks").mkdir()
    mine = user_hook(dotfiles / "hooks" / "pre-push", "echo shared")
    git(dotfiles, "add", "hooks")
    git(dotfiles, "commit", "-q", "-m", "shared hooks")
    git(repo, "config", "core.hooksPath", str(dotfiles / "hooks"))
    r = run("install")
    assert r.exit_code == 1 and "git tracks pre-push there" in r.stderr
    assert sorted(p.name for p in (dotfiles / "hooks").iterdir()) == ["pre-push"]
    assert (dotfiles / "hooks" / "pre-push").read_bytes() == mine


def test_untracked_hooks_in_a_committed_folder_are_installed(repo: Path) -> None:
    team = repo / ".githooks"
    team.mkdir()
    (team / "README").write_text("our hooks")
    git(repo, "add", ".githooks")
    git(repo, "commit", "-q", "-m", "hooks folder")
    git(repo, "config", "core.hooksPath", ".githooks")
    assert run("install").exit_code == 0
    assert (team / "pre-push").read_bytes() == script("pre-push")
    assert git(repo, "diff", "HEAD", "--name-only", "--", ".githooks") == ""
    assert run("uninstall").exit_code == 0
    assert sorted(p.name for p in team.iterdir()) == ["README"]


def test_both_hook_and_chained_present_is_left_alone(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    first = user_hook(hooks / "post-merge", "echo a")
    second = user_hook(hooks / "post-merge.dvlite-chained", "echo b")
    r = run("install")
    assert r.exit_code == 0
    assert "hook not installed: post-merge" in r.stderr
    assert (hooks / "post-merge").read_bytes() == first
    assert (hooks / "post-merge.dvlite-chained").read_bytes() == second


def test_older_dvlite_script_is_updated_not_chained(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    user_hook(hooks / "post-merge", "# dvlite-hook: post-merge (an older version)\nexit 0")
    r = run("install")
    assert r.exit_code == 0
    assert (hooks / "post-merge").read_bytes() == script("post-merge")
    assert not (hooks / "post-merge.dvlite-chained").exists()


def test_json_reports(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    user_hook(hooks / "pre-push", "exit 0")
    r = run("install", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["installed"] == list(HOOK_NAMES)
    assert doc["chained"] == ["pre-push"]
    assert doc["attributes_added"] == ["*.dvl merge=dvlite", "dvlite.lock merge=dvlite"]
    doc = json.loads(run("uninstall", "--json").stdout)
    assert doc["removed"] == list(HOOK_NAMES)
    assert doc["restored"] == ["pre-push"]


def test_uninstall_without_install_changes_nothing(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    user_hook(hooks / "pre-push", "exit 0")
    before = hooks_snapshot(hooks)
    r = run("uninstall")
    assert r.exit_code == 0
    assert "nothing removed" in r.stdout
    assert hooks_snapshot(hooks) == before


def test_scripts_are_silent_no_ops_without_dvlite(repo: Path) -> None:
    assert run("install").exit_code == 0
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    for name in HOOK_NAMES:
        proc = subprocess.run([str(repo / ".git" / "hooks" / name), "a", "b", "1"], cwd=repo,
                              env=env, input="", capture_output=True, text=True, check=False)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", ""), name


def test_packaged_scripts_are_short_and_executable() -> None:
    folder = ROOT / "hooks"
    for name in HOOK_NAMES:
        path = folder / name
        assert path.stat().st_mode & stat.S_IXUSR
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n")
        assert f'dvlite hook {name} "$@"' in text
        assert len(text.splitlines()) <= 15
        assert subprocess.run(["sh", "-n", str(path)], check=False).returncode == 0
        # what `dvlite install` copies is this file, through the installed package
        assert (resources.files("dvlite.hooks") / name).read_bytes() == path.read_bytes()
    assert "`dvlite.hooks`" in (folder / "README.md").read_text()


def test_install_needs_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("init", "--no-scm").exit_code == 0
    r = run("install")
    assert r.exit_code == 1
    assert "need git" in r.stderr
