"""pre-commit reports (and with hooks.strict blocks); pre-push uploads exactly the pushed
commits' data and blocks the git push when it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvlite.config import edit
from dvlite.core.oid import Oid
from dvlite.repo.githooks.push import RefUpdate, commits_to_push, parse_updates
from dvlite.scm import Git
from tests.helpers import folder_remote_oids, gen, git, read_pointer, run
from tests.hooks.conftest import World, sh


def on_remote(remote: Path, oid: Oid) -> bool:
    return oid.hex in folder_remote_oids(remote, oid.algo)


def add(repo: Path, tree: dict[str, object], *paths: str) -> None:
    gen(repo, tree)
    r = run("add", *paths, cwd=repo)
    assert r.exit_code == 0, r.stderr


def test_pre_commit_reports_unadded_changes(world: World) -> None:
    a = world.a
    add(a, {"data.csv": "1,2\n"}, "data.csv")
    sh(a, "commit", "-q", "-m", "data")
    (a / "data.csv").chmod(0o644)
    (a / "data.csv").write_text("1,2,3\n")
    (a / "other.txt").write_text("x")
    sh(a, "add", "other.txt")
    proc = sh(a, "commit", "-q", "-m", "other")
    assert "warning: tracked data changed but not re-added" in proc.stderr
    assert "modified: data.csv" in proc.stderr
    assert "hint: dvlite add data.csv" in proc.stderr
    assert git(a, "log", "-1", "--format=%s").strip() == "other"


def test_pre_commit_reports_a_changed_stage_output(world: World) -> None:
    a = world.a
    gen(a, {"dvlite.yaml": "stages:\n  make:\n    cmd: echo 1 > out.txt\n"
                           "    outs: [out.txt]\n"})
    assert run("repro", cwd=a).exit_code == 0
    sh(a, "add", "-A")
    sh(a, "commit", "-q", "-m", "pipeline")
    (a / "out.txt").write_text("edited\n")
    (a / "other.txt").write_text("x")
    sh(a, "add", "other.txt")
    proc = sh(a, "commit", "-q", "-m", "other")
    assert "modified: out.txt" in proc.stderr
    assert "hint: dvlite repro make (or dvlite commit make)" in proc.stderr
    assert "dvlite add" not in proc.stderr.replace("re-added with `dvlite add`", "")


def test_pre_commit_strict_blocks(world: World) -> None:
    a = world.a
    add(a, {"d": {"x": "1", "y": "2"}}, "d")
    sh(a, "commit", "-q", "-m", "data")
    edit(a / ".dvlite" / "config.local", "hooks.strict", True)
    (a / "d" / "x").chmod(0o644)
    (a / "d" / "x").write_text("changed")
    (a / "other.txt").write_text("x")
    sh(a, "add", "other.txt")
    proc = sh(a, "commit", "-q", "-m", "other", check=False)
    assert proc.returncode != 0
    assert "modified: d/x" in proc.stderr
    assert "commit blocked (hooks.strict = true)" in proc.stderr
    assert git(a, "log", "-1", "--format=%s").strip() == "data"
    assert run("add", "d", cwd=a).exit_code == 0
    sh(a, "commit", "-q", "-m", "other")  # clean again: not blocked
    assert git(a, "log", "-1", "--format=%s").strip() == "other"


def test_pre_commit_clean_is_silent(world: World) -> None:
    a = world.a
    add(a, {"data.csv": "1\n"}, "data.csv")
    proc = sh(a, "commit", "-q", "-m", "data")
    assert proc.stderr == ""


def test_pre_push_uploads_exactly_the_pushed_commits(world: World) -> None:
    a = world.a
    add(a, {"m.bin": b"v1"}, "m.bin")
    sh(a, "commit", "-q", "-m", "v1")
    v1 = read_pointer(a / "m.bin.dvl").oid
    sh(a, "push", "-q", "origin", "main")
    assert on_remote(world.remote, v1)
    sh(a, "checkout", "-q", "-b", "local-only")
    (a / "m.bin").chmod(0o644)
    add(a, {"m.bin": b"v2 local only"}, "m.bin")
    sh(a, "commit", "-q", "-m", "v2")
    v2 = read_pointer(a / "m.bin.dvl").oid
    sh(a, "checkout", "-q", "main")
    add(a, {"d": {"f": b"folder file"}}, "d")
    sh(a, "commit", "-q", "-m", "folder")
    folder = read_pointer(a / "d.dvl").oid
    proc = sh(a, "push", "-q", "origin", "main")
    assert "uploaded 2 object(s)" in proc.stderr
    assert on_remote(world.remote, folder)
    assert not on_remote(world.remote, v2)  # that branch was not pushed
    sh(a, "push", "-q", "origin", "local-only")
    assert on_remote(world.remote, v2)


def test_pre_push_blocks_when_the_remote_is_unreachable(world: World, tmp_path: Path) -> None:
    a = world.a
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a folder")
    edit(a / ".dvlite" / "config.local", "remote.origin.url", str(blocker / "store"))
    add(a, {"m.bin": b"v1"}, "m.bin")
    sh(a, "commit", "-q", "-m", "v1")
    proc = sh(a, "push", "-q", "origin", "main", check=False)
    assert proc.returncode != 0
    assert "error: dvlite: uploading the data failed" in proc.stderr
    assert "git push blocked" in proc.stderr
    assert git(world.origin, "rev-parse", "main") != git(a, "rev-parse", "main")


def test_pre_push_blocks_when_an_object_is_missing(world: World) -> None:
    a = world.a
    add(a, {"m.bin": b"v1"}, "m.bin")
    sh(a, "commit", "-q", "-m", "v1")
    oid = read_pointer(a / "m.bin.dvl").oid
    obj = a / ".dvlite" / "cache" / oid.algo / oid.hex[:2] / oid.hex
    obj.chmod(0o644)
    obj.unlink()
    proc = sh(a, "push", "-q", "origin", "main", check=False)
    assert proc.returncode != 0
    assert "could not be uploaded: m.bin" in proc.stderr
    assert git(world.origin, "rev-parse", "main") != git(a, "rev-parse", "main")


def test_pre_push_skip_env(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a = world.a
    add(a, {"m.bin": b"v1"}, "m.bin")
    sh(a, "commit", "-q", "-m", "v1")
    monkeypatch.setenv("DVLITE_SKIP_HOOKS", "1")
    sh(a, "push", "-q", "origin", "main")
    assert not on_remote(world.remote, read_pointer(a / "m.bin.dvl").oid)


def test_pre_push_branch_deletion_pushes_nothing(world: World) -> None:
    a = world.a
    sh(a, "push", "-q", "origin", "main:gone")
    proc = sh(a, "push", "-q", "origin", ":gone")
    assert proc.stderr == ""


def test_parse_updates_skips_deletions_and_junk() -> None:
    z = "0" * 40
    lines = (f"refs/heads/a {'1' * 40} refs/heads/a {z}\n"
             f"(delete) {z} refs/heads/b {'2' * 40}\n"
             "garbage\n")
    assert parse_updates(lines.encode()) == [
        RefUpdate("refs/heads/a", "1" * 40, "refs/heads/a", z)]


def test_commits_to_push_excludes_what_the_remote_has(world: World) -> None:
    a = world.a
    base = git(a, "rev-parse", "HEAD").strip()
    for i in range(3):
        (a / f"f{i}").write_text(str(i))
        sh(a, "add", f"f{i}")
        sh(a, "commit", "-q", "-m", str(i))
    head = git(a, "rev-parse", "HEAD").strip()
    g = Git(a)
    update = RefUpdate("refs/heads/main", head, "refs/heads/main", base)
    assert commits_to_push(g, "origin", [update]) == \
        git(a, "rev-list", f"{base}..{head}").split()
    unknown = RefUpdate("refs/heads/x", head, "refs/heads/x", "f" * 40)  # never fetched
    assert len(commits_to_push(g, "origin", [unknown])) == 3


def test_pre_push_accepts_data_already_on_the_remote(world: World) -> None:
    a = world.a
    add(a, {"m.bin": b"v1"}, "m.bin")
    sh(a, "commit", "-q", "-m", "v1")
    sh(a, "push", "-q", "origin", "main")
    b = world.clone("b")  # its cache is empty: the clone ran no hook
    (b / "notes.txt").write_text("x")
    sh(b, "add", "notes.txt")
    sh(b, "commit", "-q", "-m", "notes")
    proc = sh(b, "push", "-q", "origin", "main")
    assert "blocked" not in proc.stderr
    assert git(world.origin, "rev-parse", "main") == git(b, "rev-parse", "main")


def _no_remote_repo(repo: Path, tmp_path: Path) -> Path:
    """`repo` with hooks installed, a git origin, and no dvlite remote."""
    assert run("install").exit_code == 0
    origin = tmp_path / "o.git"
    sh(tmp_path, "init", "-q", "--bare", str(origin))
    sh(repo, "remote", "add", "origin", str(origin))
    return origin


def test_pre_push_without_a_dvlite_remote_blocks_commits_with_data(
        repo: Path, hook_path: None, tmp_path: Path) -> None:
    origin = _no_remote_repo(repo, tmp_path)
    add(repo, {"m.bin": b"v1"}, "m.bin")
    sh(repo, "commit", "-q", "-m", "v1")
    proc = sh(repo, "push", "-q", "origin", "main", check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: dvlite")]
    assert errors == ["error: dvlite: the pushed commits track data, which would stay only "
                      "on this machine: no remote given and no default remote set"]
    assert "hooks.push false" in proc.stderr and "--no-verify" in proc.stderr
    assert git(origin, "for-each-ref") == ""  # nothing reached origin
    # the documented ways out: one push without the hook, or the hook off for the repo
    sh(repo, "push", "-q", "--no-verify", "origin", "main")
    add(repo, {"m.bin": b"v2"}, "m.bin")
    sh(repo, "commit", "-q", "-m", "v2")
    assert run("config", "hooks.push", "false").exit_code == 0
    sh(repo, "push", "-q", "origin", "main")
    assert git(origin, "rev-parse", "main") == git(repo, "rev-parse", "main")


def test_pre_push_without_a_dvlite_remote_passes_commits_without_data(
        repo: Path, hook_path: None, tmp_path: Path) -> None:
    origin = _no_remote_repo(repo, tmp_path)
    (repo / "README").write_text("code only")
    sh(repo, "add", "README", ".gitattributes")
    sh(repo, "commit", "-q", "-m", "code")
    proc = sh(repo, "push", "-q", "origin", "main")
    assert "dvlite" not in proc.stderr
    assert git(origin, "rev-parse", "main") == git(repo, "rev-parse", "main")


def test_chained_pre_push_and_dvlite_both_read_the_refs(world: World, tmp_path: Path) -> None:
    a = world.a
    chained = a / ".git" / "hooks" / "pre-push.dvlite-chained"
    chained.write_text(f'#!/bin/sh\ncat > "{tmp_path}/seen"\n')
    chained.chmod(0o755)
    add(a, {"m.bin": b"v1"}, "m.bin")
    sh(a, "commit", "-q", "-m", "v1")
    sh(a, "push", "-q", "origin", "main")
    head = git(a, "rev-parse", "HEAD").strip()
    assert (tmp_path / "seen").read_text().split()[:2] == ["refs/heads/main", head]
    assert on_remote(world.remote, read_pointer(a / "m.bin.dvl").oid)


def test_failing_chained_pre_push_blocks_before_any_upload(world: World) -> None:
    a = world.a
    chained = a / ".git" / "hooks" / "pre-push.dvlite-chained"
    chained.write_text("#!/bin/sh\necho 'lfs says no' >&2\nexit 2\n")
    chained.chmod(0o755)
    add(a, {"m.bin": b"v1"}, "m.bin")
    sh(a, "commit", "-q", "-m", "v1")
    proc = sh(a, "push", "-q", "origin", "main", check=False)
    assert proc.returncode != 0
    assert "lfs says no" in proc.stderr
    assert not on_remote(world.remote, read_pointer(a / "m.bin.dvl").oid)
