"""A folder remote on a full disk (ENOSPC) and on a read-only mount (EROFS): `push`
fails with one error line naming the remote, leaves no partial object or temp file
there and the cache as it was; once there is room (or the mount is writable again) a
re-run completes and `fsck --remote` is clean."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dvlite.storage.hashing import hash_file
from tests.helpers import gen, git, run, run_proc, snapshot, store_temps

pytestmark = [pytest.mark.e2e, pytest.mark.root]


def mount(*args: str) -> None:
    r = subprocess.run(["mount", *args], capture_output=True, check=False)
    if r.returncode:
        pytest.skip(f"cannot mount: {r.stderr.decode().strip()}")


@pytest.fixture
def mnt(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "mnt"
    path.mkdir()
    yield path
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def pushed_repo(repo: Path, store: Path) -> dict[str, bytes | str]:
    """Small files (packed) and big ones (loose) added, the folder remote configured;
    returns the cache's contents."""
    gen(repo, {"data": {f"s{i:02}.txt": f"small {i}\n" * 40 for i in range(30)},
               "big1.bin": os.urandom(3 << 20), "big2.bin": os.urandom(3 << 20)})
    assert run("add", "data", "big1.bin", "big2.bin").exit_code == 0
    assert run("remote", "add", "origin", str(store), "--default").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "data")
    return snapshot(repo / ".dvlite" / "cache")


def assert_only_whole_objects(store: Path) -> None:
    """Every loose object on the remote hashes to its name; no temp file anywhere."""
    assert store_temps(store) == []
    for path in store.glob("xxh128/??/*"):
        assert hash_file(path, "xxh128")[0].hex == path.name, path
    for pack in store.glob("packs/xxh128/*.pack"):
        assert pack.with_suffix(".idx").is_file(), pack  # no pack without its index


def assert_failed_cleanly(repo: Path, store: Path, cache_before: dict[str, bytes | str],
                          expected: str) -> None:
    r = run_proc("push", cwd=repo)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0].startswith("error: ") and "'origin'" in lines[0], r.stderr
    assert expected in lines[0], r.stderr
    assert all(line.startswith("hint: ") for line in lines[1:]), r.stderr
    assert "Traceback" not in r.stderr
    assert_only_whole_objects(store)
    assert snapshot(repo / ".dvlite" / "cache") == cache_before


def assert_rerun_completes(repo: Path, store: Path) -> None:
    r = run_proc("push", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert_only_whole_objects(store)
    r = run_proc("fsck", "--remote", cwd=repo)
    assert r.returncode == 0, r.stdout + r.stderr


def test_push_to_a_full_folder_remote(repo: Path, mnt: Path) -> None:
    mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt))
    store = mnt / "store"
    cache_before = pushed_repo(repo, store)
    assert_failed_cleanly(repo, store, cache_before, "no space left")
    mount("-o", "remount,size=64m", str(mnt))
    assert_rerun_completes(repo, store)


def test_push_to_a_read_only_folder_remote(repo: Path, tmp_path: Path, mnt: Path) -> None:
    backing = tmp_path / "backing"
    (backing / "store").mkdir(parents=True)
    mount("--bind", str(backing), str(mnt))
    mount("-o", "remount,ro,bind", str(mnt))
    store = mnt / "store"
    cache_before = pushed_repo(repo, store)
    assert_failed_cleanly(repo, store, cache_before, "read-only")
    assert list(store.iterdir()) == []  # not even the format file
    mount("-o", "remount,rw,bind", str(mnt))
    assert_rerun_completes(repo, store)
