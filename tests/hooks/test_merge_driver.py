"""The merge driver on real git merges: folders file by file, dvlite.lock stage by stage,
real conflicts reported and left for the user."""

from __future__ import annotations

from pathlib import Path

from dvlite.core.lockfile import HashInfo, LockEntry, dumps, loads
from dvlite.core.oid import hash_bytes
from dvlite.repo.githooks.merge import merge_maps
from dvlite.repo.githooks.merge_lock import merge_lock
from tests.helpers import check_repo, gen, git, run
from tests.hooks.conftest import World, sh


def change(repo: Path, tree: dict[str, object], target: str, msg: str) -> None:
    for rel in tree:
        p = repo / target / rel
        if p.exists():
            p.chmod(0o644)
    gen(repo / target, tree)
    assert run("add", target, cwd=repo).exit_code == 0
    sh(repo, "commit", "-q", "-m", msg)


def branches(world: World, ours: dict[str, object], theirs: dict[str, object]) -> Path:
    """Base with images/{a,b}; branch `ours` and `theirs` each change images."""
    a = world.a
    change(a, {"a.png": "A0", "b.png": "B0", "keep.png": "K"}, "images", "base")
    sh(a, "checkout", "-q", "-b", "theirs")
    change(a, theirs, "images", "theirs")
    sh(a, "checkout", "-q", "-b", "ours", "main")
    change(a, ours, "images", "ours")
    return a


def files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_different_files_in_one_folder_merge_cleanly(world: World) -> None:
    a = branches(world, {"a.png": "A-ours"}, {"b.png": "B-theirs", "new.png": "N"})
    proc = sh(a, "merge", "-q", "--no-edit", "theirs")
    assert "conflict" not in proc.stdout.lower()
    assert files(a / "images") == {"a.png": "A-ours", "b.png": "B-theirs", "keep.png": "K",
                                   "new.png": "N"}
    assert run("status", "--exit-code", cwd=a).exit_code == 0
    assert git(a, "status", "--porcelain") == ""
    check_repo(a)


def test_merge_with_a_branch_whose_data_is_only_on_the_remote(world: World) -> None:
    a = world.a
    change(a, {"a.png": "A0", "b.png": "B0"}, "images", "base")
    sh(a, "push", "-q", "origin", "main")
    b = world.clone("b")
    assert run("pull", cwd=b).exit_code == 0
    sh(a, "checkout", "-q", "-b", "theirs")
    change(a, {"b.png": "B-theirs", "c.png": "C"}, "images", "theirs")
    sh(a, "push", "-q", "origin", "theirs")  # uploads theirs' manifest and files
    change(b, {"a.png": "A-ours"}, "images", "ours")
    proc = sh(b, "pull", "--no-rebase", "--no-edit", "origin", "theirs")
    assert "dvlite: checked out" in proc.stderr
    assert files(b / "images") == {"a.png": "A-ours", "b.png": "B-theirs", "c.png": "C"}
    assert run("status", "--exit-code", cwd=b).exit_code == 0
    check_repo(b)


def test_deletion_on_one_side_merges(world: World) -> None:
    a = world.a
    change(a, {"a.png": "A0", "b.png": "B0"}, "images", "base")
    sh(a, "checkout", "-q", "-b", "theirs")
    (a / "images" / "b.png").chmod(0o644)
    (a / "images" / "b.png").unlink()
    assert run("add", "images", cwd=a).exit_code == 0
    sh(a, "commit", "-q", "-m", "drop b")
    sh(a, "checkout", "-q", "main")
    change(a, {"a.png": "A1"}, "images", "edit a")
    sh(a, "merge", "-q", "--no-edit", "theirs")
    assert files(a / "images") == {"a.png": "A1"}


def test_same_file_changed_differently_conflicts(world: World) -> None:
    a = branches(world, {"a.png": "A-ours", "b.png": "B-ours"}, {"a.png": "A-theirs"})
    proc = sh(a, "merge", "--no-edit", "theirs", check=False)
    assert proc.returncode != 0
    assert "images/a.png" in proc.stderr
    text = (a / "images.dvl").read_text()
    assert text.startswith("<<<<<<< ours (changed differently on both sides: images/a.png)")
    assert "=======" in text
    assert text.rstrip().endswith(">>>>>>> theirs")
    assert "UU images.dvl" in git(a, "status", "--porcelain")
    assert run("status", cwd=a).exit_code == 1  # the conflicted pointer is not accepted


def test_file_against_folder_conflicts(world: World) -> None:
    a = branches(world, {"x": "a file"}, {"x": {"inner": "a folder"}})
    proc = sh(a, "merge", "--no-edit", "theirs", check=False)
    assert proc.returncode != 0
    assert "'x' is both a file and a folder" in proc.stderr
    assert "UU images.dvl" in git(a, "status", "--porcelain")


def test_single_file_changed_on_both_sides_conflicts(world: World) -> None:
    a = world.a
    gen(a, {"m.bin": "base"})
    assert run("add", "m.bin", cwd=a).exit_code == 0
    sh(a, "commit", "-q", "-m", "base")
    sh(a, "checkout", "-q", "-b", "theirs")
    (a / "m.bin").chmod(0o644)
    gen(a, {"m.bin": "theirs"})
    run("add", "m.bin", cwd=a)
    sh(a, "commit", "-q", "-m", "theirs")
    sh(a, "checkout", "-q", "main")
    (a / "m.bin").chmod(0o644)
    gen(a, {"m.bin": "ours"})
    run("add", "m.bin", cwd=a)
    sh(a, "commit", "-q", "-m", "ours")
    proc = sh(a, "merge", "--no-edit", "theirs", check=False)
    assert proc.returncode != 0
    assert "'m.bin' changed differently on both sides" in proc.stderr
    assert "UU m.bin.dvl" in git(a, "status", "--porcelain")


def entry(name: str, cmd: str, out: bytes) -> LockEntry:
    oid = hash_bytes("xxh128", out)
    return LockEntry(name, cmd, outs=(HashInfo(f"{name}.out", oid, len(out)),))


def commit_lock(repo: Path, entries: dict[str, LockEntry], msg: str) -> None:
    (repo / "dvlite.lock").write_bytes(dumps(entries, ""))
    sh(repo, "add", "dvlite.lock")
    sh(repo, "commit", "-q", "-m", msg)


def lock_branches(world: World, ours: LockEntry, theirs: LockEntry) -> Path:
    a = world.a
    base = {n: entry(n, f"run {n}", n.encode()) for n in ("prep", "train", "eval")}
    commit_lock(a, base, "base")
    sh(a, "checkout", "-q", "-b", "theirs")
    commit_lock(a, {**base, theirs.name: theirs}, "theirs")
    sh(a, "checkout", "-q", "main")
    commit_lock(a, {**base, ours.name: ours}, "ours")
    return a


def test_lockfile_stages_changed_on_each_side_merge(world: World) -> None:
    train = entry("train", "run train --epochs 9", b"new model")
    evaluate = entry("eval", "run eval", b"new metrics")
    a = lock_branches(world, train, evaluate)
    sh(a, "merge", "-q", "--no-edit", "theirs")
    merged = loads((a / "dvlite.lock").read_bytes(), "dvlite.lock")
    assert merged["train"] == train
    assert merged["eval"] == evaluate
    assert merged["prep"] == entry("prep", "run prep", b"prep")


def test_lockfile_stage_changed_on_both_sides_conflicts(world: World) -> None:
    a = lock_branches(world, entry("train", "run train", b"model A"),
                      entry("train", "run train", b"model B"))
    proc = sh(a, "merge", "--no-edit", "theirs", check=False)
    assert proc.returncode != 0
    assert "dvlite.lock: stage 'train'" in proc.stderr
    assert (a / "dvlite.lock").read_text().startswith("<<<<<<< ours (stage(s) changed")


def test_merge_lock_added_on_both_sides_identically() -> None:
    e = {"s": entry("s", "c", b"x")}
    data = dumps(e, "")
    assert merge_lock(b"", data, data, "dvlite.lock").data == data


def test_merge_maps_table() -> None:
    base = {"k": 1, "d": 2, "same": 0}
    ours = {"k": 1, "same": 0, "o": 5}
    theirs = {"k": 3, "d": 2, "same": 0, "t": 6}
    merged, clashes = merge_maps(base, ours, theirs)
    assert merged == {"k": 3, "same": 0, "o": 5, "t": 6}  # d deleted by ours
    assert clashes == []
    merged, clashes = merge_maps({"k": 1}, {"k": 2}, {})
    assert clashes == ["k"]  # changed vs deleted
    merged, clashes = merge_maps({}, {"n": 1}, {"n": 2})
    assert clashes == ["n"]  # added differently
