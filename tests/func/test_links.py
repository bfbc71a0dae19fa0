"""cache.type: copies by default (in-place edits never touch the cache); hardlink and
symlink opt-in, read-only, and an in-place edit through them is caught by status and fsck."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import check_repo, gen, object_path, read_pointer, run

IS_ROOT = os.geteuid() == 0


def edit_in_place(path: Path) -> None:
    """Like np.save on an open file: overwrite bytes without replacing the inode."""
    with open(path, "r+b") as f:
        f.write(b"XX")


def truncate_write(path: Path) -> None:
    """Like torch.save(path) / np.save(path): open for writing (O_TRUNC), write."""
    with open(path, "wb") as f:
        f.write(b"new model weights")


def test_default_is_reflink_then_copy(repo: Path) -> None:
    assert run("config", "cache.type").stdout == "reflink,copy\n"


@pytest.mark.parametrize("editor", [edit_in_place, truncate_write])
def test_copy_mode_edit_never_touches_cache(repo: Path, editor: object) -> None:
    gen(repo, {"m.bin": "original", "d": {"a": "aaaa"}})
    assert run("add", "m.bin", "d").exit_code == 0
    for p in (repo / "m.bin", repo / "d" / "a"):
        assert p.stat().st_ino != object_path(repo, _oid_of(repo, p)).stat().st_ino
        assert callable(editor)
        editor(p)
    check_repo(repo)  # every object still hashes to its name
    r = run("status")
    assert "modified:     m.bin" in r.stdout and "modified:     d/a" in r.stdout
    assert run("checkout", "--force").exit_code == 0
    assert (repo / "m.bin").read_text() == "original"
    assert run("fsck").exit_code == 0


def _oid_of(repo: Path, path: Path) -> object:
    from dvlite.storage.hashing import hash_file

    return hash_file(path, "xxh128")[0]


@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_link_modes_are_read_only_links(repo: Path, kind: str) -> None:
    assert run("config", "cache.type", kind).exit_code == 0
    gen(repo, {"m.bin": "original", "d": {"a": "aaaa", "s": {"b": "b"}}})
    assert run("add", "m.bin", "d").exit_code == 0
    oid = read_pointer(repo / "m.bin.dvl").oid
    obj = object_path(repo, oid)
    ws = repo / "m.bin"
    if kind == "hardlink":
        assert ws.stat().st_ino == obj.stat().st_ino and not ws.is_symlink()
    else:
        assert os.readlink(ws) == str(obj)
        assert os.readlink(repo / "d" / "s" / "b").startswith(str(repo / ".dvlite" / "cache"))
    assert not ws.stat().st_mode & 0o222
    assert run("status", "--exit-code").exit_code == 0
    assert run("add", "m.bin", "d").exit_code == 0  # re-adding links is fine
    assert run("status", "--exit-code").exit_code == 0
    (repo / "m.bin").unlink()
    assert run("checkout").exit_code == 0
    assert (repo / "m.bin").read_text() == "original"
    check_repo(repo)


@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_link_modes_in_place_edit_is_detected(repo: Path, kind: str) -> None:
    assert run("config", "cache.type", kind).exit_code == 0
    gen(repo, {"m.bin": "original", "d": {"a": "aaaa"}})
    assert run("add", "m.bin", "d").exit_code == 0
    oid = read_pointer(repo / "m.bin.dvl").oid
    if not IS_ROOT:
        with pytest.raises(PermissionError):
            edit_in_place(repo / "m.bin")
        return
    # root ignores the read-only mode: the edit lands in the cache object itself, and
    # status says so rather than showing a new version to add
    edit_in_place(repo / "m.bin")
    r = run("status", "--exit-code")
    assert r.exit_code == 1 and "corrupt:      m.bin (edited in place" in r.stdout
    assert "modified:" not in r.stdout and "only on a remote" in r.stderr
    report = json.loads(run("status", "--json").stdout)["outputs"]
    assert [(o["path"], o["corrupt"], o["modified"]) for o in report] == [
        ("d", [], []), ("m.bin", ["m.bin"], [])]
    for args in (("checkout",), ("checkout", "--force")):  # re-linking would keep the edit
        r = run(*args)
        assert r.exit_code == 3
        assert r.stderr.startswith(f"error: cache object {oid} was modified in place")
    r = run("fsck", "--json")
    assert r.exit_code == 3
    assert json.loads(r.stdout)["corrupt"] == [str(oid)]
    assert not object_path(repo, oid).exists()
    assert (repo / ".dvlite" / "cache" / "bad" / oid.hex).exists()
    r = run("checkout")
    assert r.exit_code == 1 and "not in the cache" in r.stderr


def test_symlink_mode_link_to_missing_object_is_recreated(repo: Path) -> None:
    assert run("config", "cache.type", "symlink").exit_code == 0
    gen(repo, {"d": {"a": "aaaa"}})
    assert run("add", "d").exit_code == 0
    # the object vanishes (gc, fsck quarantine) and comes back (pull): checkout repairs
    obj = Path(os.readlink(repo / "d" / "a"))
    data = obj.read_bytes()
    obj.unlink()
    assert "modified:     d/a" in run("status").stdout
    obj.write_bytes(data)
    obj.chmod(0o444)
    assert run("status", "--exit-code").exit_code == 0


def test_invalid_cache_type(repo: Path) -> None:
    r = run("config", "cache.type", "teleport")  # refused when set...
    assert r.exit_code == 1 and "invalid cache.type 'teleport'" in r.stderr
    config = repo / ".dvlite" / "config"  # ...and when written by hand, refused on use
    config.write_text(config.read_text() + '\n[cache]\ntype = "teleport"\n')
    gen(repo, {"f": "1"})
    r = run("add", "f")
    assert r.exit_code == 1 and "invalid cache.type 'teleport'" in r.stderr


@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_remove_turns_links_into_private_copies(repo: Path, kind: str) -> None:
    assert run("config", "cache.type", kind).exit_code == 0
    gen(repo, {"m.bin": "original", "d": {"a": "aaaa", "s": {"b": "b"}}})
    (repo / "d" / "s" / "b").chmod(0o755)
    assert run("add", "m.bin", "d").exit_code == 0
    assert run("remove", "m.bin", "d").exit_code == 0
    for rel, text in (("m.bin", "original"), ("d/a", "aaaa"), ("d/s/b", "b")):
        p = repo / rel
        assert not p.is_symlink() and p.stat().st_nlink == 1, rel
        assert p.stat().st_mode & 0o200, rel  # writable: the user's own file again
        assert p.read_text() == text
    assert (repo / "d" / "s" / "b").stat().st_mode & 0o100
    edit_in_place(repo / "m.bin")  # no longer reaches the cache
    check_repo(repo)
    assert run("fsck").exit_code == 0


@pytest.mark.skipif(not IS_ROOT, reason="only root can write through the read-only link")
@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_add_refuses_an_edit_made_through_a_link(repo: Path, kind: str) -> None:
    """The edit changed the only local copy of the recorded version: add must not hide
    that by recording the edit as the next version."""
    assert run("config", "cache.type", kind).exit_code == 0
    gen(repo, {"m.bin": "original", "d": {"a": "aaaa", "b": "bbbb"}})
    assert run("add", "m.bin", "d").exit_code == 0
    old_file, old_dir = (read_pointer(repo / p).oid for p in ("m.bin.dvl", "d.dvl"))
    truncate_write(repo / "m.bin")
    edit_in_place(repo / "d" / "b")
    r = run("status")
    assert "corrupt:      d/b" in r.stdout and "corrupt:      m.bin" in r.stdout
    for target, oid, shown in (("m.bin", old_file, "m.bin"), ("d", None, "d/b")):
        r = run("add", target)
        assert r.exit_code == 3, r.stderr
        lines = r.stderr.splitlines()
        assert lines[0].startswith("error: cache object ") and len(lines) == 2
        assert f"in place through the link '{shown}'; nothing was recorded" in lines[0]
        assert lines[1].startswith("hint: ") and "dvlite fsck" in lines[1]
        assert ("readlink" in lines[1]) == (kind == "symlink")
        if oid is not None:
            assert str(oid) in lines[0]
    assert read_pointer(repo / "m.bin.dvl").oid == old_file  # nothing recorded
    assert read_pointer(repo / "d.dvl").oid == old_dir
    if kind == "symlink":  # the hint's first step: the edit becomes a plain file
        for rel in ("m.bin", "d/b"):
            target = os.readlink(repo / rel)
            (repo / rel).unlink()
            (repo / rel).write_bytes(Path(target).read_bytes())
    assert run("fsck").exit_code == 3  # sets the damaged objects aside
    r = run("add", "m.bin", "d")
    assert r.exit_code == 0, r.stderr
    assert (repo / "m.bin").read_text() == "new model weights"
    assert read_pointer(repo / "m.bin.dvl").oid != old_file
    assert run("status", "--exit-code").exit_code == 0
    check_repo(repo)


@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_link_types_warn_when_chosen(repo: Path, kind: str) -> None:
    r = run("config", "cache.type", f"{kind},copy")
    assert r.exit_code == 0
    assert r.stderr.count("warning: ") == 1
    if IS_ROOT:
        assert "running as root" in r.stderr and "do not protect the cache" in r.stderr
    else:
        assert "is the cache object" in r.stderr
    assert run("config", "cache.type", "reflink,copy").stderr == ""


@pytest.mark.skipif(not IS_ROOT, reason="the warning is about running as root")
def test_placing_links_as_root_warns_once(repo: Path) -> None:
    gen(repo, {"d": {"a": "1", "b": "2", "c": "3"}})
    assert run("add", "d").stderr == ""  # copies: nothing to warn about
    (repo / ".dvlite" / "config").write_text(
        (repo / ".dvlite" / "config").read_text() + '\n[cache]\ntype = "hardlink"\n')
    for rel in ("a", "b", "c"):
        (repo / "d" / rel).unlink()
    r = run("checkout")
    assert r.exit_code == 0 and r.stderr.count("warning: running as root") == 1
    assert run("checkout").stderr == ""  # nothing placed, nothing to say
