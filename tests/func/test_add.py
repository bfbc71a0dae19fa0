"""`dvlite add`: files and folders, pointers, .gitignore, staging, re-adding."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import check_repo, gen, git, object_path, read_pointer, run


def staged(repo: Path) -> list[str]:
    return git(repo, "diff", "--cached", "--name-only").split()


def test_add_file_writes_pointer_gitignore_and_stages(repo: Path) -> None:
    gen(repo, {"data.bin": b"hello"})
    r = run("add", "data.bin")
    assert r.exit_code == 0, r.stderr
    assert "added data.bin (5 B)" in r.stdout
    p = read_pointer(repo / "data.bin.dvl")
    assert (p.path, p.type, p.size, p.nfiles) == ("data.bin", "file", 5, None)
    assert object_path(repo, p.oid).read_bytes() == b"hello"
    assert (repo / ".gitignore").read_text() == "/data.bin\n"
    assert staged(repo) == [".gitignore", "data.bin.dvl"]
    assert (repo / "data.bin").read_bytes() == b"hello"
    check_repo(repo)


def test_add_folder(repo: Path) -> None:
    gen(repo, {"images": {"a.png": "a", "sub": {"b.png": "bb"}, "empty": {}}})
    assert run("add", "images").exit_code == 0
    p = read_pointer(repo / "images.dvl")
    assert (p.type, p.size, p.nfiles) == ("dir", 3, 2)
    check_repo(repo)


def test_identical_content_gives_identical_pointer_bytes(repo: Path) -> None:
    gen(repo, {"x": {"d": {"f": "same", "g": {"h": "h"}}}})
    gen(repo, {"y": {"d": {"g": {"h": "h"}, "f": "same"}}})
    assert run("add", "x/d", "y/d").exit_code == 0
    assert (repo / "x" / "d.dvl").read_bytes() == (repo / "y" / "d.dvl").read_bytes()


def test_gitignore_entry_beside_data_without_duplicates(repo: Path) -> None:
    gen(repo, {"sub": {"a": "1", "b": "2", ".gitignore": "# mine\n*.tmp\n"}})
    for _ in range(2):
        assert run("add", "sub/a", "sub/b").exit_code == 0
    assert (repo / "sub" / ".gitignore").read_text() == "# mine\n*.tmp\n/a\n/b\n"
    assert not (repo / ".gitignore").exists()
    assert git(repo, "check-ignore", "sub/a").strip() == "sub/a"


def test_readd_after_edit_records_new_version(repo: Path) -> None:
    gen(repo, {"m.bin": "v1"})
    assert run("add", "m.bin").exit_code == 0
    git(repo, "commit", "-qm", "v1")
    first = read_pointer(repo / "m.bin.dvl")
    (repo / "m.bin").write_text("version 2")
    assert run("add", "m.bin").exit_code == 0
    second = read_pointer(repo / "m.bin.dvl")
    assert second.oid != first.oid and second.size == 9
    assert object_path(repo, first.oid).exists() and object_path(repo, second.oid).exists()
    assert staged(repo) == ["m.bin.dvl"]
    check_repo(repo)


def test_readd_unchanged_keeps_bytes(repo: Path) -> None:
    gen(repo, {"d": {"a": "1"}})
    assert run("add", "d").exit_code == 0
    before = (repo / "d.dvl").read_bytes()
    mtime = (repo / "d.dvl").stat().st_mtime_ns
    assert run("add", "d").exit_code == 0
    assert (repo / "d.dvl").read_bytes() == before
    assert (repo / "d.dvl").stat().st_mtime_ns == mtime  # not rewritten


def test_no_stage_flag(repo: Path) -> None:
    gen(repo, {"f": "1"})
    r = run("add", "--no-stage", "f")
    assert r.exit_code == 0
    assert staged(repo) == []
    assert "git add f.dvl" in r.stdout
    assert (repo / "f.dvl").exists()


def test_autostage_false(repo: Path) -> None:
    assert run("config", "core.autostage", "false").exit_code == 0
    git(repo, "commit", "-qam", "cfg")
    gen(repo, {"f": "1"})
    assert run("add", "f").exit_code == 0
    assert staged(repo) == []


def test_add_pointer_file_or_inside_tracked_folder_refused(repo: Path) -> None:
    gen(repo, {"d": {"a": "1"}})
    assert run("add", "d").exit_code == 0
    r = run("add", "d.dvl")
    assert r.exit_code == 2 and "is a pointer file" in r.stderr
    r = run("add", "d/a")
    assert r.exit_code == 2 and "inside tracked folder 'd'" in r.stderr


def test_add_folder_containing_tracked_output_refused(repo: Path) -> None:
    gen(repo, {"d": {"a": "1", "b": "2"}})
    assert run("add", "d/a").exit_code == 0
    r = run("add", "d")
    assert r.exit_code == 2 and "contains tracked output 'd/a'" in r.stderr


def test_add_missing_path_and_outside_repo(repo: Path, tmp_path: Path) -> None:
    r = run("add", "nope")
    assert r.exit_code == 2 and r.stderr == "error: 'nope' does not exist\n"
    (tmp_path / "outside").write_text("x")
    r = run("add", str(tmp_path / "outside"))
    assert r.exit_code == 2 and "not inside the repository" in r.stderr
    r = run("add", ".")
    assert r.exit_code == 2


def test_add_file_already_in_git_refused(repo: Path) -> None:
    gen(repo, {"code.py": "print()"})
    git(repo, "add", "code.py")
    r = run("add", "code.py")
    assert r.exit_code == 2 and "already tracked by git" in r.stderr
    assert not (repo / "code.py.dvl").exists()


def test_add_json(repo: Path) -> None:
    import json

    gen(repo, {"f": "abc"})
    r = run("add", "--json", "f")
    data = json.loads(r.stdout)
    assert data[0]["path"] == "f" and data[0]["size"] == 3 and data[0]["type"] == "file"
    assert data[0]["hash"] == str(read_pointer(repo / "f.dvl").oid)


def test_add_executable_bit_roundtrips(repo: Path) -> None:
    gen(repo, {"d": {"run.sh": "#!/bin/sh\n"}})
    (repo / "d" / "run.sh").chmod(0o755)
    assert run("add", "d").exit_code == 0
    import shutil

    shutil.rmtree(repo / "d")
    assert run("checkout").exit_code == 0
    assert (repo / "d" / "run.sh").stat().st_mode & 0o100


def test_nested_targets_in_one_command_refused(repo: Path) -> None:
    gen(repo, {"d": {"x": "1"}})
    r = run("add", "d", "d/x")
    assert r.exit_code == 2 and "cannot add both 'd' and 'd/x'" in r.stderr
    assert not (repo / "d.dvl").exists() and not (repo / "d" / "x.dvl").exists()
    assert run("add", "d", "d/").exit_code == 0  # the same target twice is fine
    check_repo(repo)


def test_pointer_that_git_would_ignore_refused(repo: Path) -> None:
    gen(repo, {"ign": {"z.bin": "z"}, ".gitignore": "ign/\n"})
    r = run("add", "ign/z.bin")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: cannot add: pointer file 'ign/z.bin.dvl' would be ignored")
    assert not (repo / "ign" / "z.bin.dvl").exists()


def test_git_index_lock_is_a_clear_error(repo: Path) -> None:
    gen(repo, {"f": "1"})
    (repo / ".git" / "index.lock").write_text("")
    r = run("add", "f")
    assert r.exit_code == 1
    assert r.stderr.startswith(f"error: git's index is locked: {repo}/.git/index.lock exists")
    assert not (repo / "f.dvl").exists() and not (repo / ".gitignore").exists()  # unchanged
    (repo / ".git" / "index.lock").unlink()
    assert run("add", "f").exit_code == 0  # re-run finishes the job
    assert staged(repo) == [".gitignore", "f.dvl"]


def test_quiet_prints_nothing_on_stdout(repo: Path) -> None:
    gen(repo, {"f": "1"})
    for args in (("-q", "add", "f"), ("-q", "status"), ("-q", "ls"), ("-q", "add", "--json", "f")):
        r = run(*args)
        assert (r.exit_code, r.stdout) == (0, ""), args
    r = run("-q", "add", "missing")
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.startswith("error: ")
