"""`dvlite checkout`: restore from the cache, never destroy unsaved data without --force."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from dvlite.storage.hashing import hash_file
from tests.func.util import user_snapshot as snapshot
from tests.helpers import check_repo, gen, object_path, read_pointer, run


@pytest.fixture
def tracked(repo: Path) -> Path:
    gen(repo, {"data": {"a": "1", "sub": {"b": "2"}}, "model.bin": "m"})
    assert run("add", "data", "model.bin").exit_code == 0
    return repo


def test_restores_missing(tracked: Path) -> None:
    shutil.rmtree(tracked / "data")
    (tracked / "model.bin").unlink()
    r = run("checkout")
    assert r.exit_code == 0 and "checked out 3 files" in r.stdout
    assert (tracked / "data" / "sub" / "b").read_text() == "2"
    assert run("checkout").stdout == "Workspace already matches the pointers.\n"
    check_repo(tracked)


def test_removes_extra_files_in_folder(tracked: Path) -> None:
    gen(tracked, {"data": {"extra": {"x": "x"}}})
    # the extra file is not in the cache: refusing keeps the only copy
    r = run("checkout")
    assert r.exit_code == 1 and "data/extra/x" in r.stderr
    assert (tracked / "data" / "extra" / "x").exists()
    assert run("add", "data").exit_code == 0
    assert run("checkout").exit_code == 0


def test_modified_file_is_a_conflict_without_force(tracked: Path) -> None:
    (tracked / "model.bin").write_text("my edit")
    (tracked / "data" / "a").write_text("edit a")
    before = snapshot(tracked)
    r = run("checkout")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: checkout would overwrite data that is not in the cache:")
    assert "data/a" in r.stderr and "model.bin" in r.stderr
    assert "hint: " in r.stderr
    assert snapshot(tracked) == before


def test_force_saves_old_bytes_in_cache_first(tracked: Path) -> None:
    (tracked / "model.bin").write_text("my edit")
    edited, _ = hash_file(tracked / "model.bin", "xxh128")
    assert not object_path(tracked, edited).exists()
    r = run("checkout", "--force")
    assert r.exit_code == 0, r.stderr
    assert (tracked / "model.bin").read_text() == "m"
    assert object_path(tracked, edited).read_text() == "my edit"
    check_repo(tracked)


def test_file_whose_content_is_cached_is_replaced_without_force(tracked: Path) -> None:
    first = (tracked / "model.bin.dvl").read_bytes()
    (tracked / "model.bin").write_text("v2")
    assert run("add", "model.bin").exit_code == 0
    (tracked / "model.bin.dvl").write_bytes(first)  # like `git checkout HEAD~ -- x.dvl`
    assert run("checkout").exit_code == 0
    assert (tracked / "model.bin").read_text() == "m"


def test_symlink_at_tracked_path_is_never_written_through(tracked: Path, tmp_path: Path) -> None:
    sentinel = tmp_path / "sentinel"
    sentinel.write_text("precious")
    (tracked / "model.bin").unlink()
    os.symlink(sentinel, tracked / "model.bin")
    r = run("checkout")
    assert r.exit_code == 1 and "model.bin (is a symlink)" in r.stderr
    assert os.path.islink(tracked / "model.bin")
    r = run("checkout", "--force")
    assert r.exit_code == 0
    assert not os.path.islink(tracked / "model.bin")
    assert (tracked / "model.bin").read_text() == "m"
    assert sentinel.read_text() == "precious"


def test_symlinked_folder_is_replaced_only_with_force(tracked: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a").write_text("keep")
    shutil.rmtree(tracked / "data")
    os.symlink(outside, tracked / "data")
    assert run("checkout").exit_code == 1
    assert run("checkout", "--force").exit_code == 0
    assert (tracked / "data").is_dir() and not (tracked / "data").is_symlink()
    assert (outside / "a").read_text() == "keep"


def test_wrong_type_at_path(tracked: Path) -> None:
    (tracked / "model.bin").unlink()
    (tracked / "model.bin").mkdir()
    (tracked / "model.bin" / "x").write_text("x")
    assert run("checkout").exit_code == 1
    assert run("checkout", "--force").exit_code == 0
    assert (tracked / "model.bin").read_text() == "m"


def test_target_file_inside_folder(tracked: Path) -> None:
    shutil.rmtree(tracked / "data")
    (tracked / "model.bin").unlink()
    r = run("checkout", "data/sub/b")
    assert r.exit_code == 0
    assert (tracked / "data" / "sub" / "b").read_text() == "2"
    assert not (tracked / "data" / "a").exists()
    assert not (tracked / "model.bin").exists()


def test_missing_object_reported(tracked: Path) -> None:
    object_path(tracked, read_pointer(tracked / "model.bin.dvl").oid).unlink()
    (tracked / "model.bin").unlink()
    (tracked / "data" / "a").unlink()
    r = run("checkout")
    assert r.exit_code == 1
    assert "1 file(s) not in the cache, not checked out: model.bin" in r.stderr
    assert (tracked / "data" / "a").read_text() == "1"  # the others still written


def test_checkout_json(tracked: Path) -> None:
    import json

    (tracked / "model.bin").unlink()
    assert json.loads(run("checkout", "--json").stdout) == {"written": 1, "deleted": 0,
                                                              "discarded": []}


def test_stale_temp_files_from_a_killed_checkout_are_removed(tracked: Path) -> None:
    stale = tracked / "data" / ".a.dvlite-tmp-0123456789ab"
    stale.write_text("half")
    (tracked / "data" / "a").unlink()
    assert run("checkout").exit_code == 0
    assert not stale.exists()
    check_repo(tracked)


def test_force_saves_every_modified_file_output(repo: Path) -> None:
    gen(repo, {"a.bin": "a", "b.bin": "b", "c.bin": "c"})
    assert run("add", "a.bin", "b.bin", "c.bin").exit_code == 0
    old = time.time_ns() - 10**10
    for name in ("a.bin", "b.bin", "c.bin"):
        (repo / name).write_text(f"edited {name}")
        os.utime(repo / name, ns=(old, old))  # old enough for the state db to remember
    assert run("status", "--exit-code").exit_code == 1  # records the edited hashes
    edited = [hash_file(repo / n, "xxh128")[0] for n in ("a.bin", "b.bin", "c.bin")]
    assert run("checkout", "--force").exit_code == 0
    for oid, name in zip(edited, ("a.bin", "b.bin", "c.bin"), strict=True):
        assert object_path(repo, oid).read_text() == f"edited {name}"


def test_force_over_wrong_type_saves_the_data_first(tracked: Path) -> None:
    (tracked / "model.bin").unlink()
    gen(tracked, {"model.bin": {"notes.txt": "precious notes"}})
    shutil.rmtree(tracked / "data")
    (tracked / "data").write_text("precious file")
    assert run("checkout").exit_code == 1
    assert run("checkout", "--force").exit_code == 0
    for text in ("precious notes", "precious file"):
        oid, _ = hash_file(_write_tmp(tracked, text), "xxh128")
        assert object_path(tracked, oid).read_text() == text
    check_repo(tracked)


def _write_tmp(repo: Path, text: str) -> Path:
    p = repo.parent / "probe"
    p.write_text(text)
    return p


def test_empty_folder_roundtrip(repo: Path) -> None:
    gen(repo, {"e": {"only": {"empty": {}}}, "empty.bin": b""})
    assert run("add", "e", "empty.bin").exit_code == 0
    p = read_pointer(repo / "e.dvl")
    assert (p.size, p.nfiles) == (0, 0)
    assert str(read_pointer(repo / "empty.bin.dvl").oid) == (
        "xxh128:99aa06d3014798d86001c324468d497f")
    shutil.rmtree(repo / "e")
    (repo / "empty.bin").unlink()
    assert run("status", "--exit-code").exit_code == 1
    assert run("checkout").exit_code == 0
    assert (repo / "e").is_dir() and list((repo / "e").iterdir()) == []  # empty subfolders
    assert (repo / "empty.bin").read_bytes() == b""                      # are not tracked
    assert run("status", "--exit-code").exit_code == 0
    check_repo(repo)


def test_fresh_clone_without_cache(tracked: Path) -> None:
    import json

    shutil.rmtree(tracked / ".dvlite" / "cache")
    shutil.rmtree(tracked / "data")
    out = {o["path"]: o for o in json.loads(run("status", "--json").stdout)["outputs"]}
    assert out["data"]["not_in_cache"] == 1 and out["data"]["missing"] is True
    assert out["model.bin"]["not_in_cache"] == 1
    r = run("checkout")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: 1 file(s) not in the cache, not checked out: data")
    assert (tracked / "model.bin").read_text() == "m"  # untouched


@pytest.mark.root
def test_checkout_permission_denied_is_clear(tracked: Path) -> None:
    import subprocess

    (tracked / "data" / "sub" / "b").unlink()
    sub = tracked / "data" / "sub"
    if subprocess.run(["chattr", "+i", str(sub)], capture_output=True, check=False).returncode:
        pytest.skip("chattr +i is not available")
    try:
        r = run("checkout")
    finally:
        subprocess.run(["chattr", "-i", str(sub)], check=True)
    assert r.exit_code == 1
    assert r.stderr.startswith("error: permission denied while checking out data/sub/b")
    assert "unexpected" not in r.stderr
    assert not list(sub.iterdir())  # no partial file
    assert run("checkout").exit_code == 0
    check_repo(tracked)


def test_cache_path_that_is_not_a_folder(tracked: Path) -> None:
    shutil.rmtree(tracked / ".dvlite" / "cache")
    (tracked / ".dvlite" / "cache").write_text("not a folder")
    (tracked / "model.bin").unlink()
    r = run("checkout")
    assert r.exit_code == 1 and "not in the cache" in r.stderr and "unexpected" not in r.stderr
    gen(tracked, {"new.bin": "n"})
    r = run("add", "new.bin")
    assert r.exit_code == 1 and r.stderr.startswith("error: Not a directory while writing to")
