"""The state db: unchanged files are never hashed twice; touched files are re-hashed once."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dvlite.storage import hashing
from tests.helpers import gen, run

N = 150


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls += 1
            return fn(*args, **kwargs)

        return counted

    def take(self) -> int:
        n, self.calls = self.calls, 0
        return n


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts every file hashed from the workspace (hash_file streams through hash_fd)."""
    counter = Counter()
    monkeypatch.setattr(hashing, "hash_fd", counter.wrap(hashing.hash_fd))
    return counter


def backdate(*paths: Path, seconds: float = 10.0) -> None:
    t = time.time_ns() - int(seconds * 1e9)
    for p in paths:
        os.utime(p, ns=(t, t))


@pytest.fixture
def many(repo: Path) -> Path:
    tree: dict[str, object] = {f"d{d}": {} for d in range(10)}
    for i in range(N):
        tree[f"d{i % 10}"][f"f{i}.txt"] = f"content {i}"  # type: ignore[index]
    gen(repo, {"data": tree})
    backdate(*(repo / "data").rglob("*.txt"))
    assert run("add", "data").exit_code == 0
    return repo


def test_second_status_hashes_nothing(many: Path, hashes: Counter) -> None:
    assert run("status", "--exit-code").exit_code == 0
    assert hashes.take() == 0  # add already recorded every file
    assert run("status", "--exit-code").exit_code == 0
    assert hashes.take() == 0


def test_touched_but_equal_file_rehashed_once_then_trusted(many: Path, hashes: Counter) -> None:
    f = many / "data" / "d3" / "f3.txt"
    backdate(f, seconds=5)  # new mtime, same bytes
    assert run("status", "--exit-code").exit_code == 0
    assert hashes.take() == 1
    assert run("status", "--exit-code").exit_code == 0
    assert hashes.take() == 0


def test_racy_file_is_not_trusted_until_old_enough(many: Path, hashes: Counter) -> None:
    f = many / "data" / "d3" / "f3.txt"
    f.write_text("content 3")  # same bytes, mtime now: inside the racy window
    now = time.time_ns()
    os.utime(f, ns=(now, now + 10**9))  # mtime in the future: racy whatever the clock does
    for _ in range(2):
        assert run("status", "--exit-code").exit_code == 0
        assert hashes.take() == 1  # hashed, but not remembered
    backdate(f)
    assert run("status", "--exit-code").exit_code == 0
    assert hashes.take() == 1
    assert run("status", "--exit-code").exit_code == 0
    assert hashes.take() == 0


def test_edit_with_same_size_and_mtime_is_detected_via_ctime(many: Path, hashes: Counter) -> None:
    f = many / "data" / "d3" / "f3.txt"
    st = f.stat()
    f.write_text("CONTENT 3")  # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime restored; ctime moves on
    r = run("status")
    assert "modified:     data/d3/f3.txt" in r.stdout
    assert hashes.take() == 1


def test_checkout_records_written_files(many: Path, hashes: Counter) -> None:
    import shutil

    shutil.rmtree(many / "data" / "d1")
    assert run("checkout").exit_code == 0
    assert hashes.take() == 0  # the plan needs no hashing: d1's files are simply missing
    assert run("status", "--exit-code").exit_code == 0
    assert hashes.take() == 0  # checkout recorded the files it wrote
    backdate(*(many / "data" / "d1").rglob("*.txt"))  # utime changes ctime: re-hash once
    assert run("status", "--exit-code").exit_code == 0
    assert hashes.take() == N // 10
    assert run("status", "--exit-code").exit_code == 0
    assert hashes.take() == 0


def test_state_hits_counted(many: Path, hashes: Counter) -> None:
    """The file-level path every comparison goes through: all hits, no hashing."""
    from dvlite.workspace.repo import Repo
    from dvlite.workspace.scan import hash_files, scan_dir

    repo = Repo.find(many)
    try:
        oids = hash_files(repo, scan_dir(many / "data"))
        assert len(oids) == N
        assert repo.state.hits == N
        assert hashes.take() == 0
    finally:
        repo.close()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "folder"])
def test_damaged_state_db_is_rebuilt_or_bypassed(many: Path, hashes: Counter,
                                                 damage: str) -> None:
    import gc

    gc.collect()  # close the connections earlier in-process runs left behind
    db = many / ".dvlite" / "state.db"
    for extra in many.joinpath(".dvlite").glob("state.db-*"):
        extra.unlink()
    if damage == "garbage":
        db.write_bytes(b"this is not sqlite" * 100)
    elif damage == "truncated":
        db.write_bytes(db.read_bytes()[:100])
    else:
        db.unlink()
        db.mkdir()
    (many / "data" / "d1" / "f1.txt").write_text("changed")
    backdate(many / "data" / "d1" / "f1.txt")
    r = run("status")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "  modified:     data/d1/f1.txt\n"
    assert hashes.take() == N  # nothing trusted from a damaged db
    if damage != "folder":
        assert run("status").exit_code == 0
        assert hashes.take() == 0  # rebuilt
