"""merge_pointer and merge_lock case by case, without git: every outcome that is not a
clean merge is a conflict with markers and a reason, never a silent pick."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvlite.core.manifest import Manifest, ManifestEntry
from dvlite.core.oid import hash_bytes
from dvlite.core.pointer import Pointer
from dvlite.repo.githooks.merge import merge_pointer
from dvlite.repo.githooks.merge_lock import merge_lock
from dvlite.workspace.repo import Repo


def file_ptr(content: bytes, path: str = "m.bin") -> bytes:
    return Pointer(path, "file", hash_bytes("xxh128", content), len(content)).to_bytes()


def dir_ptr(repo: Repo, files: dict[str, bytes], path: str = "d") -> bytes:
    entries = []
    for rel, data in files.items():
        entries.append(ManifestEntry(rel, repo.cache.add_bytes(data), len(data)))
    manifest = Manifest.build("xxh128", entries)
    oid = repo.cache.add_bytes(manifest.to_bytes())
    return Pointer(path, "dir", oid, manifest.size, len(manifest)).to_bytes()


@pytest.fixture
def r(repo: Path) -> Repo:
    return Repo(repo)


def test_trivial_sides(r: Repo) -> None:
    a, b = file_ptr(b"a"), file_ptr(b"b")
    assert merge_pointer(r, a, a, b, "m.bin.dvl").data == b  # only theirs changed
    assert merge_pointer(r, a, b, a, "m.bin.dvl").data == b  # only ours changed
    assert merge_pointer(r, b"", a, a, "m.bin.dvl").data == a  # added identically


@pytest.mark.parametrize(("ours", "theirs", "why"), [
    (file_ptr(b"o"), file_ptr(b"t"), "'m.bin' changed differently on both sides"),
    (file_ptr(b"o"), b"", "deleted on one side, changed on the other"),
    (file_ptr(b"o"), file_ptr(b"t", "other.bin"), "renamed differently"),
    (file_ptr(b"o"), b"path: [not, a pointer]\n", "cannot merge"),
])
def test_conflicts(r: Repo, ours: bytes, theirs: bytes, why: str) -> None:
    result = merge_pointer(r, file_ptr(b"base"), ours, theirs, "m.bin.dvl")
    assert not result.clean
    assert why in result.conflicts[0]
    text = result.data.decode()
    assert text.startswith("<<<<<<< ours (")
    assert ours.decode() in text
    assert text.endswith(">>>>>>> theirs\n")


def test_file_against_folder(r: Repo) -> None:
    result = merge_pointer(r, b"", file_ptr(b"o", "d"), dir_ptr(r, {"x": b"1"}), "d.dvl")
    assert result.conflicts == ["a file on one side, a folder on the other"]


def test_folders_added_on_both_sides_merge_as_a_union(r: Repo) -> None:
    ours = dir_ptr(r, {"x": b"1", "same": b"s"})
    theirs = dir_ptr(r, {"y": b"2", "same": b"s"})
    result = merge_pointer(r, b"", ours, theirs, "d.dvl")
    assert result.clean
    merged = Pointer.from_bytes(result.data, "merged")
    assert (merged.nfiles, merged.size) == (3, 3)
    assert result.data == dir_ptr(r, {"x": b"1", "y": b"2", "same": b"s"})


def test_folder_manifest_nowhere_is_a_conflict(r: Repo) -> None:
    ghost = Pointer("d", "dir", hash_bytes("xxh128", b"gone"), 1, 1).to_bytes()
    result = merge_pointer(r, b"", dir_ptr(r, {"x": b"1"}), ghost, "d.dvl")
    assert not result.clean
    assert "cannot merge 'd' file by file" in result.conflicts[0]


def test_lock_bad_yaml_is_a_conflict() -> None:
    result = merge_lock(b"", b"schema: 1\nstages: {}\n", b"stages: [", "dvlite.lock")
    assert not result.clean
    assert result.conflicts[0].startswith("cannot merge")
