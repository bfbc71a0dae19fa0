"""post-checkout and post-merge on real git: clones get the exact data of each commit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dvlite.config import edit
from tests.helpers import check_repo, gen, git, read_pointer, run
from tests.hooks.conftest import World, copy_cache, sh


def commit_data(repo: Path, tree: dict[str, object], msg: str, *paths: str) -> None:
    gen(repo, tree)
    r = run("add", *paths, cwd=repo)
    assert r.exit_code == 0, r.stderr
    sh(repo, "commit", "-q", "-m", msg)


V1 = {"model.bin": b"weights v1" * 100, "images": {"a.png": b"A1", "sub": {"b.png": b"B1"}}}
V2 = {"model.bin": b"weights v2" * 100, "images": {"a.png": b"A2", "c.png": b"C2"}}


def tree_bytes(root: Path) -> dict[str, bytes]:
    out = {"model.bin": (root / "model.bin").read_bytes()}
    for p in sorted((root / "images").rglob("*")):
        if p.is_file():
            out["images/" + p.relative_to(root / "images").as_posix()] = p.read_bytes()
    return out


def v2(root: Path) -> None:
    shutil.rmtree(root / "images")
    commit_data(root, V2, "v2", "model.bin", "images")


@pytest.fixture
def pushed(world: World) -> World:
    """A has committed and pushed V1 then V2 (the pre-push hook uploaded the data)."""
    commit_data(world.a, V1, "v1", "model.bin", "images")
    v2(world.a)
    proc = sh(world.a, "push", "-q", "origin", "main")
    assert "uploaded" in proc.stderr
    return world


def test_pull_fetches_and_checks_out_the_new_data(world: World) -> None:
    b = world.clone("b")
    commit_data(world.a, V1, "v1", "model.bin", "images")
    sh(world.a, "push", "-q", "origin", "main")
    proc = sh(b, "pull", "-q", "origin", "main")
    assert "dvlite: checked out" in proc.stderr
    assert tree_bytes(b) == tree_bytes(world.a)
    v2(world.a)
    sh(world.a, "push", "-q", "origin", "main")
    sh(b, "pull", "-q", "origin", "main")
    assert tree_bytes(b) == tree_bytes(world.a)
    assert not (b / "images" / "sub").exists()
    assert run("status", "--exit-code", cwd=b).exit_code == 0
    check_repo(b)


def test_checkout_of_older_commit_restores_older_bytes(pushed: World) -> None:
    b = pushed.clone("b")
    assert run("pull", cwd=b).exit_code == 0
    new = tree_bytes(b)
    sh(b, "checkout", "-q", "HEAD~1")
    assert tree_bytes(b) == {"model.bin": b"weights v1" * 100, "images/a.png": b"A1",
                             "images/sub/b.png": b"B1"}
    sh(b, "checkout", "-q", "main")
    assert tree_bytes(b) == new
    check_repo(b)


def test_from_cache_only_when_fetch_is_off(pushed: World) -> None:
    b = pushed.clone("b")
    edit(b / ".dvlite" / "config.local", "hooks.fetch", False)
    proc = sh(b, "checkout", "-q", "-b", "other")
    assert "warning: dvlite: not in the cache, so not checked out: images, model.bin" \
        in proc.stderr
    assert not (b / "model.bin").exists()
    copy_cache(pushed.a, b)  # the objects arrive by other means
    sh(b, "checkout", "-q", "HEAD~1")
    assert (b / "model.bin").read_bytes() == b"weights v1" * 100


def test_unreachable_remote_warns_but_never_fails(pushed: World, tmp_path: Path) -> None:
    b = pushed.clone("b")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    edit(b / ".dvlite" / "config.local", "remote.origin.url", str(blocker / "store"))
    proc = sh(b, "checkout", "-q", "HEAD~1")
    assert proc.returncode == 0
    assert "warning: dvlite could not fetch data" in proc.stderr
    assert git(b, "rev-parse", "HEAD") == git(pushed.a, "rev-parse", "HEAD~1")


def test_no_fetch_when_everything_is_cached(pushed: World, tmp_path: Path) -> None:
    b = pushed.clone("b")
    copy_cache(pushed.a, b)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    edit(b / ".dvlite" / "config.local", "remote.origin.url", str(blocker / "store"))
    proc = sh(b, "checkout", "-q", "HEAD~1")
    assert "fetch" not in proc.stderr  # the broken remote was never contacted
    assert (b / "model.bin").read_bytes() == b"weights v1" * 100


def test_unsaved_changes_are_kept_and_the_rest_updated(pushed: World) -> None:
    a = pushed.a
    (a / "images" / "a.png").chmod(0o644)
    (a / "images" / "a.png").write_bytes(b"unsaved")
    proc = sh(a, "checkout", "-q", "HEAD~1")
    assert "dvlite kept your unsaved changes to images/a.png" in proc.stderr
    assert (a / "images" / "a.png").read_bytes() == b"unsaved"
    assert (a / "model.bin").read_bytes() == b"weights v1" * 100


def test_file_checkout_does_not_touch_data(pushed: World) -> None:
    b = pushed.clone("b")
    assert run("pull", cwd=b).exit_code == 0
    (b / "model.bin").unlink()
    (b / "notes.txt").write_text("x")
    sh(b, "add", "notes.txt")
    sh(b, "commit", "-q", "-m", "notes")
    (b / "notes.txt").write_text("changed")
    proc = sh(b, "checkout", "--", "notes.txt")  # post-checkout with flag 0
    assert "dvlite" not in proc.stderr
    assert not (b / "model.bin").exists()
    sh(b, "checkout", "-q", "-b", "again")  # a branch checkout does restore it
    assert (b / "model.bin").read_bytes() == b"weights v2" * 100


def test_rebase_checks_out_data_once_at_the_end(pushed: World) -> None:
    a = pushed.a
    (a / "README").write_text("main")
    sh(a, "add", "README")
    sh(a, "commit", "-q", "-m", "readme on main")
    sh(a, "checkout", "-q", "-b", "feature", "HEAD~2")
    assert (a / "model.bin").read_bytes() == b"weights v1" * 100
    (a / "README").write_text("feature")
    sh(a, "add", "README")
    sh(a, "commit", "-q", "-m", "readme on feature")
    proc = sh(a, "rebase", "main", check=False)  # stops on the README conflict
    assert proc.returncode != 0
    assert "dvlite" not in proc.stderr
    assert read_pointer(a / "model.bin.dvl").size == len(b"weights v2" * 100)
    assert (a / "model.bin").read_bytes() == b"weights v1" * 100  # untouched mid-rebase
    (a / "README").write_text("both")
    sh(a, "add", "README")
    proc = sh(a, "-c", "core.editor=true", "rebase", "--continue")
    assert "dvlite: checked out" in proc.stderr  # post-rewrite, once the rebase is done
    assert (a / "model.bin").read_bytes() == b"weights v2" * 100


def test_pull_rebase_gets_the_data(pushed: World) -> None:
    b = pushed.clone("b")
    assert run("pull", cwd=b).exit_code == 0
    (pushed.a / "model.bin").chmod(0o644)
    commit_data(pushed.a, {"model.bin": b"weights v3"}, "v3", "model.bin")
    sh(pushed.a, "push", "-q", "origin", "main")
    (b / "local.txt").write_text("local")
    sh(b, "add", "local.txt")
    sh(b, "commit", "-q", "-m", "local work")
    sh(b, "pull", "-q", "--rebase", "origin", "main")
    assert (b / "model.bin").read_bytes() == b"weights v3"


def test_skip_hooks_env(pushed: World, monkeypatch: pytest.MonkeyPatch) -> None:
    b = pushed.clone("b")
    monkeypatch.setenv("DVLITE_SKIP_HOOKS", "1")
    proc = sh(b, "checkout", "-q", "-b", "other")
    assert proc.stderr == ""
    assert not (b / "model.bin").exists()


def test_output_dropped_by_the_new_commit_is_removed(world: World) -> None:
    a = world.a
    commit_data(a, {"keep.bin": b"k"}, "keep", "keep.bin")
    commit_data(a, {"extra.bin": b"e", "scratch": {"x": b"x"}}, "extra", "extra.bin", "scratch")
    sh(a, "checkout", "-q", "HEAD~1")
    assert not (a / "extra.bin").exists()
    assert not (a / "scratch").exists()
    assert (a / "keep.bin").read_bytes() == b"k"
    sh(a, "checkout", "-q", "main")
    assert (a / "extra.bin").read_bytes() == b"e"
    (a / "extra.bin").chmod(0o644)
    (a / "extra.bin").write_bytes(b"unsaved work")
    proc = sh(a, "checkout", "-q", "HEAD~1")
    assert "extra.bin is no longer tracked here" in proc.stderr
    assert (a / "extra.bin").read_bytes() == b"unsaved work"


def test_malformed_pointer_warns_and_git_checkout_succeeds(pushed: World) -> None:
    a = pushed.a
    (a / "bad.dvl").write_text("path: ../../etc/passwd\ntype: file\n")
    sh(a, "add", "bad.dvl")
    sh(a, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "bad pointer")
    proc = sh(a, "checkout", "-q", "-b", "x")
    assert proc.returncode == 0
    assert "warning: dvlite" in proc.stderr
    assert "bad.dvl" in proc.stderr


def test_chained_post_checkout_status_is_kept(pushed: World) -> None:
    a = pushed.a
    hooks = a / ".git" / "hooks"
    chained = hooks / "post-checkout.dvlite-chained"
    chained.write_text("#!/bin/sh\necho 'user hook' >&2\nexit 5\n")
    chained.chmod(0o755)
    proc = sh(a, "checkout", "-q", "HEAD~1", check=False)
    assert proc.returncode != 0  # as before dvlite was installed (git reports 1)
    assert "user hook" in proc.stderr
    assert (a / "model.bin").read_bytes() == b"weights v1" * 100  # dvlite still ran


PIPELINE = """\
stages:
  train:
    cmd: cp data.txt model.pkl && cp data.txt m.json
    deps:
    - data.txt
    outs:
    - model.pkl
    metrics:
    - m.json
"""
EVAL = """\
  eval:
    cmd: cp model.pkl report.pkl
    deps:
    - model.pkl
    outs:
    - report.pkl
"""


def test_branch_switch_restores_stage_outputs(world: World) -> None:
    a = world.a
    gen(a, {"dvlite.yaml": PIPELINE, "data.txt": "v1\n"})
    assert run("repro", cwd=a).exit_code == 0
    sh(a, "add", "-A")
    sh(a, "commit", "-q", "-m", "v1")
    sh(a, "checkout", "-q", "-b", "exp")
    gen(a, {"dvlite.yaml": PIPELINE + EVAL, "data.txt": "v2\n"})
    assert run("repro", cwd=a).exit_code == 0
    sh(a, "add", "-A")
    sh(a, "commit", "-q", "-m", "v2")
    proc = sh(a, "checkout", "-q", "main")
    assert "warning" not in proc.stderr.lower(), proc.stderr
    # the model matches main's metrics again; the branch's own output is gone (it is
    # safe in the cache), and metrics are git's file
    assert (a / "model.pkl").read_text() == "v1\n"
    assert (a / "m.json").read_text() == "v1\n"
    assert not (a / "report.pkl").exists()
    assert run("status", "--exit-code", cwd=a).exit_code == 0
    sh(a, "checkout", "-q", "exp")
    assert (a / "model.pkl").read_text() == "v2\n"
    assert (a / "report.pkl").read_text() == "v2\n"
    check_repo(a)
