"""Reading and writing the workspace's `dvlite.lock` files (the codec is `core.lockfile`)."""

from __future__ import annotations

import posixpath
from pathlib import Path

from dvlite.core.lockfile import LockEntry, dumps, loads, lock_path_for
from dvlite.errors import storage_error
from dvlite.storage.atomic import atomic_write


def read_lock(root: Path, dvfile: str) -> dict[str, LockEntry]:
    rel = lock_path_for(dvfile)
    try:
        data = (root / rel).read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise storage_error(exc, f"reading {rel}") from exc
    return loads(data, rel)


def write_entry(root: Path, dvfile: str, entry: LockEntry, keep: set[str] | None = None) -> None:
    """Record `entry`, keeping the other stages' entries (those in `keep` if given).
    The caller holds the repository lock; the file is replaced atomically."""
    entries = read_lock(root, dvfile)
    entries[entry.name] = entry
    if keep is not None:
        entries = {n: e for n, e in entries.items() if n in keep or n == entry.name}
    base = posixpath.dirname(dvfile)
    atomic_write(root / lock_path_for(dvfile), dumps(entries, base), locked=True)
