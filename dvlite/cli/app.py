"""The typer app, global flags, and the one exit point that turns errors into exit codes."""

from __future__ import annotations

import difflib
import inspect
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import typer
from typer.core import TyperGroup

from dvlite import __version__, _fault
from dvlite.cli.ui import FLAGS, err, safe, show_warnings
from dvlite.errors import DvliteError

INTERRUPTED = 130  # 128 + SIGINT; SIGTERM and SIGHUP end with 128 + their number
# A CI timeout, a closed terminal, `kill`: stopped the way Ctrl-C stops dvlite.
TERMINATING = (signal.SIGTERM, signal.SIGHUP)


def _fail(msg: str, hint: str | None, code: int) -> int:
    err(f"error: {msg}")
    if hint:
        err(f"hint: {hint}")
    return code


def _is_usage_error(exc: Exception) -> bool:
    """Click's own errors (bad option, missing argument), whichever click typer bundles."""
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


CLOSE_MATCH = 0.6  # difflib's own default cutoff, applied to names without dashes
GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose"})
# Commands whose arguments belong to another program (a stage's command line, git's hook
# arguments): their flags are never moved.
_RAW_ARGS = frozenset({"stage", "hook", "merge-driver"})


def hoist_global_flags(args: list[str]) -> list[str]:
    """Accept `dvlite push -q` as well as `dvlite -q push`, as DVC users type it: global
    flags after the command name (and before any `--`) move in front of it."""
    first = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
    if first is None or args[first] in _RAW_ARGS:
        return args
    tail = args[first + 1:]
    end = tail.index("--") if "--" in tail else len(tail)
    flags = [a for a in tail[:end] if a in GLOBAL_FLAGS]
    if not flags:
        return args
    rest = [a for a in tail[:end] if a not in GLOBAL_FLAGS] + tail[end:]
    return [*flags, *args[:first + 1], *rest]


def _usage(exc: Any) -> int:
    """A usage error's exit code (2); a bare group name (`dvlite`, `dvlite remote`) has
    already shown its help, and is not an error line with an empty message."""
    if type(exc).__name__ == "NoSuchOption":
        return _fail(f"{_no_such_option(exc)} (see --help)", None, int(exc.exit_code))
    message = exc.format_message()
    if type(exc).__name__ == "NoArgsIsHelpError":
        if message.strip():  # plain click help, not already printed by rich
            typer.echo(safe(message), err=True)
        return int(exc.exit_code)
    return _fail(f"{message} (see --help)", None, int(exc.exit_code))


def _no_such_option(exc: Any) -> str:
    """Click offers any option whose name, leading dashes included, looks alike, so that
    `--bogus` got "Possible options: --jobs". Only names close without the dashes count."""
    name = str(exc.option_name)
    close = [p for p in exc.possibilities or () if difflib.SequenceMatcher(
        None, name.lstrip("-"), str(p).lstrip("-")).ratio() >= CLOSE_MATCH]
    return f"no such option: {name}" + (f" (did you mean {' or '.join(close)}?)"
                                        if close else "")


def _unexpected(exc: Exception) -> int:
    if FLAGS.verbose:
        traceback.print_exc()
    return _fail(f"unexpected {type(exc).__name__}: {exc}",
                 "re-run with -v for a traceback and report it", 1)


@contextmanager
def terminate_as_interrupt() -> Iterator[list[int]]:
    """While a command runs, SIGTERM and SIGHUP raise KeyboardInterrupt like Ctrl-C, so
    every cleanup path (temp files, stage commands' groups, locks) runs; the signal is
    added to the yielded list. Only the first one interrupts: a second must not cut the
    cleanup of the first short."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers belong to the main thread (in-process callers)
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        del frame
        if received:
            return
        received.append(signum)
        _fault.release()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in TERMINATING}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def unwrap_help(command: Any) -> None:
    """Docstrings are wrapped for the source file, and typer keeps those line breaks, so
    help broke lines mid-sentence at any other width. Each paragraph becomes one line
    for the terminal to wrap (click's `\\b` blocks stay as written)."""
    if command.help:
        paragraphs = inspect.cleandoc(command.help).split("\n\n")
        command.help = "\n\n".join(p if p.startswith("\b") else " ".join(p.split())
                                     for p in paragraphs)
    for sub in getattr(command, "commands", {}).values():
        unwrap_help(sub)


def _close_repos() -> None:
    """Close what the command opened. Looked up, not imported: `--help` and `--version`
    never load the repository layer."""
    repo_module = sys.modules.get("dvlite.workspace.repo")
    if repo_module is not None:
        repo_module.close_all()


class DvliteGroup(TyperGroup):
    """Runs a command and maps every outcome to SPEC's exit codes and `error:` lines."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return list(super().parse_args(ctx, hoist_global_flags(list(args))))

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            with terminate_as_interrupt() as received:
                code = self._run(*args, **kwargs)
        except KeyboardInterrupt:  # a signal between the command's end and here
            code = _fail("interrupted", None, INTERRUPTED)
        if code == INTERRUPTED and received:
            code = 128 + received[0]
        sys.exit(code)

    def _run(self, *args: Any, **kwargs: Any) -> int:
        kwargs["standalone_mode"] = False  # this group always owns its exit
        unwrap_help(self)
        show_warnings()
        try:
            rv = super().main(*args, **kwargs)
            code = rv if isinstance(rv, int) else 0
            if code == INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
                code = _fail("interrupted", None, INTERRUPTED)
        except typer.Abort:
            code = _fail("interrupted", None, INTERRUPTED)
        except DvliteError as exc:
            if FLAGS.verbose:
                traceback.print_exc()
            code = _fail(exc.msg, exc.hint, exc.exit_code)
        except KeyboardInterrupt:
            code = _fail("interrupted", None, INTERRUPTED)
        except Exception as exc:
            code = _usage(exc) if _is_usage_error(exc) else _unexpected(exc)
        finally:
            _close_repos()
        return code


app = typer.Typer(
    cls=DvliteGroup,
    help="Version data and models next to your code, with git.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dvlite {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing on stdout."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show tracebacks on errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    del version
    FLAGS.quiet = quiet
    FLAGS.verbose = verbose
