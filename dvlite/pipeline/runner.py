"""Running stage commands: each in its own process group, so an interrupt of dvlite can
be forwarded to the whole command tree (shell, interpreters, their children)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from dvlite.errors import PipelineError

# Seconds a command gets to exit after SIGINT before it is killed.
GRACE_SECONDS = 5.0


class Runner:
    """Starts commands and remembers the running ones for `interrupt_all`."""

    def __init__(self, stdout_to_stderr: bool = False) -> None:
        # With --json or -q, dvlite's stdout is reserved: commands print on stderr.
        self._stdout = _stderr_fd() if stdout_to_stderr else None
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen[bytes]] = {}

    def run(self, cmd: str, cwd: Path, env: dict[str, str] | None = None) -> int:
        """Run `cmd` through the shell in `cwd`, streaming its output; return its exit code."""
        try:
            # A new session: the terminal's Ctrl-C reaches dvlite only, and dvlite decides
            # (forwards SIGINT to the group, then kills it if it lingers).
            proc = subprocess.Popen(cmd, shell=True, cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=self._stdout, start_new_session=True, env=env)
        except OSError as exc:
            raise PipelineError(f"cannot start '{cmd}': {exc.strerror or exc}") from exc
        with self._lock:
            self._running[proc.pid] = proc
        try:
            return proc.wait()
        finally:
            with self._lock:
                self._running.pop(proc.pid, None)

    def interrupt_all(self) -> None:
        """Forward SIGINT to every running command's group; kill what outlives the grace."""
        with self._lock:
            procs = list(self._running.values())
        for proc in procs:
            _signal_group(proc, signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            # Grandchildren that ignored SIGINT must not outlive the run either.
            _signal_group(proc, signal.SIGKILL)


def _stderr_fd() -> int:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream: use the real fd 2
        return 2


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM and SIGHUP like Ctrl-C while commands run, so they are forwarded to
    the commands' groups instead of leaving them orphaned (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM,
                                                                      signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
