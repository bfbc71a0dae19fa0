"""One anchored `.gitignore` entry per tracked path, in the `.gitignore` beside it."""

from __future__ import annotations

import re
from pathlib import Path

from dvlite.storage.atomic import atomic_write

_SPECIAL = re.compile(r"([*?\[\]\\!#])")


def entry_for(name: str) -> str:
    # a line break cannot be written in a pattern: '?' (any one character) stands for it
    escaped = _SPECIAL.sub(r"\\\1", name).replace("\n", "?").replace("\r", "?")
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return "/" + escaped


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def add_entry(data_path: Path) -> Path | None:
    """Ignore `data_path` in its folder's `.gitignore`; returns the file if it changed."""
    gi = data_path.parent / ".gitignore"
    entry = entry_for(data_path.name)
    lines = _read_lines(gi)
    if entry in lines:
        return None
    atomic_write(gi, ("\n".join([*lines, entry]) + "\n").encode())
    return gi


def remove_entry(data_path: Path) -> Path | None:
    """Drop `data_path`'s entry; deletes a `.gitignore` left empty. Returns it if changed."""
    gi = data_path.parent / ".gitignore"
    entry = entry_for(data_path.name)
    lines = _read_lines(gi)
    if entry not in lines:
        return None
    kept = [line for line in lines if line != entry]
    if any(line.strip() for line in kept):
        atomic_write(gi, ("\n".join(kept) + "\n").encode())
    else:
        gi.unlink()
    return gi
