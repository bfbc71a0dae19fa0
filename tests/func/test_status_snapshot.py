"""`status` fast path: a clean folder snapshot is reused only while nothing it covers
changed (files, their fingerprints, or the cache)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from dvlite.storage.hashing import hash_file
from dvlite.workspace import snapshot
from tests.helpers import gen, object_path, run


def rows(repo: Path, table: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(repo / ".dvlite" / "state.db")
    try:
        return conn.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        conn.close()


@pytest.fixture
def settled(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tracked folder whose files count as settled (no waiting for the clock)."""
    monkeypatch.setattr(snapshot, "SETTLE_NS", 0)
    gen(repo, {"data": {"a": "1", "sub": {"b": "2", "c": "3"}}})
    assert run("add", "data").exit_code == 0
    r = run("status")
    assert (r.exit_code, r.stdout) == (0, "Data and pointers are up to date.\n")
    assert len(rows(repo, "folders")) == 1
    return repo


def forget_file_hashes(repo: Path) -> None:
    conn = sqlite3.connect(repo / ".dvlite" / "state.db")
    conn.execute("DELETE FROM state")
    conn.commit()
    conn.close()


def test_clean_status_uses_the_snapshot(settled: Path) -> None:
    forget_file_hashes(settled)
    r = run("status")
    assert r.stdout == "Data and pointers are up to date.\n"
    assert rows(settled, "state") == []  # nothing was hashed: the snapshot answered


def test_content_change_is_seen(settled: Path) -> None:
    (settled / "data" / "sub" / "b").write_text("X")
    r = run("status")
    assert "modified:     data/sub/b" in r.stdout
    assert run("status", "--exit-code").exit_code == 1


def test_added_and_removed_files_are_seen(settled: Path) -> None:
    (settled / "data" / "new").write_text("n")
    assert "modified:     data/new" in run("status").stdout
    (settled / "data" / "new").unlink()
    (settled / "data" / "a").unlink()
    assert "modified:     data/a" in run("status").stdout


def test_same_size_same_mtime_rewrite_is_seen(settled: Path) -> None:
    """A rewrite that keeps size and mtime still changes ctime (and usually the inode)."""
    path = settled / "data" / "a"
    st = path.stat()
    path.write_text("9")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "modified:     data/a" in run("status").stdout


def test_object_removed_from_cache_is_seen(settled: Path) -> None:
    oid, _ = hash_file(settled / "data" / "sub" / "c", "xxh128")
    object_path(settled, oid).unlink()
    r = run("status")
    assert "not in cache: data (1 objects)" in r.stdout


def test_pointer_change_is_seen(settled: Path) -> None:
    """Same files and cache, another pointer (as after `git checkout` of an older
    commit): the snapshot recorded for the newer pointer must not answer."""
    old = (settled / "data.dvl").read_bytes()
    (settled / "data" / "a").write_text("changed")
    assert run("add", "data").exit_code == 0
    assert run("status").stdout == "Data and pointers are up to date.\n"
    (settled / "data.dvl").write_bytes(old)
    assert "modified:     data/a" in run("status").stdout


def test_fresh_files_are_not_snapshotted(repo: Path) -> None:
    """With the real settle window, files written just now are never trusted wholesale."""
    gen(repo, {"data": {"a": "1"}})
    assert run("add", "data").exit_code == 0
    assert run("status").exit_code == 0
    assert rows(repo, "folders") == []
