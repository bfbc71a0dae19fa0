"""Bytes a forced checkout replaced: saved in the cache and listed in `.dvlite/discarded/`.

Each forced checkout that discards data writes one list, `.dvlite/discarded/STAMP.tsv`,
a line per file: `<unix time>\\t<hash>\\t<path>`. gc keeps every object a list names
until the list is older than `gc.grace` (or `gc --now`), then drops the list, so the
user has that long to copy the bytes back from `.dvlite/cache/ALGO/XX/HEX`.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from dvlite.core.oid import Oid
from dvlite.errors import FormatError
from dvlite.storage.atomic import atomic_write
from dvlite.workspace.repo import Repo

FOLDER = "discarded"


@dataclass(frozen=True, slots=True)
class Discarded:
    path: str  # repository-relative
    oid: Oid


def folder(repo: Repo) -> Path:
    return repo.dvlite_dir / FOLDER


def write_list(repo: Repo, items: list[Discarded], now: float | None = None) -> Path | None:
    """Write one list of `items`; returns its path (None when there is nothing)."""
    if not items:
        return None
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    path = folder(repo) / f"{stamp}-{uuid.uuid4().hex[:6]}.tsv"
    lines = "".join(f"{int(now)}\t{d.oid}\t{d.path}\n" for d in items)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lines.encode("utf-8", "surrogateescape"))
    return path


@dataclass(frozen=True, slots=True)
class DiscardedLists:
    kept: frozenset[Oid]  # named by a list younger than the grace period
    expired: tuple[Path, ...]  # lists past it: gc removes them


def read(repo: Repo, grace: float | None, now: float | None = None) -> DiscardedLists:
    """Every list, split by age (`grace` None: all are expired, for `gc --now`). A
    list that cannot be read keeps nothing and is left alone (dvlite did not write it)."""
    cutoff = float("inf") if grace is None else (time.time() if now is None else now) - grace
    kept: set[Oid] = set()
    expired: list[Path] = []
    try:
        names = sorted(n for n in os.listdir(folder(repo)) if n.endswith(".tsv"))
    except FileNotFoundError:
        return DiscardedLists(frozenset(), ())
    for name in names:
        path = folder(repo) / name
        try:
            entries = _parse(path.read_bytes())
        except (OSError, ValueError, FormatError):
            continue
        if all(t <= cutoff for t, _ in entries):
            expired.append(path)
        else:
            kept.update(oid for _, oid in entries)
    return DiscardedLists(frozenset(kept), tuple(expired))


def _parse(data: bytes) -> list[tuple[float, Oid]]:
    entries = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        stamp, oid, _path = line.split("\t", 2)
        entries.append((float(stamp), Oid.parse(oid)))
    return entries


def drop(paths: tuple[Path, ...]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
