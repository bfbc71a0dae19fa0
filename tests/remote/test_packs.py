"""Remote layout 2: small objects travel in packs with an index beside each.

Round trips, corrupt packs and indexes, packs whose index never arrived, gc rewriting
packs, layout-1 remotes and their upgrade, request counts, transient faults and kill -9
at the pack fault points; on a local folder and on S3 (moto) where both make sense.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid, hash_bytes
from dvlite.storage.remote.packed import ORPHAN_AGE, PACK_OBJECT_MAX
from tests.helpers import check_repo, gen, git, object_path, read_pointer, run, run_proc, snapshot
from tests.remote.conftest import PACKS, RemoteHandle, s3_handle
from tests.remote.faultproxy import FaultProxy, Rule
from tests.remote.s3fixtures import S3
from tests.remote.test_crash import _check_cache

FORMAT = "dvlite-format"
EPOCH = "0123456789abcdef0123456789abcdef"


# -- helpers -----------------------------------------------------------------------------


def _hex(data: bytes) -> str:
    return hash_bytes("xxh128", data).hex


def _key(hex_: str) -> str:
    return f"xxh128/{hex_[:2]}/{hex_}"


def _files(n: int, prefix: str = "f", size: int = 900) -> dict[str, bytes]:
    """n small distinct files (random bytes: no two are alike)."""
    return {f"{prefix}{i:03}.bin": os.urandom(size + i) for i in range(n)}


def _track(repo: Path, tree: dict[str, object], *paths: str, msg: str = "data") -> None:
    gen(repo, tree)
    r = run("add", *paths)
    assert r.exit_code == 0, r.stderr
    git(repo, "add", ".dvlite/config")
    git(repo, "commit", "-qm", msg)


def _workspace(repo: Path) -> dict[str, bytes | str]:
    return {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/")}


def _wipe(repo: Path, *paths: str) -> None:
    shutil.rmtree(repo / ".dvlite" / "cache", ignore_errors=True)
    for rel in paths:
        path = repo / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _clone(repo: Path, dest: Path) -> Path:
    """A fresh git clone of `repo`: no cache, no known objects of the remote."""
    git(repo.parent, "clone", "-q", str(repo), str(dest))
    return dest


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _packs(remote: RemoteHandle, keys: list[str] | None = None,
           ) -> dict[str, list[tuple[str, int, int]]]:
    """Pack name -> its entries (hex, offset, size), for the packs whose index a strict
    reader of its own accepts: the header, three decimal fields a line, offsets following
    each other, the pack's exact size. One listing (RemoteHandle.packs() lists per call
    and chokes on a broken index)."""
    keys = remote.list_keys() if keys is None else keys
    found = {}
    for key in keys:
        if not (key.startswith(PACKS) and key.endswith(".idx")) or \
                key[:-4] + ".pack" not in keys:
            continue
        lines = remote.raw_read(key).decode().split("\n")
        if lines[0] != "dvlite pack index 1" or lines[-1] != "":
            continue
        entries, offset = [], 0
        for line in lines[1:-1]:
            parts = line.split(" ")
            if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit() \
                    or int(parts[1]) != offset:
                break
            entries.append((parts[0], offset, int(parts[2])))
            offset += int(parts[2])
        else:
            if offset == len(remote.raw_read(key[:-4] + ".pack")):
                found[key[len(PACKS):-4]] = entries
    return found


def _pack_of(remote: RemoteHandle, hex_: str) -> tuple[str, int, int]:
    """(pack name, offset, size) of a packed object."""
    for name, entries in _packs(remote).items():
        for h, offset, size in entries:
            if h == hex_:
                return name, offset, size
    raise AssertionError(f"{hex_} is in no pack")


def _corrupt_in_pack(remote: RemoteHandle, hex_: str) -> str:
    """Flip one byte of a packed object in place (same size); returns the pack name."""
    name, offset, size = _pack_of(remote, hex_)
    key = f"{PACKS}{name}.pack"
    blob = bytearray(remote.raw_read(key))
    blob[offset + size // 2] ^= 0xFF
    remote.raw_put(key, bytes(blob))
    return name


def _loose(remote: RemoteHandle, keys: list[str] | None = None) -> set[str]:
    """Hex of the objects stored loose."""
    keys = remote.list_keys() if keys is None else keys
    return {k.rsplit("/", 1)[-1] for k in keys
            if k.startswith("xxh128/") and k.count("/") == 2 and ".dvlite-tmp-" not in k}


def _packed(remote: RemoteHandle, keys: list[str] | None = None) -> set[str]:
    return {h for entries in _packs(remote, keys).values() for h, _, _ in entries}


def _objects(remote: RemoteHandle) -> set[str]:
    keys = remote.list_keys()
    return _loose(remote, keys) | _packed(remote, keys)


def _check_whole(remote: RemoteHandle) -> None:
    """Like test_crash's check, with one listing: every object (loose, or in a pack with a
    valid index) hashes to its name, every manifest's files are there."""
    keys = remote.list_keys()
    found = {h: remote.raw_read(_key(h)) for h in _loose(remote, keys)}
    for name, entries in _packs(remote, keys).items():
        blob = remote.raw_read(f"{PACKS}{name}.pack")
        for h, offset, size in entries:
            found[h] = blob[offset:offset + size]
    for h, data in found.items():
        assert _hex(data) == h, f"partial or corrupt object {h}"
    for h, data in found.items():
        if data.startswith(b'{"format": '):
            lacking = [e.relpath for e in Manifest.from_bytes(data, h)
                       if e.oid.hex not in found]
            assert not lacking, f"manifest {h} on the remote without {lacking}"


def _manifest_hex(repo: Path, pointer: str) -> str:
    return read_pointer(repo / pointer).oid.hex


# -- 1. round trip ---------------------------------------------------------------------


def test_round_trip_small_objects_packed_big_one_loose(repo, remote: RemoteHandle):
    small = _files(50)
    big = os.urandom(1_500_000)
    assert len(big) > PACK_OBJECT_MAX
    _track(repo, {"d": {**small, "big.bin": big}}, "d")
    before = _workspace(repo)
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 52  # 50 + big + the manifest

    fmt = remote.raw_read(FORMAT).decode().splitlines()
    assert fmt[-1] == "dvlite remote layout 2" and fmt[0].startswith("epoch ")
    small_hex = {_hex(data) for data in small.values()}
    manifest = _manifest_hex(repo, "d.dvl")
    assert _loose(remote) == {_hex(big)}  # nothing small is loose
    assert _packed(remote) == small_hex | {manifest}
    # the files went first, the manifest in a pack of its own after them
    packs = _packs(remote)
    assert len(packs) == 2
    (files_pack,) = [n for n, es in packs.items() if manifest not in {h for h, _, _ in es}]
    assert {h for h, _, _ in packs[files_pack]} == small_hex
    for name, entries in packs.items():  # a pack is named by its bytes, indexed exactly
        blob = remote.raw_read(f"{PACKS}{name}.pack")
        assert _hex(blob) == name
        offset = 0
        for h, start, size in entries:
            assert start == offset and _hex(blob[start:start + size]) == h
            offset += size
        assert offset == len(blob)

    _wipe(repo, "d")
    r = run("pull", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 52
    assert _workspace(repo) == before
    check_repo(repo)
    r = run("fsck", "--remote")
    assert r.exit_code == 0, r.stdout + r.stderr


# -- 2. a corrupt byte in a pack -------------------------------------------------------


def test_corrupt_object_in_pack_fails_pull_and_fsck(repo, remote: RemoteHandle):
    files = _files(10)
    _track(repo, {"d": files, "other.bin": b"a separate small file"}, "d", "other.bin")
    assert run("push").exit_code == 0
    victim = _hex(files["f004.bin"])
    pack = _corrupt_in_pack(remote, victim)
    _wipe(repo, "d", "other.bin")

    r = run("pull")
    assert r.exit_code == 3, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    errors = _errors(r.stderr)
    assert len(errors) == 1 and victim in errors[0] and "'origin'" in errors[0]
    # the corrupt bytes never entered the cache; the rest of that pack did
    assert not object_path(repo, Oid("xxh128", victim)).exists()
    for name, data in files.items():
        assert object_path(repo, Oid("xxh128", _hex(data))).exists() == (name != "f004.bin")
    assert (repo / "other.bin").read_bytes() == b"a separate small file"  # checked out
    _check_cache(repo)

    r = run("fsck", "--remote")
    assert r.exit_code == 3
    assert victim in r.stdout + r.stderr
    # nothing was "repaired" behind the user's back
    assert pack in _packs(remote)


# -- 3. an index that does not parse ---------------------------------------------------


def _break_index(text: str, how: str) -> str:
    lines = text.splitlines(keepends=True)
    if how == "garbage_line":
        lines[2] = "not an index entry\n"
        return "".join(lines)
    if how == "cut_mid_line":
        return text[: len(text) - 7]
    if how == "cut_at_line":  # parses, but covers less than the pack holds
        return "".join(lines[:-2])
    if how == "wrong_header":
        return "dvlite pack index 9\n" + "".join(lines[1:])
    raise AssertionError(how)


@pytest.mark.parametrize(("remote", "how"), [
    ("local", "garbage_line"), ("local", "cut_mid_line"), ("local", "cut_at_line"),
    ("local", "wrong_header"), ("s3", "cut_mid_line")], indirect=["remote"])
def test_broken_index_objects_count_as_missing_and_push_repairs(
        repo, remote: RemoteHandle, tmp_path, how):
    files = _files(6)
    file_hex = {_hex(d) for d in files.values()}
    _track(repo, {"d": files}, "d")
    before = _workspace(repo)
    assert run("push").exit_code == 0
    (files_pack,) = [n for n, es in _packs(remote).items() if {h for h, _, _ in es} == file_hex]
    idx = f"{PACKS}{files_pack}.idx"
    broken = _break_index(remote.raw_read(idx).decode(), how).encode()
    remote.raw_put(idx, broken)
    assert files_pack not in _packs(remote)

    clone = _clone(repo, tmp_path / "clone")
    r = run("pull", cwd=clone)
    assert r.exit_code == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    errors = _errors(r.stderr)
    assert len(errors) == 1 and "missing on remote 'origin'" in errors[0], r.stderr
    assert not (clone / "d").exists()
    assert run("status", "--remote", "--exit-code", cwd=clone).exit_code == 1
    r = run("fsck", "--remote", cwd=clone)
    assert r.exit_code == 3 and "missing" in r.stdout + r.stderr

    # a clone that still has the data (its cache restored) pushes them again: the same
    # objects make the same pack, whose broken index is replaced
    other = _clone(repo, tmp_path / "other")
    shutil.copytree(repo / ".dvlite" / "cache", other / ".dvlite" / "cache")
    r = run("push", "--json", cwd=other)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 6
    readable = _packs(remote)
    assert {h for h, _, _ in readable.get(files_pack, [])} == file_hex
    assert remote.raw_read(idx) != broken
    _check_whole(remote)

    r = run("pull", cwd=clone)
    assert r.exit_code == 0, r.stderr
    assert _workspace(clone) == before
    check_repo(clone)
    assert run("fsck", "--remote", cwd=clone).exit_code == 0


def test_broken_index_found_by_fsck_is_repushed_by_the_clone_that_pushed_it(
        repo, remote: RemoteHandle):
    """The clone whose known objects say it pushed the objects trusts them; `fsck
    --remote` finds them missing and makes it forget, so the next push sends them again."""
    files = _files(4)
    file_hex = {_hex(d) for d in files.values()}
    _track(repo, {"d": files}, "d")
    assert run("push").exit_code == 0
    (files_pack,) = [n for n, es in _packs(remote).items() if {h for h, _, _ in es} == file_hex]
    remote.raw_put(f"{PACKS}{files_pack}.idx", b"dvlite pack index 1\n")
    r = run("fsck", "--remote")
    assert r.exit_code == 3 and "4 missing" in r.stdout, r.stdout + r.stderr
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 4
    assert files_pack in _packs(remote)  # same objects, same pack: index replaced
    r = run("fsck", "--remote")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_index_whose_pack_is_missing_is_ignored_and_push_restores_the_pack(
        repo, remote: RemoteHandle, tmp_path):
    files = _files(5)
    file_hex = {_hex(d) for d in files.values()}
    _track(repo, {"d": files}, "d")
    before = _workspace(repo)
    assert run("push").exit_code == 0
    (files_pack,) = [n for n, es in _packs(remote).items() if {h for h, _, _ in es} == file_hex]
    remote.raw_delete(f"{PACKS}{files_pack}.pack")

    clone = _clone(repo, tmp_path / "clone")
    r = run("pull", cwd=clone)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    errors = _errors(r.stderr)
    assert len(errors) == 1 and "missing on remote 'origin'" in errors[0], r.stderr

    other = _clone(repo, tmp_path / "other")
    shutil.copytree(repo / ".dvlite" / "cache", other / ".dvlite" / "cache")
    r = run("push", "--json", cwd=other)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 5
    assert {h for h, _, _ in _packs(remote)[files_pack]} == file_hex
    _check_whole(remote)
    assert run("pull", cwd=clone).exit_code == 0
    assert _workspace(clone) == before


# -- 4. a pack whose index never arrived -----------------------------------------------


@pytest.mark.crash
@pytest.mark.e2e
def test_pack_without_index_is_invisible_and_rerun_push_completes(
        repo, remote: RemoteHandle):
    files = _files(8)
    _track(repo, {"d": files}, "d")
    before = _workspace(repo)
    proc = run_proc("push", cwd=repo, env={"DVLITE_FAULTPOINT": "pack.before_index"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    keys = remote.list_keys()
    assert [k for k in keys if k.endswith(".pack")]
    assert not [k for k in keys if k.endswith(".idx")]
    assert remote.objects() == []  # a pack alone lists nothing
    assert run("status", "--remote", "--exit-code").exit_code == 1
    _check_whole(remote)

    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["failed"] == 0
    assert _packed(remote) == {_hex(d) for d in files.values()} | {
        _manifest_hex(repo, "d.dvl")}
    _check_whole(remote)
    assert run("status", "--remote", "--exit-code").exit_code == 0
    _wipe(repo, "d")
    assert run("pull").exit_code == 0
    assert _workspace(repo) == before
    assert run("fsck", "--remote").exit_code == 0


def _orphan(remote: RemoteHandle) -> tuple[str, str]:
    """A pack without an index and a temp file in the packs folder; their keys."""
    blob = os.urandom(3000)
    pack = f"{PACKS}{_hex(blob)}.pack"
    temp = f"{PACKS}.{'e' * 32}.pack.dvlite-tmp-1-a-0"
    remote.raw_put(pack, blob)
    remote.raw_put(temp, b"partial")
    return pack, temp


def test_gc_removes_a_pack_without_index_only_once_an_hour_old(
        repo, remote: RemoteHandle, tmp_path):
    files = _files(5)
    _track(repo, {"d": files}, "d")
    assert run("push").exit_code == 0
    pack, temp = _orphan(remote)
    indexed = _packs(remote)
    r = run("gc", "--remote", "--now", "--yes")
    assert r.exit_code == 0, r.stderr
    keys = remote.list_keys()
    assert pack in keys  # young: its index may be on its way
    assert temp not in keys  # a temp file is never read: --now removes it at once
    assert _packs(remote) == indexed
    if remote.kind != "local":
        return  # S3 objects' mtimes cannot be set back
    root = tmp_path / "store"
    past = time.time() - ORPHAN_AGE - 120
    for key in keys:  # every file is old now, the indexed packs too
        os.utime(root / key, (past, past))
    r = run("gc", "--remote", "--yes")  # within gc.grace (14 days): still kept
    assert r.exit_code == 0, r.stderr
    assert remote.list_keys() == keys
    r = run("gc", "--remote", "--now", "--yes")
    assert r.exit_code == 0, r.stderr
    keys = remote.list_keys()
    assert pack not in keys and temp not in keys
    assert _packs(remote) == indexed  # packs with an index are never removed as orphans
    assert run("fsck", "--remote").exit_code == 0
    # a dry run of an old orphan deletes nothing either
    pack, temp = _orphan(remote)
    for key in (pack, temp):
        os.utime(root / key, (past, past))
    assert run("gc", "--remote", "--now", "--dry-run").exit_code == 0
    assert pack in remote.list_keys()


@pytest.mark.parametrize("remote", ["local"], indirect=True)  # S3 mtimes cannot be set
def test_gc_keeps_a_young_orphan_within_the_hour_even_without_grace(
        repo, remote: RemoteHandle, tmp_path):
    """--now lifts gc.grace, not the hour an index may take to follow its pack."""
    _track(repo, {"d": _files(3)}, "d")
    assert run("push").exit_code == 0
    pack, _ = _orphan(remote)
    half = time.time() - ORPHAN_AGE / 2
    os.utime(tmp_path / "store" / pack, (half, half))
    assert run("gc", "--remote", "--now", "--yes").exit_code == 0
    assert pack in remote.list_keys()


# -- 5. gc rewrites packs --------------------------------------------------------------


def _two_versions(repo: Path) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes]]:
    """v1 and v2 of folder d, each committed and pushed: shared files, v1-only, v2-only."""
    shared = _files(6, "s")
    only1 = _files(4, "u")
    only2 = _files(3, "w")
    _track(repo, {"d": {**shared, **only1}}, "d", msg="v1")
    assert run("push").exit_code == 0
    shutil.rmtree(repo / "d")
    _track(repo, {"d": {**shared, **only2}}, "d", msg="v2")
    assert run("push").exit_code == 0
    return shared, only1, only2


def test_gc_remote_rewrites_packs_without_unreferenced_objects(
        repo, remote: RemoteHandle, tmp_path):
    shared, only1, only2 = _two_versions(repo)
    v1_manifest = git(repo, "show", "HEAD~1:d.dvl").split("hash: xxh128:")[1].split()[0]
    v2_manifest = _manifest_hex(repo, "d.dvl")
    before = _workspace(repo)
    gone = {_hex(d) for d in only1.values()} | {v1_manifest}
    kept = {_hex(d) for d in [*shared.values(), *only2.values()]} | {v2_manifest}
    assert _packed(remote) == gone | kept
    keys = remote.list_keys()

    r = run("gc", "--remote", "--now", "--dry-run")
    assert r.exit_code == 0, r.stderr
    for h in gone:
        assert h in r.stdout
    for h in kept:
        assert h not in r.stdout
    assert remote.list_keys() == keys

    old_packs = set(_packs(remote))
    r = run("gc", "--remote", "--now", "--yes")
    assert r.exit_code == 0, r.stderr
    assert _packed(remote) == kept
    assert {k.rsplit("/", 1)[-1] for k in remote.objects()} == kept  # conftest's reader
    assert not _loose(remote)
    # the v1 files' pack was rewritten (a new name), the v1 manifest's pack deleted
    packs = _packs(remote)
    assert old_packs - set(packs)
    assert not [k for k in remote.list_keys()  # no pack left behind without its index
                if k.endswith(".pack") and k[len(PACKS):-5] not in packs]
    _check_whole(remote)

    clone = _clone(repo, tmp_path / "clone")
    r = run("pull", cwd=clone)
    assert r.exit_code == 0, r.stderr
    assert _workspace(clone) == before
    check_repo(clone)
    assert run("fsck", "--remote", cwd=clone).exit_code == 0


def test_gc_remote_leaves_a_pack_whose_kept_object_is_corrupt(repo, remote: RemoteHandle):
    shared, only1, _ = _two_versions(repo)
    victim = _hex(shared["s002.bin"])
    pack = _corrupt_in_pack(remote, victim)
    assert _hex(only1["u000.bin"]) in {h for h, _, _ in _packs(remote)[pack]}
    blob = remote.raw_read(f"{PACKS}{pack}.pack")
    index = remote.raw_read(f"{PACKS}{pack}.idx")

    r = run("gc", "--remote", "--now", "--yes")
    assert r.exit_code == 3, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    errors = _errors(r.stderr)
    assert len(errors) == 1 and victim in errors[0]
    assert remote.raw_read(f"{PACKS}{pack}.pack") == blob
    assert remote.raw_read(f"{PACKS}{pack}.idx") == index
    assert pack in _packs(remote)
    # the kept objects that are fine are all still there
    assert {_hex(d) for d in shared.values()} <= _packed(remote)


# -- 6. layout 1, upgrade, unknown layouts ---------------------------------------------


def test_layout_1_remote_stays_loose_until_upgraded(repo, remote: RemoteHandle, tmp_path):
    remote.raw_put(FORMAT, f"epoch {EPOCH}\ndvlite remote layout 1\n".encode())
    old = _files(5, "o")
    _track(repo, {"d": old}, "d", msg="old")
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 6
    assert not [k for k in remote.list_keys() if k.startswith("packs/")]
    assert _loose(remote) == {_hex(d) for d in old.values()} | {_manifest_hex(repo, "d.dvl")}
    assert remote.raw_read(FORMAT).decode() == f"epoch {EPOCH}\ndvlite remote layout 1\n"

    r = run("remote", "upgrade")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == "remote 'origin': layout 1 -> 2"
    upgraded = remote.raw_read(FORMAT).decode().splitlines()
    assert upgraded[1] == "dvlite remote layout 2"
    # a new epoch: a gc --remote that renewed the old one meanwhile is never undone
    assert upgraded[0].startswith("epoch ") and upgraded[0] != f"epoch {EPOCH}"
    r = run("remote", "upgrade", "origin", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {"remote": "origin", "layout_before": 2, "layout": 2}
    r = run("remote", "upgrade", "origin")
    assert r.stdout.strip() == "remote 'origin' already has layout 2"

    new = _files(5, "n")
    _track(repo, {"e": new}, "e", msg="new")
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 6
    assert _packed(remote) == {_hex(d) for d in new.values()} | {_manifest_hex(repo, "e.dvl")}
    assert _loose(remote) == {_hex(d) for d in old.values()} | {_manifest_hex(repo, "d.dvl")}

    before = _workspace(repo)
    clone = _clone(repo, tmp_path / "clone")
    r = run("pull", "--json", cwd=clone)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 12
    assert _workspace(clone) == before
    check_repo(clone)
    assert run("fsck", "--remote", cwd=clone).exit_code == 0


def test_upgrade_of_a_remote_without_format_file_is_an_error(repo, remote: RemoteHandle):
    r = run("remote", "upgrade")
    assert r.exit_code == 1
    errors = _errors(r.stderr)
    assert len(errors) == 1 and "origin" in errors[0]
    assert "Traceback" not in r.stderr
    assert FORMAT not in remote.list_keys()


@pytest.mark.parametrize("text", ["epoch {e}\ndvlite remote layout 3\n",
                                  "dvlite remote layout 3\n"])
def test_unknown_layout_is_refused_and_nothing_written(repo, remote: RemoteHandle, tmp_path,
                                                       text):
    remote.raw_put(FORMAT, text.format(e=EPOCH).encode())
    _track(repo, {"d": _files(3)}, "d")
    keys = remote.list_keys()
    for args in (["push"], ["remote", "upgrade"]):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stdout, r.stderr)
        errors = _errors(r.stderr)
        assert len(errors) == 1 and "layout" in errors[0] and "3" in errors[0], r.stderr
        assert "Traceback" not in r.stderr
    assert remote.list_keys() == keys
    assert remote.raw_read(FORMAT).decode() == text.format(e=EPOCH)

    clone = _clone(repo, tmp_path / "clone")
    r = run("pull", cwd=clone)
    assert r.exit_code == 1
    errors = _errors(r.stderr)
    assert len(errors) == 1 and "layout" in errors[0]
    cache = clone / ".dvlite" / "cache"
    assert not [p for p in cache.rglob("*") if p.is_file()]
    assert not (clone / "d").exists()


# -- 7, 8. request counts and transient faults (S3 through the fault proxy) -----------



@pytest.mark.s3
def test_push_of_300_small_files_and_pull_of_one_take_few_requests(
        repo, proxy: FaultProxy, s3: S3, tmp_path):
    files = {f"f{i:04}": f"content {i}\n".encode() * 20 for i in range(300)}
    _track(repo, {"d": files}, "d")
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 301
    assert proxy.stats.total < 15, proxy.stats
    assert len(s3_handle(s3, "store").objects()) == 301

    clone = _clone(repo, tmp_path / "clone")
    proxy.reset()
    r = run("pull", "d/f0123", "--json", cwd=clone)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] <= 2  # the file and its folder's manifest
    assert proxy.stats.total <= 7, proxy.stats
    assert (clone / "d" / "f0123").read_bytes() == files["f0123"]


@pytest.mark.s3
def test_transient_faults_on_pack_put_and_ranged_get_are_retried(
        repo, proxy: FaultProxy, s3: S3):
    files = _files(12)
    _track(repo, {"d": files}, "d")
    before = _workspace(repo)
    put = proxy.add(Rule("status", method="PUT", path=r"\.pack", status=500, first=1))
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert put.fired == 1 and json.loads(r.stdout)["failed"] == 0
    assert len(s3_handle(s3, "store").objects()) == 13
    assert run("fsck", "--remote").exit_code == 0

    _wipe(repo, "d")
    proxy.reset()
    get = proxy.add(Rule("reset", method="GET", path=r"\.pack", first=1))
    r = run("pull", "--json")
    assert r.exit_code == 0, r.stderr
    assert get.fired == 1 and json.loads(r.stdout)["failed"] == 0
    assert _workspace(repo) == before
    check_repo(repo)
    assert run("fsck", "--remote").exit_code == 0


@pytest.mark.s3
def test_transient_fault_on_index_put_is_retried(repo, proxy: FaultProxy, s3: S3):
    _track(repo, {"d": _files(4)}, "d")
    idx = proxy.add(Rule("status", method="PUT", path=r"\.idx", status=503, first=1))
    r = run("push")
    assert r.exit_code == 0, r.stderr
    assert idx.fired == 1
    handle = s3_handle(s3, "store")
    assert len(handle.objects()) == 5
    assert all(k[:-5] + ".idx" in handle.list_keys()
               for k in handle.list_keys() if k.endswith(".pack"))
    assert run("fsck", "--remote").exit_code == 0


# -- 9. kill -9 at the pack fault points -----------------------------------------------


def _two_pushes(repo: Path) -> dict[str, bytes | str]:
    """Two folders pushed one after the other (several packs), plus a loose big file."""
    _track(repo, {"a": _files(6, "a")}, "a", msg="a")
    assert run("push").exit_code == 0
    _track(repo, {"b": _files(6, "b"), "big.bin": os.urandom(PACK_OBJECT_MAX + 1000)},
           "b", "big.bin", msg="b")
    return _workspace(repo)


@pytest.mark.crash
@pytest.mark.e2e
def test_kill_before_index_during_push_then_rerun(repo, remote: RemoteHandle, tmp_path):
    before = _two_pushes(repo)
    proc = run_proc("push", "-j", "2", cwd=repo,
                    env={"DVLITE_FAULTPOINT": "pack.before_index"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    _check_whole(remote)
    b_files = {_hex(p.read_bytes()) for p in (repo / "b").iterdir()}
    assert b_files.isdisjoint(_packed(remote))  # its index never arrived
    assert _packed(remote) >= {_hex(p.read_bytes()) for p in (repo / "a").iterdir()}
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["failed"] == 0
    _check_whole(remote)
    packs = _packs(remote)
    assert not [k for k in remote.list_keys()  # the killed run's pack got its index
                if k.endswith(".pack") and k[len(PACKS):-5] not in packs]
    assert len(_objects(remote)) == 6 + 1 + 6 + 1 + 1
    clone = _clone(repo, tmp_path / "clone")
    assert run("pull", cwd=clone).exit_code == 0
    assert _workspace(clone) == before
    check_repo(clone)


@pytest.mark.crash
@pytest.mark.e2e
def test_kill_after_read_during_pull_then_rerun(repo, remote: RemoteHandle):
    before = _two_pushes(repo)
    assert run("push").exit_code == 0
    _wipe(repo, "a", "b", "big.bin")
    proc = run_proc("pull", "-j", "2", cwd=repo, env={"DVLITE_FAULTPOINT": "pack.after_read"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    _check_cache(repo)
    for rel, data in before.items():  # absent or whole, never partial
        path = repo / rel
        if path.exists() and not rel.endswith((".dvl", ".gitignore")):
            assert path.read_bytes() == data
    r = run("pull")
    assert r.exit_code == 0, r.stderr
    assert _workspace(repo) == before
    past = time.time() - 7200
    for p in (repo / ".dvlite" / "cache").rglob("*"):
        if p.is_file() and ".dvlite-tmp-" in p.name:
            os.utime(p, (past, past))
    assert run("gc").exit_code == 0
    check_repo(repo)
