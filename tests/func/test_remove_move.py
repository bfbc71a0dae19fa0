"""`dvlite remove` and `dvlite move`."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import check_repo, gen, git, read_pointer, run


def test_remove_keeps_data_drops_pointer_and_ignore(repo: Path) -> None:
    gen(repo, {"d": {"a": "1"}, "f": "2"})
    assert run("add", "d", "f").exit_code == 0
    git(repo, "commit", "-qm", "add")
    r = run("remove", "d.dvl")
    assert r.exit_code == 0 and r.stdout == "stopped tracking d\n"
    assert not (repo / "d.dvl").exists()
    assert (repo / "d" / "a").read_text() == "1"
    assert (repo / ".gitignore").read_text() == "/f\n"
    assert set(git(repo, "diff", "--cached", "--name-status").splitlines()) == {
        "M\t.gitignore", "D\td.dvl"}
    assert run("remove", "f").exit_code == 0
    assert not (repo / ".gitignore").exists()
    assert (repo / "f").read_text() == "2"
    check_repo(repo)


def test_remove_refuses_file_inside_folder_and_untracked(repo: Path) -> None:
    gen(repo, {"d": {"a": "1"}, "u": "x"})
    assert run("add", "d").exit_code == 0
    assert run("remove", "d/a").exit_code == 2
    assert run("remove", "u").exit_code == 2
    assert (repo / "d.dvl").exists()


def test_move_file_into_new_folder(repo: Path) -> None:
    gen(repo, {"f": "2"})
    assert run("add", "f").exit_code == 0
    git(repo, "commit", "-qm", "add")
    r = run("move", "f", "sub/g")
    assert r.exit_code == 0 and r.stdout == "moved f -> sub/g\n"
    assert (repo / "sub" / "g").read_text() == "2"
    assert read_pointer(repo / "sub" / "g.dvl").path == "g"
    assert not (repo / "f.dvl").exists() and not (repo / ".gitignore").exists()
    assert (repo / "sub" / ".gitignore").read_text() == "/g\n"
    assert run("status", "--exit-code").exit_code == 0
    assert "sub/g.dvl" in git(repo, "diff", "--cached", "--name-only")
    check_repo(repo)


def test_move_folder_into_existing_folder(repo: Path) -> None:
    gen(repo, {"d": {"a": "1"}, "target": {"keep": "k"}})
    assert run("add", "d").exit_code == 0
    assert run("move", "d", "target").exit_code == 0
    assert (repo / "target" / "d" / "a").read_text() == "1"
    assert (repo / "target" / "d.dvl").exists()
    assert run("status", "--exit-code").exit_code == 0


def test_move_refuses_existing_destination_and_outside(repo: Path, tmp_path: Path) -> None:
    gen(repo, {"f": "1", "g": "2"})
    assert run("add", "f").exit_code == 0
    r = run("move", "f", "g")
    assert r.exit_code == 2 and "already exists" in r.stderr
    r = run("move", "f", str(tmp_path / "elsewhere"))
    assert r.exit_code == 2 and "outside the repository" in r.stderr
    r = run("move", "f", ".git/x")
    assert r.exit_code != 0
    assert (repo / "f").read_text() == "1" and (repo / "f.dvl").exists()


def test_move_into_itself_or_onto_a_pointer_name_refused(repo: Path) -> None:
    gen(repo, {"d": {"a": "1"}, "f": "2", "plain": "not a folder"})
    assert run("add", "d", "f").exit_code == 0
    r = run("move", "d", "d/sub")
    assert r.exit_code == 2 and "into itself" in r.stderr
    r = run("move", "f", "g.dvl")
    assert r.exit_code == 2 and "pointer file name" in r.stderr
    r = run("move", "f", "plain/g")  # the destination's parent is a file
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "unexpected" not in r.stderr
    assert run("status", "--exit-code").exit_code == 0
    check_repo(repo)
