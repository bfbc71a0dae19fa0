"""Known objects: each clone's note of the objects known to be on each remote
(`.dvlite/remotes.db`, sqlite).

A hint only, used to skip asking the remote again: push trusts it to skip objects it
uploaded or saw before; fetch and fsck --remote never do. gc --remote forgets what it
deletes, and fetch and fsck --remote forget what they find missing or bad, so a later
push uploads it again. Deleting the file is always safe.

A remote's known objects are tied to its epoch (in its format file), which a gc --remote
on any machine renews and a wiped remote loses: those learnt under another epoch are
dropped when the epoch is next read (see `Remote.known_ttl`).

It also remembers when this machine last made each object young on the remote (uploaded
it, or listed it in a freshen marker, see `fresh`): a push freshens what it
finds there only once that is long ago, not on every run.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from dvlite.core.oid import Oid

_SCHEMA = """
CREATE TABLE IF NOT EXISTS known (
    remote TEXT NOT NULL,
    oid TEXT NOT NULL,
    PRIMARY KEY (remote, oid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fresh (
    remote TEXT NOT NULL,
    oid TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (remote, oid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epochs (
    remote TEXT PRIMARY KEY,
    epoch TEXT NOT NULL,
    checked REAL NOT NULL
);
"""
_BATCH = 500


class KnownObjects:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def among(self, remote: str, oids: Iterable[Oid]) -> set[Oid]:
        """Those of `oids` known to be on the remote."""
        return self._select("SELECT oid FROM known WHERE remote = ? AND", [remote], oids)

    def fresh_since(self, remote: str, oids: Iterable[Oid], since: float) -> set[Oid]:
        """Those of `oids` this machine made young on the remote at `since` or later."""
        return self._select("SELECT oid FROM fresh WHERE remote = ? AND at >= ? AND",
                            [remote, since], oids)

    def _select(self, query: str, params: list[object], oids: Iterable[Oid]) -> set[Oid]:
        by_text = {str(o): o for o in oids}
        found: set[Oid] = set()
        texts = list(by_text)
        with self._lock:
            db = self._db()
            for i in range(0, len(texts), _BATCH):
                chunk = texts[i : i + _BATCH]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f"{query} oid IN ({marks})", [*params, *chunk])
                found.update(by_text[text] for (text,) in rows)
        return found

    def _write(self, statements: Iterable[str], rows: list[tuple[object, ...]]) -> None:
        if not rows:
            return
        with self._lock:
            db = self._db()
            db.execute("BEGIN")
            for sql in statements:
                db.executemany(sql, rows)
            db.execute("COMMIT")

    def add(self, remote: str, oids: Iterable[Oid], fresh: float | None = None) -> None:
        """Note `oids` as on the remote; with `fresh`, as made young there at that time."""
        rows: list[tuple[object, ...]] = [(remote, str(o)) for o in oids]
        self._write(["INSERT OR IGNORE INTO known VALUES (?, ?)"], rows)
        if fresh is not None:
            self._write(["INSERT OR REPLACE INTO fresh VALUES (?, ?, ?)"],
                        [(*row, fresh) for row in rows])

    def forget(self, remote: str, oids: Iterable[Oid]) -> None:
        self._write(["DELETE FROM known WHERE remote = ? AND oid = ?",
                     "DELETE FROM fresh WHERE remote = ? AND oid = ?"],
                    [(remote, str(o)) for o in oids])

    def last_check(self, remote: str) -> float | None:
        """When the remote's epoch was last read (time.time()), if ever."""
        with self._lock:
            row = self._db().execute(
                "SELECT checked FROM epochs WHERE remote = ?", [remote]).fetchone()
        return None if row is None else float(row[0])

    def reconcile(self, remote: str, epoch: str | None, now: float) -> bool:
        """Compare the remote's current epoch (None: no format file) with the one its
        known objects were learnt under; drop them when the two differ. True if that
        dropped anything."""
        dropped = False
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT epoch FROM epochs WHERE remote = ?", [remote]).fetchone()
            if row is None or row[0] != epoch:
                cur = db.execute("DELETE FROM known WHERE remote = ?", [remote])
                dropped = cur.rowcount > 0
                db.execute("DELETE FROM fresh WHERE remote = ?", [remote])
            if epoch is None:
                db.execute("DELETE FROM epochs WHERE remote = ?", [remote])
            else:
                db.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?)",
                           [remote, epoch, now])
            db.execute("COMMIT")
        return dropped

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
