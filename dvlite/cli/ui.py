"""Output for the CLI: plain lines, JSON, errors, and rich progress bars on terminals."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from typing import Any

import typer


@dataclass
class Flags:
    quiet: bool = False
    verbose: bool = False


FLAGS = Flags()


def out(line: str = "") -> None:
    if not FLAGS.quiet:
        typer.echo(line)


def warn(line: str) -> None:
    typer.echo(f"warning: {line}", err=True)


def warn_links(kinds: set[str] | tuple[str, ...], chosen: bool = False) -> None:
    """Once per command: a workspace file placed as a hardlink or symlink is the cache
    object itself, and only its read-only mode keeps a program from writing into it,
    which does not stop root."""
    from dvlite.storage.links import SHARED_TYPES, unprotected

    root = unprotected(set(kinds))
    shared = sorted(SHARED_TYPES.intersection(kinds))
    if root:
        warn(f"running as root with cache.type {'/'.join(root)}: read-only permissions do "
             "not protect the cache, so writing to a linked file changes the cache object "
             "(`dvlite status` reports it as corrupt); use cache.type copy (or reflink) "
             "for files that are edited in place")
    elif chosen and shared:
        warn(f"with cache.type {'/'.join(shared)} a workspace file is the cache object: "
             "it is read-only, so delete or replace it rather than edit it in place")


def emit_json(data: Any) -> None:
    if not FLAGS.quiet:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


class RichProgress:
    """Files and bytes, rate and ETA; drawn on stderr only when it is a terminal. Sizes
    and rates in binary units (KiB, MiB, GiB), like every other size dvlite prints."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[files]}"),
            DownloadColumn(binary_units=True), speed_column(), TimeRemainingColumn(),
            console=console or Console(stderr=True), transient=True,
        )
        self._lock = threading.Lock()
        self._task: Any = None
        self._by_bytes = False
        self._files = 0
        self._total_files = 0

    def begin(self, description: str, files: int, nbytes: int) -> None:
        if files == 0:
            return
        self._by_bytes = nbytes > 0
        self._files, self._total_files = 0, files
        self._bar.start()
        self._task = self._bar.add_task(
            description, total=nbytes if self._by_bytes else files, files=f"0/{files} files"
        )

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        if self._task is None:
            return
        with self._lock:
            self._files += files
            step = nbytes if self._by_bytes else files
            self._bar.update(self._task, advance=step,
                             files=f"{self._files}/{self._total_files} files")

    def end(self) -> None:
        if self._task is not None:
            self._bar.stop()
            self._task = None


def speed_column() -> Any:
    """Rich's own rate column counts in decimal megabytes: this one says MiB/s."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Speed(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            rate = "?" if speed is None else f"{human_size(speed)}/s"
            return Text(rate, style="progress.data.speed")

    return Speed()


def progress() -> Any:
    from dvlite.storage.progress import NULL_PROGRESS

    if FLAGS.quiet or not sys.stderr.isatty():
        return NULL_PROGRESS
    return RichProgress()
