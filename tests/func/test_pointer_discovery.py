"""Which `.dvl` files are pointers: those git tracks, and untracked ones beside tracked
files; in a folder git tracks nothing in, only one that parses (else it is data)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import gen, git, run


def test_folder_with_a_data_file_named_dvl_can_be_added(repo: Path) -> None:
    gen(repo, {"data": {"x.dvl": "not a pointer, just data", "a.csv": "1,2",
                        "deep": {"y.dvl": b"\x00\x01binary"}}})
    r = run("status")
    assert r.exit_code == 0, r.stderr
    r = run("add", "data")
    assert r.exit_code == 0, r.stderr
    assert "3 files" in r.stdout  # both .dvl data files are in the folder's manifest
    assert run("status", "--exit-code").exit_code == 0
    shutil.rmtree(repo / "data")
    assert run("checkout").exit_code == 0
    assert (repo / "data" / "x.dvl").read_text() == "not a pointer, just data"
    assert (repo / "data" / "deep" / "y.dvl").read_bytes() == b"\x00\x01binary"
    assert run("status", "--exit-code").exit_code == 0
    assert run("fsck").exit_code == 0


def test_untracked_pointer_in_a_new_folder_is_found(repo: Path) -> None:
    gen(repo, {"new": {"f.bin": "payload"}})
    assert run("add", "--no-stage", "new/f.bin").exit_code == 0
    assert git(repo, "ls-files", "new") == ""
    (repo / "new" / "f.bin").unlink()
    r = run("status", "--exit-code")
    assert r.exit_code == 1 and "new/f.bin" in r.stdout


def test_bad_untracked_pointer_beside_tracked_files_is_still_an_error(repo: Path) -> None:
    gen(repo, {"code": {"main.py": "print()"}})
    git(repo, "add", "code")
    (repo / "code" / "typo.dvl").write_text("path: typo\ntype: file\n")
    r = run("status")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: code/typo.dvl: missing 'hash'")
    r = run("add", "code/main.py")
    assert r.exit_code == 1 and "code/typo.dvl" in r.stderr


def test_broken_pointer_in_a_new_folder_is_still_refused(repo: Path) -> None:
    gen(repo, {"new": {"f.bin.dvl": "path: f.bin\ntype: file\nsize: 3\n"}})
    r = run("status")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: new/f.bin.dvl: missing 'hash'")
