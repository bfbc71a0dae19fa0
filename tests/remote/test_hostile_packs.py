"""Hostile remotes (RELIABILITY.md H5-H7, H11): one damaged read never costs a good object,
a pointer wrong about a size is the pointer's error, a pack or index the server stores
damaged is skipped or repaired without blocking the rest of the remote, a good copy is
used when another is bad, and a huge index is refused before it is read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dvlite.core.oid import Oid
from dvlite.core.pack import MAX_INDEX_BYTES
from tests.helpers import check_repo, git, object_path, run
from tests.remote.conftest import PACKS, RemoteHandle, s3_handle
from tests.remote.faultproxy import FaultProxy, Rule
from tests.remote.s3fixtures import S3
from tests.remote.test_packs import (
    _corrupt_in_pack,
    _errors,
    _files,
    _hex,
    _key,
    _pack_of,
    _packs,
    _track,
    _wipe,
    _workspace,
)

BIG = os.urandom(3 << 20)  # over the pack limit: a loose object


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def _stash_cache(repo: Path, tmp_path: Path) -> Path:
    """Move the cache away (a clone without the data), to bring it back later."""
    aside = tmp_path / "cache-aside"
    shutil.move(repo / ".dvlite" / "cache", aside)
    return aside


# -- H5: re-read before deleting; a wrong pointer size is the pointer's error -------------


@pytest.mark.s3
def test_repair_after_one_damaged_read_deletes_nothing(repo, proxy: FaultProxy, s3: S3):
    files = _files(4)
    _track(repo, {"d": files, "big.bin": BIG}, "d", "big.bin")
    assert run("push").exit_code == 0
    store = s3_handle(s3, "store")
    before = store.list_keys()
    big = _hex(BIG)
    loose = proxy.add(Rule("corrupt", method="GET", path=f"xxh128/{big[:2]}/{big}", first=1))
    packed = proxy.add(Rule("corrupt", method="GET", path=r"packs/xxh128/\w+\.pack", first=1))

    r = run("fsck", "--remote", "--repair", "--json")
    assert loose.fired == 1 and packed.fired == 1  # both first reads came back damaged
    assert r.exit_code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["removed"] == [] and doc["corrupt"] == [] and doc["bad_copies"] == []
    assert store.list_keys() == before
    assert store.read(_key(big)) == BIG


@pytest.mark.s3
def test_repair_still_removes_a_copy_bad_on_both_reads(repo, proxy: FaultProxy, s3: S3):
    _track(repo, {"big.bin": BIG}, "big.bin")
    assert run("push").exit_code == 0
    big = _hex(BIG)
    rule = proxy.add(Rule("corrupt", method="GET", path=f"xxh128/{big[:2]}/{big}", first=2))
    r = run("fsck", "--remote", "--repair", "--json")
    assert rule.fired == 2
    assert r.exit_code == 3
    assert json.loads(r.stdout)["removed"] == [f"xxh128:{big}"]
    assert _key(big) not in s3_handle(s3, "store").list_keys()


def _wrong_size_pointer(repo: Path, data: bytes) -> None:
    """f.dvl and g.dvl name the same object; f.dvl gets its size wrong (committed)."""
    _track(repo, {"f.bin": data, "g.bin": data}, "f.bin", "g.bin")
    text = (repo / "f.bin.dvl").read_text()
    wrong = text.replace(f"size: {len(data)}\n", f"size: {len(data) + 7}\n")
    assert wrong != text
    (repo / "f.bin.dvl").write_text(wrong)
    git(repo, "commit", "-qam", "a wrong size")


@pytest.mark.parametrize("size", [900, 2 << 20], ids=["packed", "loose"])
def test_wrong_size_in_a_pointer_is_the_pointers_error(repo, remote: RemoteHandle, size):
    data = os.urandom(size)
    _wrong_size_pointer(repo, data)
    assert run("push").exit_code == 0
    _wipe(repo, "f.bin", "g.bin")

    r = run("pull")
    assert r.exit_code == 3, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    hint = [line for line in r.stderr.splitlines() if line.startswith("hint:")]
    assert hint and "--repair" not in hint[0] and "pointer" in hint[0], r.stderr
    assert "intact" in _errors(r.stderr)[0]

    r = run("fsck", "--remote", "--repair", "--json")
    assert r.exit_code == 3
    doc = json.loads(r.stdout)
    assert doc["removed"] == [] and doc["corrupt"] == [] and doc["wrong_size"] == []
    assert len(doc["bad_pointers"]) == 1 and doc["bad_pointers"][0].startswith("f.bin.dvl:")
    assert remote.read(_key(_hex(data))) == data  # g.bin's object is still there

    git(repo, "checkout", "HEAD~1", "--", "f.bin.dvl")  # the pointer is what gets fixed
    assert run("pull").exit_code == 0
    assert (repo / "f.bin").read_bytes() == data == (repo / "g.bin").read_bytes()


# -- H6: a pack or index stored damaged (the server's checksum fails on GET) ----------------


@pytest.mark.s3
def test_damaged_index_is_skipped_then_pushed_again(repo, proxy: FaultProxy, s3: S3,
                                                    tmp_path):
    files = _files(5)
    _track(repo, {"d": files, "big.bin": BIG}, "d", "big.bin")
    before = _workspace(repo)
    rule = proxy.add(Rule("corrupt_request", method="PUT", path=r"\.idx", first=1))
    assert run("push").exit_code == 0
    assert rule.fired == 1

    r = run("fsck", "--remote", "--json")
    assert r.exit_code == 3, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["unreadable_indexes"]) == 1 and len(doc["missing"]) >= 5
    assert len(_warnings(r.stderr)) == 1 and ".idx" in _warnings(r.stderr)[0]

    aside = _stash_cache(repo, tmp_path)
    _wipe(repo, "d", "big.bin")
    r = run("pull")
    assert r.exit_code == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "FlexibleChecksum" not in _errors(r.stderr)[0]
    assert "missing on remote 'origin'" in _errors(r.stderr)[0]
    assert (repo / "big.bin").read_bytes() == BIG  # the rest of the remote works

    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.move(aside, repo / ".dvlite" / "cache")
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] >= 5
    assert run("fsck", "--remote").exit_code == 0
    _wipe(repo, "d", "big.bin")
    assert run("pull").exit_code == 0
    assert _workspace(repo) == before
    check_repo(repo)


@pytest.mark.s3
def test_repair_removes_a_damaged_index(repo, proxy: FaultProxy, s3: S3):
    _track(repo, {"d": _files(5)}, "d")
    proxy.add(Rule("corrupt_request", method="PUT", path=r"\.idx", first=1))
    assert run("push").exit_code == 0
    keys = s3_handle(s3, "store").list_keys()
    r = run("fsck", "--remote", "--repair", "--json")
    assert r.exit_code == 3
    (name,) = json.loads(r.stdout)["removed_indexes"]
    left = s3_handle(s3, "store").list_keys()
    assert f"{PACKS}{name}.idx" in keys and f"{PACKS}{name}.idx" not in left
    assert f"{PACKS}{name}.pack" in left  # an orphan now, for gc once old
    assert run("push").exit_code == 0
    assert run("fsck", "--remote").exit_code == 0


@pytest.mark.s3
def test_damaged_pack_is_an_integrity_error_and_repair_removes_it(
        repo, proxy: FaultProxy, s3: S3, tmp_path):
    files = _files(4)
    _track(repo, {"d": files, "big.bin": BIG}, "d", "big.bin")
    before = _workspace(repo)
    proxy.add(Rule("corrupt_request", method="PUT", path=r"\.pack", first=1))
    assert run("push").exit_code == 0
    aside = _stash_cache(repo, tmp_path)
    _wipe(repo, "d", "big.bin")

    # the pack as a whole fails the server's checksum; the ranges of the objects the
    # flipped byte missed pass it on their own and are used
    r = run("pull", "--json")
    assert r.exit_code == 3, r.stdout + r.stderr
    errors = _errors(r.stderr)
    assert len(errors) == 1 and "'origin'" in errors[0] and "Traceback" not in r.stderr
    (failure,) = json.loads(r.stdout)["failures"]
    assert failure["integrity"] and failure["hash"] in errors[0]
    assert failure["hash"] in {f"xxh128:{_hex(d)}" for d in files.values()}
    assert (repo / "big.bin").read_bytes() == BIG
    intact = [n for n, d in files.items() if f"xxh128:{_hex(d)}" != failure["hash"]]
    assert all(object_path(repo, Oid("xxh128", _hex(files[n]))).exists() for n in intact)

    r = run("fsck", "--remote", "--repair", "--json")
    assert r.exit_code == 3
    assert json.loads(r.stdout)["removed"] == [failure["hash"]]
    r = run("fsck", "--remote", "--json")
    assert json.loads(r.stdout)["missing"] == [f"{failure['hash']} ({failure['path']})"]
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.move(aside, repo / ".dvlite" / "cache")
    assert run("push").exit_code == 0
    _wipe(repo, "d", "big.bin")
    assert run("pull").exit_code == 0
    assert _workspace(repo) == before


# -- H7: a bad copy gives way to a good one -------------------------------------------------


def _bad_copy_first(remote: RemoteHandle, data: bytes) -> str:
    """Put a damaged copy of a packed object in a pack that sorts before its good one."""
    hex_ = _hex(data)
    name, _, _ = _pack_of(remote, hex_)
    bad = bytes([data[0] ^ 0xFF]) + data[1:]
    first = "0" * 32
    assert first < name
    remote.raw_put(f"{PACKS}{first}.pack", bad)
    remote.raw_put(f"{PACKS}{first}.idx", f"dvlite pack index 1\n{hex_} 0 {len(bad)}\n".encode())
    return first


def test_a_good_copy_in_another_pack_is_used(repo, remote: RemoteHandle):
    files = _files(3)
    _track(repo, {"d": files}, "d")
    before = _workspace(repo)
    assert run("push").exit_code == 0
    victim = files["f001.bin"]
    bad_pack = _bad_copy_first(remote, victim)
    _wipe(repo, "d")

    r = run("pull")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert _workspace(repo) == before

    r = run("fsck", "--remote", "--repair", "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 3 and doc["corrupt"] == []  # reported, though nothing is lost
    assert len(doc["bad_copies"]) == 1 and bad_pack in doc["bad_copies"][0]
    assert doc["removed"] == [f"xxh128:{_hex(victim)}"]
    assert bad_pack not in _packs(remote)
    assert remote.read(_key(_hex(victim))) == victim
    assert run("fsck", "--remote").exit_code == 0


def test_a_good_loose_copy_is_used_when_the_packed_one_is_bad(repo, remote: RemoteHandle):
    files = _files(3)
    _track(repo, {"d": files}, "d")
    assert run("push").exit_code == 0
    victim = files["f002.bin"]
    _corrupt_in_pack(remote, _hex(victim))
    remote.raw_put(_key(_hex(victim)), victim)
    _wipe(repo, "d")
    r = run("pull")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert (repo / "d" / "f002.bin").read_bytes() == victim
    r = run("get", str(repo), "d/f002.bin", "-o", str(repo.parent / "got.bin"))
    assert r.exit_code == 0, r.stderr
    assert (repo.parent / "got.bin").read_bytes() == victim
    assert object_path(repo, Oid("xxh128", _hex(victim))).exists()


# -- H11: an index is bounded before it is read -------------------------------------------


_RSS = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(r.stderr)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _rss_of(repo: Path, *args: str) -> tuple[int, int, str]:
    """Exit code and peak RSS (KiB) of a dvlite command, in a process of its own."""
    cmd = [sys.executable, "-c", _RSS, sys.executable, "-m", "dvlite", *args]
    done = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=True)
    code, rss = done.stdout.split()
    return int(code), int(rss), done.stderr


def test_a_huge_index_is_refused_unread_and_memory_stays_bounded(repo, tmp_path):
    store = tmp_path / "store"
    assert run("remote", "add", "origin", str(store), "--default").exit_code == 0
    _track(repo, {"a.bin": b"a small file"}, "a.bin")
    assert run("push").exit_code == 0
    base = _rss_of(repo, "fsck", "--remote")
    assert base[0] == 0, base[2]
    # a million 1-byte objects: an index of 37 MB, adding up to its 1 MB pack
    n = 1_000_000
    lines = "".join(f"{i:032x} {i} 1\n" for i in range(n))
    (store / PACKS / f"{'f' * 32}.idx").write_text("dvlite pack index 1\n" + lines)
    (store / PACKS / f"{'f' * 32}.pack").write_bytes(b"x" * n)
    assert (store / PACKS / f"{'f' * 32}.idx").stat().st_size > MAX_INDEX_BYTES

    code, rss, stderr = _rss_of(repo, "fsck", "--remote")
    assert code == 3 and "Traceback" not in stderr
    (warning,) = _warnings(stderr)
    assert "more than an index may have" in warning
    assert rss < base[1] + 20_000, (base[1], rss)  # KiB: the index was never read
