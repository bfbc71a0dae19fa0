"""The loose object store's write paths and the worker-thread batching used to fill it."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from dvlite.core.oid import hash_bytes
from dvlite.errors import IntegrityError
from dvlite.storage.odb import BIG_OBJECT, SMALL_OBJECT, LocalStore
from dvlite.workspace.scan import parallel_spread
from tests.helpers import store_temps


@pytest.mark.parametrize("size", [0, 1, 4096, SMALL_OBJECT, SMALL_OBJECT + 1, BIG_OBJECT])
def test_add_file_small_and_streamed_give_one_read_only_object(tmp_path: Path, size: int) -> None:
    store = LocalStore(tmp_path / "cache", "xxh128")
    data = os.urandom(size)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    oid, stored = store.add_file(src, size=size)
    assert (oid, stored) == (hash_bytes("xxh128", data), size)
    obj = store.path(oid)
    assert obj.read_bytes() == data
    assert obj.stat().st_mode & 0o777 == 0o444
    assert store.add_file(src, size=size) == (oid, size)  # again: nothing new
    assert sorted(store.iter_oids()) == [oid]
    assert not store_temps(store.root)


def test_add_file_with_a_stale_size_hint_stores_what_is_there(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "cache", "xxh128")
    src = tmp_path / "grew.txt"
    src.write_bytes(b"x" * 5000)
    oid, size = store.add_file(src, size=10)  # the file grew after it was listed
    assert (oid, size) == (hash_bytes("xxh128", b"x" * 5000), 5000)
    assert store.path(oid).read_bytes() == b"x" * 5000


@pytest.mark.parametrize("size", [10, SMALL_OBJECT + 1])
def test_copy_with_wrong_hash_leaves_nothing(tmp_path: Path, size: int) -> None:
    store = LocalStore(tmp_path / "cache", "xxh128")
    src = tmp_path / "src.bin"
    src.write_bytes(b"a" * size)
    fd = os.open(src, os.O_RDONLY)
    try:
        with pytest.raises(IntegrityError, match="hash mismatch"):
            store.add_fd(fd, expected=hash_bytes("xxh128", b"expected"), size=size)
    finally:
        os.close(fd)
    assert not list(store.iter_oids())
    assert not store_temps(store.root)


def test_clean_temp_removes_old_temps_beside_objects_and_keeps_objects(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "cache", "xxh128")
    oid = store.add_bytes(b"kept")
    shard = store.path(oid).parent
    stale = shard / f".{'0' * 32}.dvlite-tmp-1-a-0"
    stale.write_bytes(b"partial")
    os.utime(stale, (1, 1))
    assert store.clean_temp(older_than=3600) == 1
    assert not stale.exists()
    assert store.path(oid).read_bytes() == b"kept"


def test_parallel_spread_pairs_every_item_and_interleaves_folders() -> None:
    items = [(f"d{i % 7}", i) for i in range(3000)]
    pairs = list(parallel_spread(lambda item: item[1] * 2, items, lambda item: item[0]))
    assert sorted(pairs) == sorted((item, item[1] * 2) for item in items)
    # batches (of 64 here) come one folder each, and the next batch from another folder
    runs = [len(list(run)) for _, run in itertools.groupby(p[0][0] for p in pairs)]
    assert max(runs) == 64 and len(runs) > 3000 // 64


def test_every_temp_name_a_writer_makes_is_one_cleaning_removes(tmp_path: Path) -> None:
    from dvlite.storage.atomic import is_temp_name, store_temp_name, temp_path_for
    from dvlite.storage.odb import _temp_suffix

    made = [temp_path_for(tmp_path / "model.bin").name, temp_path_for(tmp_path / "x y").name,
            f".{'0' * 32}{_temp_suffix()}", store_temp_name(),
            ".dvlite.lock.dvlite-tmp-locked"]
    assert all(is_temp_name(name) for name in made), made
    foreign = ["backup.tar", "old.tmp", f"{'0' * 32}", ".x.dvlite-tmp-", "a.dvlite-tmp-1",
               f"{'A' * 32}.tmp", ".x.dvlite-tmp-zz", f"{'0' * 32}.tmp.bak"]
    assert not any(is_temp_name(name) for name in foreign)
