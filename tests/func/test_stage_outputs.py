"""Stage outputs recorded in dvlite.lock are tracked data, like a `.dvl`'s: every command
that lists outputs (status, checkout, ls, diff, fsck, gc, get) sees them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from dvlite.core.oid import hash_bytes
from tests.helpers import check_repo, gen, git, object_path, run

PIPELINE = """\
stages:
  train:
    cmd:
    - cp data.txt model.pkl && cp data.txt m.json
    - mkdir -p feats && cp data.txt feats/a.txt && echo b > feats/b.txt
    deps:
    - data.txt
    outs:
    - model.pkl
    - feats
    metrics:
    - m.json
"""


def _version(repo: Path, text: str, tag: str) -> None:
    gen(repo, {"data.txt": text})
    r = run("repro")
    assert r.exit_code == 0, r.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", tag)
    git(repo, "tag", tag)


@pytest.fixture
def piped(repo: Path) -> Path:
    """v1 and v2 of a pipeline whose model, feature folder and metrics follow data.txt."""
    gen(repo, {"dvlite.yaml": PIPELINE})
    _version(repo, '{"v": 1}\n', "v1")
    _version(repo, '{"v": 2}\n', "v2")
    return repo


def _status(*targets: str) -> tuple[int, list[dict[str, object]]]:
    r = run("status", "--json", "--exit-code", *targets)
    assert not r.stderr, r.stderr
    return r.exit_code, json.loads(r.stdout)["outputs"]


def test_status_reports_a_missing_or_modified_stage_output(piped: Path) -> None:
    assert _status() == (0, [
        {"path": "feats", "modified": [], "missing": False, "not_in_cache": 0,
         "corrupt": []},
        {"path": "model.pkl", "modified": [], "missing": False, "not_in_cache": 0,
         "corrupt": []}])
    (piped / "model.pkl").unlink()
    (piped / "feats" / "b.txt").write_text("edited\n")
    code, report = _status()
    assert code == 1
    assert {r["path"]: (r["missing"], r["modified"]) for r in report} == {
        "model.pkl": (True, []), "feats": (False, ["feats/b.txt"])}
    assert _status("feats/b.txt")[1] == [
        {"path": "feats", "modified": ["feats/b.txt"], "missing": False, "not_in_cache": 0,
         "corrupt": []}]


def test_checkout_restores_a_stage_output_and_the_older_bytes(piped: Path) -> None:
    (piped / "model.pkl").unlink()
    r = run("checkout")
    assert r.exit_code == 0, r.stderr
    assert (piped / "model.pkl").read_text() == '{"v": 2}\n'
    git(piped, "checkout", "-q", "v1")
    r = run("checkout")
    assert r.exit_code == 0, r.stderr
    assert (piped / "model.pkl").read_text() == '{"v": 1}\n'
    assert (piped / "feats" / "a.txt").read_text() == '{"v": 1}\n'
    # metrics are git's file: git checked out v1's, and nothing restores it from the cache
    assert (piped / "m.json").read_text() == '{"v": 1}\n'
    assert _status()[0] == 0
    check_repo(piped)


def test_uncached_output_is_not_restored_from_the_cache(piped: Path) -> None:
    (piped / "m.json").unlink()
    assert run("checkout").exit_code == 0
    assert not (piped / "m.json").exists()
    assert [r["path"] for r in _status()[1]] == ["feats", "model.pkl"]


def test_targets_name_a_stage_output_or_a_file_inside_one(piped: Path) -> None:
    git(piped, "checkout", "-q", "v1")
    r = run("checkout", "feats/a.txt")
    assert r.exit_code == 0, r.stderr
    assert (piped / "feats" / "a.txt").read_text() == '{"v": 1}\n'
    assert (piped / "feats" / "b.txt").read_text() == "b\n"
    assert (piped / "model.pkl").read_text() == '{"v": 2}\n'  # not named: not touched
    assert run("checkout", "model.pkl").exit_code == 0
    assert (piped / "model.pkl").read_text() == '{"v": 1}\n'
    missing = run("checkout", "m.json")  # git's file, not dvlite's
    assert missing.exit_code == 2
    assert "'m.json' is not tracked by dvlite" in missing.stderr


def test_ls_and_diff_show_stage_outputs(piped: Path) -> None:
    listed = json.loads(run("ls", "--json").stdout)
    v2 = hash_bytes("xxh128", b'{"v": 2}\n')
    assert [(i["path"], i["type"], i["cached"]) for i in listed] == [
        ("feats", "dir", True), ("model.pkl", "file", True)]
    assert listed[1]["hash"] == str(v2)
    at_v1 = json.loads(run("ls", "v1", "--json").stdout)
    assert at_v1[1]["hash"] == str(hash_bytes("xxh128", b'{"v": 1}\n'))
    changes = json.loads(run("diff", "v1", "v2", "--json").stdout)
    assert [c["path"] for c in changes["modified"]] == ["feats/a.txt", "model.pkl"]
    (piped / "model.pkl").write_text("hand edit\n")
    work = json.loads(run("diff", "--json").stdout)
    assert [c["path"] for c in work["modified"]] == ["model.pkl"]


def test_fsck_checks_stage_output_objects(piped: Path) -> None:
    v2 = hash_bytes("xxh128", b'{"v": 2}\n')
    os.chmod(object_path(piped, v2), 0o644)
    object_path(piped, v2).unlink()
    r = run("fsck", "--json")
    assert r.exit_code == 3
    # feats/a.txt holds the same bytes
    assert json.loads(r.stdout)["missing"] == [f"{v2} (feats/a.txt)", f"{v2} (model.pkl)"]


def test_gc_keeps_stage_outputs_of_the_workspace_and_of_older_commits(piped: Path) -> None:
    v1 = object_path(piped, hash_bytes("xxh128", b'{"v": 1}\n'))
    v2 = object_path(piped, hash_bytes("xxh128", b'{"v": 2}\n'))
    shutil.rmtree(piped / ".dvlite" / "runs")  # records would keep every run's outputs
    assert run("gc").exit_code == 0
    assert v1.exists() and v2.exists()  # v1: the tag's, v2: the workspace's
    r = run("gc", "--workspace", "--json")
    assert r.exit_code == 0, r.stderr
    assert v2.exists() and not v1.exists()
    assert str(hash_bytes("xxh128", b'{"v": 1}\n')) in r.stdout
    check_repo(piped)


def test_get_exports_a_stage_output_at_a_tag(piped: Path, tmp_path: Path) -> None:
    r = run("get", str(piped), "model.pkl", "--rev", "v1", "-o", str(tmp_path / "m1"))
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "m1").read_text() == '{"v": 1}\n'
    r = run("get", str(piped), "feats/b.txt", "--rev", "v1", "-o", str(tmp_path / "b"))
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "b").read_text() == "b\n"
    r = run("get", str(piped), "m.json", "--rev", "v1", "-o", str(tmp_path / "m"))
    assert r.exit_code == 2
    assert "'m.json' is not tracked by dvlite at" in r.stderr


def test_add_refuses_a_stage_output(piped: Path) -> None:
    r = run("add", "model.pkl")
    assert r.exit_code == 2
    assert "it is output 'model.pkl' of stage 'train'" in r.stderr
    assert not (piped / "model.pkl.dvl").exists()


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", ".git/config"])
def test_unsafe_lock_paths_are_refused_before_anything_is_written(piped: Path,
                                                                  path: str) -> None:
    lock = (piped / "dvlite.lock").read_text().replace("path: model.pkl", f"path: {path}")
    (piped / "dvlite.lock").write_text(lock)
    (piped / "feats" / "a.txt").unlink()
    for command in ("status", "checkout"):
        r = run(command)
        assert r.exit_code == 1, (command, r.stdout)
        assert r.stderr.startswith("error: dvlite.lock: stage 'train': unsafe lockfile path")
    assert not (piped / "feats" / "a.txt").exists()


def test_lock_output_through_a_symlinked_folder_is_refused(piped: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", piped / "link")
    lock = (piped / "dvlite.lock").read_text().replace("path: model.pkl", "path: link/m")
    (piped / "dvlite.lock").write_text(lock)
    r = run("checkout")
    assert r.exit_code == 1
    assert "a parent directory is a symlink leading outside the repository" in r.stderr
    assert not list((tmp_path / "elsewhere").iterdir())


def test_remove_and_move_refuse_a_stage_output(piped: Path) -> None:
    for args in (("remove", "model.pkl"), ("move", "feats", "features")):
        r = run(*args)
        assert r.exit_code == 2, args
        assert "is an output of stage 'train', not of a .dvl file" in r.stderr
    assert (piped / "model.pkl").exists() and (piped / "feats").is_dir()
    assert "/model.pkl" in (piped / ".gitignore").read_text()
