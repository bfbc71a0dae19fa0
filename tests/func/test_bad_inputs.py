"""Bad inputs (RELIABILITY.md 4b, B1-B14): one clear `error:` line, nothing written.

Pointer and manifest fixtures live in tests/fixtures/, one file per bad input.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager as contextlib_contextmanager
from pathlib import Path

import pytest

from dvlite.core.oid import hash_bytes
from tests.func.util import VOLATILE
from tests.helpers import check_repo, gen, object_path, run, snapshot

FIXTURES = Path(__file__).parent.parent / "fixtures"
H = "xxh128:0123456789abcdef0123456789abcdef"

POINTER_ERRORS = {
    "b1_not_yaml.dvl": "data.dvl:2: did not find expected",
    "b1_not_a_mapping.dvl": "not a pointer file",
    "b1_wrong_type_size.dvl": "invalid size 'four'",
    "b1_wrong_type_path.dvl": "invalid path [1, 2]: expected a string",
    "b1_missing_hash.dvl": "missing 'hash'",
    "b1_missing_size.dvl": "missing 'size'",
    "b1_unknown_version.dvl": "unknown key(s) version",
    "b1_duplicate_keys.dvl": "duplicate key 'size'",
    "b1_extra_key.dvl": "unknown key(s) md5",
    "b1_bad_type.dvl": "invalid type 'symlink'",
    "b1_dir_without_nfiles.dvl": "needs 'nfiles'",
    "b1_yaml_alias.dvl": "aliases are not allowed",
    "b3_oversized.dvl": "not a pointer file",
    "b3_binary_garbage.dvl": "data.dvl",
    "b3_nul_bytes.dvl": "data.dvl",
    "b4_oid_not_hex.dvl": "invalid hash",
    "b4_oid_wrong_length.dvl": "invalid hash",
    "b4_oid_uppercase.dvl": "invalid hash",
    "b4_oid_traversal.dvl": "invalid hash",
    "b4_oid_absolute.dvl": "invalid hash",
    "b4_oid_empty.dvl": "invalid hash",
    "b4_oid_no_algo.dvl": "invalid hash",
    "b4_oid_unknown_algo.dvl": "unknown algorithm 'md5'",
    "b5_size_negative.dvl": "invalid size -1",
    "b5_size_float.dvl": "invalid size 4.0",
    "b5_size_huge.dvl": "too large",
    "h11_size_2_63.dvl": "invalid size 9223372036854775807: too large",
    "h11_nfiles_2_63.dvl": "invalid nfiles 9223372036854775807: too large",
    "b6_path_dotdot.dvl": "unsafe pointer path",
    "b6_path_etc_passwd.dvl": "unsafe pointer path",
    "b6_path_absolute.dvl": "unsafe pointer path",
    "b6_path_windows_drive.dvl": "unsafe pointer path",
    "b6_path_backslash_dotdot.dvl": "unsafe pointer path",
    "b6_path_inner_dotdot.dvl": "unsafe pointer path",
    "b6_path_git_hooks.dvl": "unsafe pointer path",
    "b6_path_dvlite.dvl": "unsafe pointer path",
    "b6_path_empty.dvl": "unsafe pointer path",
    "b6_path_dot.dvl": "unsafe pointer path",
    "b6_path_double_slash.dvl": "unsafe pointer path",
    "b6_path_trailing_slash.dvl": "unsafe pointer path",
}
MANIFEST_ERRORS = {
    "b6_entry_dotdot.json": "unsafe manifest path",
    "b6_entry_absolute.json": "unsafe manifest path",
    "b6_entry_git_hooks.json": "unsafe manifest path",
    "b6_entry_dvlite.json": "unsafe manifest path",
    "b6_entry_empty.json": "unsafe manifest path",
    "b6_entry_double_slash.json": "unsafe manifest path",
    "b7_duplicates.json": "duplicate entry 'a'",
    "b7_file_and_folder.json": "'a' is both a file and a folder",
    "b7_unsorted.json": "entries not sorted",
    "b7_bad_hash.json": "invalid hash",
    "b7_negative_size.json": "invalid manifest entry",
    "b7_unknown_format.json": "unsupported manifest format 9",
    "b7_not_json.json": "not a folder manifest",
    "b7_missing_field.json": "invalid manifest entry",
}
COMMANDS = [("status",), ("status", "--exit-code"), ("checkout",), ("checkout", "--force"),
            ("ls",), ("add", "data"), ("remove", "data"), ("diff",)]


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in (FIXTURES / "pointers").iterdir()) == sorted(POINTER_ERRORS)
    assert sorted(p.name for p in (FIXTURES / "manifests").iterdir()) == sorted(MANIFEST_ERRORS)


@pytest.fixture
def world(repo: Path, tmp_path: Path) -> Path:
    """A repo with a sentinel file outside it, and one good tracked file."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "sentinel").write_text("precious")
    gen(repo, {"good.bin": "good"})
    assert run("add", "good.bin").exit_code == 0
    from tests.helpers import git

    git(repo, "commit", "-qm", "good")
    return tmp_path


def world_snapshot(tmp_path: Path) -> dict[str, bytes | str]:
    return {k: v for k, v in snapshot(tmp_path).items()
            if not k.startswith(tuple(f"repo/{v}" for v in VOLATILE))}


class Opens:
    """Every path opened in this process while active (PEP 578 audit hook)."""

    active: list[str] | None = None
    installed = False

    @classmethod
    @contextlib_contextmanager
    def record(cls) -> Iterator[list[str]]:
        if not cls.installed:
            sys.addaudithook(cls._hook)
            cls.installed = True
        cls.active = []
        try:
            yield cls.active
        finally:
            cls.active = None

    @classmethod
    def _hook(cls, event: str, args: tuple[object, ...]) -> None:
        if cls.active is not None and event in ("open", "os.listdir", "os.scandir") and args:
            cls.active.append(os.fsdecode(args[0]) if isinstance(args[0], (str, bytes)) else "")


def assert_one_error(stderr: str, expected: str) -> None:
    lines = stderr.splitlines()
    assert lines, "no error printed"
    assert lines[0].startswith("error: "), stderr
    assert expected in lines[0], stderr
    assert all(line.startswith("hint: ") for line in lines[1:]), stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr


@pytest.mark.parametrize("name", sorted(POINTER_ERRORS))
def test_bad_pointer(world: Path, name: str) -> None:
    repo = world / "repo"
    (repo / "data.dvl").write_bytes((FIXTURES / "pointers" / name).read_bytes())
    before = world_snapshot(world)
    cache_objects = sorted((repo / ".dvlite" / "cache").rglob("*"))
    for args in COMMANDS:
        with Opens.record() as opened:
            r = run(*args)
        assert r.exit_code == 1, (args, r.stdout, r.stderr)
        assert_one_error(r.stderr, POINTER_ERRORS[name])
        assert r.stderr.startswith("error: data.dvl") or "at HEAD" in r.stderr
        assert world_snapshot(world) == before, args
        # B4: a bad hash never reaches the filesystem, not even as a lookup
        assert not [p for p in opened if "passwd" in p or "/xxh128/" in p], args
    assert sorted((repo / ".dvlite" / "cache").rglob("*")) == cache_objects


def test_open_recorder_sees_cache_reads(world: Path) -> None:
    """The control for the B4 check above: a good checkout does read the cache."""
    (world / "repo" / "good.bin").unlink()
    with Opens.record() as opened:
        assert run("checkout").exit_code == 0
    assert [p for p in opened if "/xxh128/" in p]


def install_manifest(repo: Path, data: bytes) -> None:
    oid = hash_bytes("xxh128", data)
    path = object_path(repo, oid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o444)
    (repo / "data.dvl").write_text(f"path: data\ntype: dir\nhash: {oid}\nsize: 1\nnfiles: 1\n")


@pytest.mark.parametrize("name", sorted(MANIFEST_ERRORS))
def test_bad_manifest(world: Path, name: str) -> None:
    repo = world / "repo"
    install_manifest(repo, (FIXTURES / "manifests" / name).read_bytes())
    before = world_snapshot(world)
    for args in [("status",), ("checkout",), ("checkout", "--force"), ("checkout", "data/a")]:
        r = run(*args)
        assert r.exit_code == 1, (args, r.stdout, r.stderr)
        assert_one_error(r.stderr, MANIFEST_ERRORS[name])
        assert "manifest xxh128:" in r.stderr
        assert world_snapshot(world) == before, args
    assert not (repo / "data").exists()
    assert not (world / "pwned").exists() and not (world / "outside" / "pwned").exists()


def test_b2_truncated_pointer_at_every_offset(world: Path) -> None:
    repo = world / "repo"
    good = (repo / "good.bin.dvl").read_bytes()
    for i in range(len(good)):
        (repo / "good.bin.dvl").write_bytes(good[:i])
        r = run("status")
        if r.exit_code == 0:
            # only a cut inside the last number or before the final newline still parses
            assert i >= good.rindex(b"size: ") + len(b"size: ") + 1, i
        else:
            assert r.exit_code == 1, (i, r.stderr)
            assert_one_error(r.stderr, "good.bin.dvl")
    (repo / "good.bin.dvl").write_bytes(good)
    assert run("status", "--exit-code").exit_code == 0


@pytest.mark.parametrize("variant", ["crlf", "bom"])
def test_b3_crlf_and_bom_parse_or_fail_clearly(world: Path, variant: str) -> None:
    repo = world / "repo"
    good = (repo / "good.bin.dvl").read_bytes()
    data = good.replace(b"\n", b"\r\n") if variant == "crlf" else b"\xef\xbb\xbf" + good
    (repo / "good.bin.dvl").write_bytes(data)
    r = run("status", "--exit-code")
    assert r.exit_code == 0 or (r.exit_code == 1 and r.stderr.startswith("error: good.bin.dvl"))
    assert "Traceback" not in r.stderr


def test_b6_pointer_in_subfolder_cannot_reach_outside(world: Path) -> None:
    repo = world / "repo"
    gen(repo, {"sub": {}})
    (repo / "sub" / "x.dvl").write_text(f"path: ../../outside/sentinel\ntype: file\nhash: {H}\n"
                                         "size: 1\n")
    before = world_snapshot(world)
    for args in [("checkout", "--force"), ("status",)]:
        r = run(*args)
        assert r.exit_code == 1 and "unsafe pointer path" in r.stderr
    assert world_snapshot(world) == before


def _good_object(repo: Path, text: bytes) -> str:
    oid = hash_bytes("xxh128", text)
    p = object_path(repo, oid)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text)
    p.chmod(0o444)
    return str(oid)


def test_b8_intermediate_symlink_leading_outside(world: Path) -> None:
    repo = world / "repo"
    os.symlink(world / "outside", repo / "out")
    oid = _good_object(repo, b"evil")
    (repo / "x.dvl").write_text(f"path: out/sentinel\ntype: file\nhash: {oid}\nsize: 4\n")
    before = world_snapshot(world)
    for args in [("checkout",), ("checkout", "--force"), ("status",)]:
        r = run(*args)
        assert r.exit_code == 1
        assert_one_error(r.stderr, "a parent directory is a symlink leading outside")
    assert world_snapshot(world) == before
    assert (world / "outside" / "sentinel").read_text() == "precious"


def test_b8_symlink_into_git_hooks(world: Path) -> None:
    repo = world / "repo"
    hooks = sorted(p.name for p in (repo / ".git" / "hooks").iterdir())
    os.symlink(repo / ".git" / "hooks", repo / "hooks")
    oid = _good_object(repo, b"#!/bin/sh\necho pwned\n")
    (repo / "h.dvl").write_text(f"path: hooks/pre-commit\ntype: file\nhash: {oid}\nsize: 21\n")
    r = run("checkout", "--force")
    assert r.exit_code == 1
    assert_one_error(r.stderr, "resolves inside .git")
    assert sorted(p.name for p in (repo / ".git" / "hooks").iterdir()) == hooks


def test_b8_symlinked_subfolder_inside_tracked_folder(world: Path) -> None:
    repo = world / "repo"
    gen(repo, {"data": {"a": "1", "sub": {"sentinel": "mine"}}})
    assert run("add", "data").exit_code == 0
    import shutil

    shutil.rmtree(repo / "data" / "sub")
    os.symlink(world / "outside", repo / "data" / "sub")
    before = world_snapshot(world)
    r = run("status")
    assert r.exit_code == 0 and "modified:     data/sub" in r.stdout
    r = run("checkout")
    assert r.exit_code == 1
    assert_one_error(r.stderr, "data/sub (is a symlink)")
    assert world_snapshot(world) == before
    r = run("checkout", "--force")  # the link itself is replaced, never written through
    assert r.exit_code == 0, r.stderr
    assert not (repo / "data" / "sub").is_symlink()
    assert (repo / "data" / "sub" / "sentinel").read_text() == "mine"
    assert (world / "outside" / "sentinel").read_text() == "precious"
    assert sorted(p.name for p in (world / "outside").iterdir()) == ["sentinel"]
    check_repo(repo)


def test_b9_file_in_tracked_folder_replaced_by_symlink(world: Path) -> None:
    repo = world / "repo"
    gen(repo, {"data": {"a": "1", "b": "2"}})
    assert run("add", "data").exit_code == 0
    from tests.helpers import git

    git(repo, "commit", "-qm", "data")
    (repo / "data" / "a").unlink()
    os.symlink(world / "outside" / "sentinel", repo / "data" / "a")
    os.symlink("b", repo / "data" / "extra")  # a new link, even to a file inside
    assert run("status", "--exit-code").exit_code == 1
    assert run("diff").stdout.splitlines() == ["added:     data/extra",
                                               "modified:  data/a"]
    r = run("checkout", "data/a")
    assert r.exit_code == 1 and "data/a (is a symlink)" in r.stderr
    assert run("checkout", "--force").exit_code == 0
    assert (repo / "data" / "a").read_text() == "1" and not (repo / "data" / "a").is_symlink()
    assert not os.path.lexists(repo / "data" / "extra")
    assert (world / "outside" / "sentinel").read_text() == "precious"
    assert run("status", "--exit-code").exit_code == 0


def test_b9_add_symlink_to_outside_refused(world: Path) -> None:
    repo = world / "repo"
    os.symlink(world / "outside" / "sentinel", repo / "link.bin")
    before = world_snapshot(world)
    r = run("add", "link.bin")
    assert r.exit_code == 2
    assert_one_error(r.stderr, "refusing to follow symlink")
    assert world_snapshot(world) == before


def test_b9_add_through_symlinked_parent_refused(world: Path) -> None:
    repo = world / "repo"
    os.symlink(world / "outside", repo / "out")
    r = run("add", "out/sentinel")
    assert r.exit_code != 0
    assert "outside" in r.stderr and not (world / "outside" / "sentinel.dvl").exists()


def _special(kind: str, path: Path) -> None:
    import socket
    import stat

    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    elif kind == "loop":
        os.symlink(path.name, path)
    elif kind == "dangling":
        os.symlink("nowhere", path)
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("mknod needs root")
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["fifo", "socket", "loop", "dangling", "device"])
@pytest.mark.parametrize("where", ["top", "inside"])
def test_b10_special_files_refused_without_hanging(world: Path, kind: str, where: str) -> None:
    from tests.helpers import run_proc

    repo = world / "repo"
    (repo / "d").mkdir()
    target = repo / "special" if where == "top" else repo / "d" / "special"
    _special(kind, target)
    before = world_snapshot(world)
    r = run_proc("add", "special" if where == "top" else "d", cwd=repo, timeout=60)
    assert r.returncode == 2, r.stderr
    expected = "refusing to follow symlink" if kind in ("loop", "dangling") else (
        "unsupported file type")
    assert_one_error(r.stderr, expected)
    assert world_snapshot(world) == before


def test_b13_odd_names_roundtrip(world: Path) -> None:
    import shutil

    repo = world / "repo"
    names = ["caf\u00e9", "cafe\u0301", "with space", " lead", "trail ", "new\nline", "x" * 255,
             "#hash", "!bang", "star*", "tab\tname", "\U0001f600"]
    gen(repo, {"d": {n: n * 2 for n in names}})
    assert run("add", "d").exit_code == 0
    before = snapshot(repo / "d")
    shutil.rmtree(repo / "d")
    assert run("checkout").exit_code == 0
    assert snapshot(repo / "d") == before
    # the same names as single tracked files (255 bytes leaves no room for `.dvl`)
    for n in names[:-1]:
        if len(n) == 255:
            continue
        (repo / n).write_text(n)
    singles = [n for n in names[:-1] if len(n) < 255]
    r = run("add", *singles)
    assert r.exit_code == 0, r.stderr
    for n in singles:
        (repo / n).unlink()
    assert run("checkout").exit_code == 0
    assert all((repo / n).read_text() == n for n in singles)
    from tests.helpers import git

    for n in singles:  # every data file is ignored by git, its pointer is not
        assert git(repo, "check-ignore", "-q", "--no-index", n) == ""
    assert run("status", "--exit-code").exit_code == 0
    check_repo(repo)


def test_b13_long_single_name_refused_clearly(world: Path) -> None:
    repo = world / "repo"
    name = "n" * 253
    (repo / name).write_text("x")
    before = world_snapshot(world)
    r = run("add", name)
    assert r.exit_code == 2
    assert_one_error(r.stderr, "pointer file name would be longer than 255 bytes")
    assert world_snapshot(world) == before


def test_b14_case_collision_warns(world: Path) -> None:
    repo = world / "repo"
    gen(repo, {"d": {"Data.csv": "1", "data.csv": "2"}})
    r = run("add", "d")
    assert r.exit_code == 0
    assert "warning: 'Data.csv' and 'data.csv' differ only in case" in r.stderr


def test_b12_empty_file_object_is_the_empty_hash(world: Path) -> None:
    repo = world / "repo"
    (repo / "empty").write_bytes(b"")
    assert run("add", "empty").exit_code == 0
    assert object_path(repo, hash_bytes("xxh128", b"")).read_bytes() == b""


@pytest.mark.e2e
def test_b10_fifo_inside_tracked_folder_never_opened(world: Path) -> None:
    from tests.helpers import git, run_proc

    repo = world / "repo"
    gen(repo, {"data": {"a": "1", "b": "2"}})
    assert run("add", "data").exit_code == 0
    git(repo, "commit", "-qm", "data")
    (repo / "data" / "a").unlink()
    os.mkfifo(repo / "data" / "a")
    os.mkfifo(repo / "data" / "pipe")
    r = run_proc("status", cwd=repo, timeout=60)
    assert r.returncode == 0
    assert "modified:     data/a" in r.stdout and "modified:     data/pipe" in r.stdout
    r = run_proc("checkout", cwd=repo, timeout=60)
    assert r.returncode == 1 and "data/a (is not a regular file)" in r.stderr
    r = run_proc("checkout", "--force", cwd=repo, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (repo / "data" / "a").read_text() == "1"
    assert not os.path.lexists(repo / "data" / "pipe")
