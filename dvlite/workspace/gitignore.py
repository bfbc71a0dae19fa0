"""One anchored `.gitignore` entry per tracked path, in the `.gitignore` beside it."""

from __future__ import annotations

import re
from pathlib import Path

from dvlite.errors import storage_error
from dvlite.storage.atomic import atomic_write

_SPECIAL = re.compile(r"([*?\[\]\\!#])")


def entry_for(name: str) -> str:
    # a line break cannot be written in a pattern: '?' (any one character) stands for it
    escaped = _SPECIAL.sub(r"\\\1", name).replace("\n", "?").replace("\r", "?")
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return "/" + escaped


def _read_lines(path: Path) -> list[str]:
    # git reads .gitignore as bytes split at '\n' only: keep every other byte (non-UTF-8,
    # '\r' of CRLF files, form feeds) exactly as it was
    try:
        lines = path.read_bytes().decode("utf-8", "surrogateescape").split("\n")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise storage_error(exc, f"reading {path}") from exc
    return lines[:-1] if lines[-1] == "" else lines


def _has(lines: list[str], entry: str) -> bool:
    return any(line.rstrip("\r") == entry for line in lines)


def _write_lines(path: Path, lines: list[str]) -> None:
    # callers (add, remove, move, repro) hold the repository lock
    atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"),
                 locked=True)


def add_entry(data_path: Path) -> Path | None:
    """Ignore `data_path` in its folder's `.gitignore`; returns the file if it changed."""
    gi = data_path.parent / ".gitignore"
    entry = entry_for(data_path.name)
    lines = _read_lines(gi)
    if _has(lines, entry):
        return None
    _write_lines(gi, [*lines, entry])
    return gi


def remove_entry(data_path: Path) -> Path | None:
    """Drop `data_path`'s entry; deletes a `.gitignore` left empty. Returns it if changed."""
    gi = data_path.parent / ".gitignore"
    entry = entry_for(data_path.name)
    lines = _read_lines(gi)
    if not _has(lines, entry):
        return None
    kept = [line for line in lines if line.rstrip("\r") != entry]
    if any(line.strip() for line in kept):
        _write_lines(gi, kept)
    else:
        gi.unlink()
    return gi
