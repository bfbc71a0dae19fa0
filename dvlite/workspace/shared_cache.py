"""Which repositories use a cache. A repository whose cache lives elsewhere (`cache.dir`,
or `DVLITE_CACHE_DIR`) notes itself in `<cache>/repos/<id>` (its root's path) whenever
it opens the cache, so `gc` can tell that objects it does not need may be another
repository's. A cache at `X/.dvlite/cache` is also used by the repository `X` itself.
Entries of repositories that no longer exist are dropped; one that moved to another
cache stays listed until its entry is deleted by hand (refusing is the safe side).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from dvlite.storage.atomic import atomic_write

REPOS_DIR = "repos"
_DVLITE_DIR = ".dvlite"


def register(cache_dir: Path, root: Path) -> None:
    """Note that the repository at `root` uses `cache_dir` (best effort: a full or
    read-only cache must not stop a command that only reads it)."""
    entry = cache_dir / REPOS_DIR / _entry_name(root)
    text = f"{root}\n".encode()
    with contextlib.suppress(OSError):
        if entry.read_bytes() == text:
            return
    with contextlib.suppress(OSError):
        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(entry, text)


def unregister(cache_dir: Path, root: Path) -> None:
    """Forget the repository at `root` (a temporary one, about to be deleted)."""
    with contextlib.suppress(OSError):
        (cache_dir / REPOS_DIR / _entry_name(root)).unlink()


def other_users(cache_dir: Path, root: Path) -> list[Path]:
    """The other live repositories that use `cache_dir`, sorted."""
    users: set[Path] = set()
    home = _home_repo(cache_dir)
    if home is not None:
        users.add(home)
    folder = cache_dir / REPOS_DIR
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            user = _read(entry)
            if user is None:
                continue
            if _is_repo(user):
                users.add(user)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()  # the repository is gone
    return sorted(u for u in users if u != root)


def _entry_name(root: Path) -> str:
    return hashlib.sha256(str(root).encode()).hexdigest()[:32]


def _read(entry: Path) -> Path | None:
    if entry.name.startswith(".") or entry.name != _entry_name(Path(_first_line(entry))):
        return None  # a temp file, or not an entry
    return Path(_first_line(entry))


def _first_line(entry: Path) -> str:
    try:
        return entry.read_text(encoding="utf-8").split("\n", 1)[0]
    except (OSError, UnicodeDecodeError):
        return ""


def _is_repo(root: Path) -> bool:
    return (root / _DVLITE_DIR).is_dir()


def _home_repo(cache_dir: Path) -> Path | None:
    real = Path(os.path.realpath(cache_dir))
    if real.name == "cache" and real.parent.name == _DVLITE_DIR and _is_repo(real.parent.parent):
        return real.parent.parent
    return None
