"""Output for the CLI: plain lines, JSON, errors, and rich progress bars on terminals.

Everything dvlite prints passes through here, and much of it came from outside: file
names, a remote's files and error bodies, git's messages, a cloned repository's config.
So every character a terminal could act on is shown escaped instead of sent raw (an ESC
starts CSI, OSC and DCS sequences; C1 codes are 8-bit forms of the same; bidi controls
reorder what is shown), and a name that is not valid UTF-8 shows its bytes as `\\xNN`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from dvlite.workspace.checkout import CheckoutResult
    from dvlite.workspace.repo import Repo


@dataclass
class Flags:
    quiet: bool = False
    verbose: bool = False


FLAGS = Flags()

# C0 controls but tab and newline, DEL, C1, bidi overrides and isolates, and the lone
# surrogates by which Python carries the bytes of a name that is not UTF-8.
_RISKY = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[{_RISKY}]")
_UNSAFE_LINE = re.compile(f"[{_RISKY}\n\t]")  # a one-line message stays one line
_UNSAFE_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")  # json.dumps escapes C0 itself


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str, one_line: bool = False) -> str:
    """`text` with every control character (and tab and newline, for `one_line`) escaped."""
    return (_UNSAFE_LINE if one_line else _UNSAFE).sub(_escape, text)


def out(line: str = "") -> None:
    if not FLAGS.quiet:
        typer.echo(safe(line))


def err(line: str) -> None:
    """One line on stderr (an `error:`, `hint:` or hook message)."""
    typer.echo(safe(line, one_line=True), err=True)


def warn(line: str) -> None:
    err(f"warning: {line}")


def confirm(question: str) -> bool:
    return bool(typer.confirm(safe(question, one_line=True)))


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


def report_discarded(repo: Repo, result: CheckoutResult) -> None:
    """Say where the bytes a forced checkout (or pull) replaced went, and for how long."""
    shown = result.discarded[:10]
    for d in shown:
        warn(f"discarded your changes to {d.path}; the old bytes are in "
             f"{repo.rel(repo.cache.path(d.oid))}")
    if not result.discarded:
        return
    more = len(result.discarded) - len(shown)
    listed = f" (and {more} more)" if more else ""
    assert result.listed_in is not None
    warn(f"all{listed} listed in {repo.rel(result.listed_in)}; gc keeps them for gc.grace "
         f"({repo.config.gc.grace_text}): copy one back with cp to keep it")


def redact(url: str) -> str:
    """Hide a password embedded in a URL (scheme://user:secret@host)."""
    return re.sub(r"(://[^/:@]+):[^/@]+@", r"\1:***@", url)


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
    """JSON keeps the real names: control characters become `\\uXXXX` escapes, which
    any JSON reader turns back into the same string."""
    if not FLAGS.quiet:
        text = json.dumps(data, indent=2, ensure_ascii=False)
        typer.echo(_UNSAFE_JSON.sub(lambda m: f"\\u{ord(m[0]):04x}", text))


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
