"""Output for the CLI: plain lines, JSON, errors, and rich progress bars on terminals."""

from __future__ import annotations

import json
import logging
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


class _Warnings(logging.Handler):
    """Warnings of the layers below, which cannot import the CLI, printed like its own."""

    def emit(self, record: logging.LogRecord) -> None:
        warn(record.getMessage())


def show_warnings() -> None:
    """Route the `dvlite` logger's warnings to `warn` (once per process)."""
    log = logging.getLogger("dvlite")
    if not any(isinstance(h, _Warnings) for h in log.handlers):
        log.addHandler(_Warnings(logging.WARNING))
        log.propagate = False


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
    """Files and bytes, rate and ETA; drawn on stderr only when it is a terminal."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[files]}"),
            DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True,
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


def progress() -> Any:
    from dvlite.storage.progress import NULL_PROGRESS

    if FLAGS.quiet or not sys.stderr.isatty():
        return NULL_PROGRESS
    return RichProgress()
