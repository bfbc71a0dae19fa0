"""The state db: (inode, size, mtime_ns, ctime_ns) -> hash, so unchanged files are
never hashed twice. A hint only: any difference in the fingerprint means re-hash.

It also remembers, per tracked folder, a digest of every file's fingerprint taken when
the folder matched its pointer with all objects cached (`folders`): a later `status`
whose scan gives the same digest needs no per-file lookups at all.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from dvlite.core.oid import Oid
from dvlite.errors import FormatError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    inode INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL
) WITHOUT ROWID
"""
_FOLDERS = """
CREATE TABLE IF NOT EXISTS folders (
    path TEXT PRIMARY KEY,
    pointer TEXT NOT NULL,
    scan TEXT NOT NULL,
    cache TEXT NOT NULL
) WITHOUT ROWID
"""
_BATCH = 500


def _open(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_SCHEMA)
        conn.execute(_FOLDERS)
    except BaseException:
        conn.close()
        raise
    return conn


def fingerprint(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


class StateDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self.hits = 0

    def _db(self) -> sqlite3.Connection:
        """The connection. The db is only a hint, so it never stops a command: a damaged
        file is dropped and rebuilt, one that cannot be opened is replaced by memory."""
        if self._conn is None:
            try:
                self._conn = _open(self.path)
            except sqlite3.OperationalError:  # cannot open (permissions, a folder, locked)
                self._conn = _open(":memory:")
            except sqlite3.DatabaseError:  # not a database, or a malformed one
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        os.unlink(f"{self.path}{suffix}")
                try:
                    self._conn = _open(self.path)
                except sqlite3.DatabaseError:
                    self._conn = _open(":memory:")
        return self._conn

    def get_many(self, stats: Iterable[os.stat_result]) -> dict[int, Oid]:
        """Hashes of the files whose fingerprint is unchanged, keyed by inode."""
        wanted = {st.st_ino: fingerprint(st) for st in stats}
        if not wanted:
            return {}
        found: dict[int, Oid] = {}
        inodes = list(wanted)
        db = self._db()
        for i in range(0, len(inodes), _BATCH):
            chunk = inodes[i : i + _BATCH]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT inode, size, mtime_ns, ctime_ns, hash FROM state WHERE inode IN ({marks})",
                chunk,
            )
            for inode, size, mtime_ns, ctime_ns, text in rows:
                if wanted[inode] == (size, mtime_ns, ctime_ns):
                    try:
                        found[inode] = Oid.parse(text)
                    except FormatError:
                        continue
        self.hits += len(found)
        return found

    def put_many(self, records: Iterable[tuple[os.stat_result, Oid]]) -> None:
        rows = [
            (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, str(oid))
            for st, oid in records
        ]
        if not rows:
            return
        db = self._db()
        db.execute("BEGIN")
        db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")

    def folder_matches(self, path: str, pointer: str, scan: str, cache: str) -> bool:
        """True if folder `path` was recorded clean against `pointer` with exactly this
        scan digest and cache signature."""
        row = self._db().execute(
            "SELECT pointer, scan, cache FROM folders WHERE path = ?", (path,)).fetchone()
        return row is not None and tuple(row) == (pointer, scan, cache)

    def put_folder(self, path: str, pointer: str, scan: str, cache: str) -> None:
        self._db().execute("INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?)",
                           (path, pointer, scan, cache))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
