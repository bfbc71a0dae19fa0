"""`add` of files above the kernel-copy threshold: same object, same guarantees."""

from __future__ import annotations

import os
from pathlib import Path

from dvlite.storage.hashing import hash_file
from dvlite.storage.odb import BIG_OBJECT
from tests.helpers import check_repo, object_path, read_pointer, run, store_temps


def test_big_file_is_stored_verbatim(repo: Path) -> None:
    data = os.urandom(1 << 20) * (BIG_OBJECT // (1 << 20)) + b"tail"
    (repo / "big.bin").write_bytes(data)
    assert run("add", "big.bin").exit_code == 0
    ptr = read_pointer(repo / "big.bin.dvl")
    oid, size = hash_file(repo / "big.bin", "xxh128")
    assert (ptr.oid, ptr.size, size) == (oid, len(data), len(data))
    obj = object_path(repo, oid)
    assert obj.read_bytes() == data
    assert obj.stat().st_mode & 0o777 == 0o444
    assert not store_temps(repo / ".dvlite" / "cache")
    check_repo(repo)
