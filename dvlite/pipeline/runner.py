"""Running stage commands: each in its own session and process group, tied to dvlite's
life. An interrupt of dvlite is forwarded to the whole command tree (shell, interpreters,
their children); a dvlite killed outright (kill -9, the OOM killer) takes the tree with it:

1. the command's shell gets SIGKILL when dvlite dies (Linux `PR_SET_PDEATHSIG`);
2. a tiny guard process outside the group holds a pipe from dvlite and kills the whole
   group when the pipe closes without a word, which happens only when dvlite died;
3. the group is recorded under `.dvlite/running/` while it runs, so the next `repro`
   kills what survived both (see `dvlite.pipeline.orphans`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dvlite.errors import PipelineError
from dvlite.pipeline import orphans

# Seconds a command gets to exit after SIGINT before it is killed.
GRACE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1
# argv[1] is the group; a line on stdin means "finished normally", EOF means dvlite died.
_GUARD = 'read _ || kill -s KILL -- "-$1" 2>/dev/null'


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(None, use_errno=True).prctl
    return None


_PRCTL = _load_prctl()


@dataclass(frozen=True)
class Started:
    """A running command: its shell (the group leader), its guard and its group file."""

    proc: subprocess.Popen[bytes]
    guard: subprocess.Popen[bytes] | None
    guard_pipe: int | None
    group_file: Path | None


class Runner:
    """Starts commands and remembers the running ones for `interrupt_all`."""

    def __init__(self, groups: Path | None = None, stdout_to_stderr: bool = False) -> None:
        # With --json or -q, dvlite's stdout is reserved: commands print on stderr.
        self._stdout = _stderr_fd() if stdout_to_stderr else None
        self._groups = groups
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, cmd: str, cwd: Path, env: dict[str, str] | None = None) -> Started:
        """Start `cmd` through the shell in `cwd`, streaming its output. Call it from the
        main thread: the kernel's parent-death signal follows the thread that forks."""
        token = orphans.new_token()
        full_env = {**(os.environ if env is None else env), orphans.TOKEN_VAR: token}
        try:
            # A new session: the terminal's Ctrl-C reaches dvlite only, and dvlite decides
            # (forwards SIGINT to the group, then kills it if it lingers). The pre-exec
            # hook is safe beside threads: it makes two system calls and takes no lock.
            proc = subprocess.Popen(cmd, shell=True, cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=self._stdout, start_new_session=True,
                                    env=full_env,
                                    preexec_fn=_die_with(os.getpid()))  # noqa: PLW1509
        except OSError as exc:
            raise PipelineError(f"cannot start '{cmd}': {exc.strerror or exc}") from exc
        with self._lock:
            self._running[proc.pid] = proc
        guard, pipe = _guard(proc.pid)
        group_file = None
        if self._groups is not None:
            group_file = orphans.note_group(self._groups, proc.pid, token)
        return Started(proc, guard, pipe, group_file)

    def wait(self, started: Started) -> int:
        """Wait for a started command (from any thread); return its exit code."""
        proc = started.proc
        try:
            return proc.wait()
        finally:
            with self._lock:
                self._running.pop(proc.pid, None)
            _release(started)

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


def _die_with(parent: int) -> Callable[[], None] | None:
    """The child's last step before exec: SIGKILL when `parent` dies (Linux only)."""
    if _PRCTL is None:
        return None

    def pre_exec() -> None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # dvlite died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return pre_exec


def _guard(pgid: int) -> tuple[subprocess.Popen[bytes] | None, int | None]:
    """Start the guard of group `pgid` in a session of its own (a signal to dvlite's
    group must not stop it), with the only write end of its pipe kept here."""
    read_end, write_end = os.pipe()
    try:
        guard = subprocess.Popen(["sh", "-c", _GUARD, "dvlite-guard", str(pgid)],
                                 stdin=read_end, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:  # no shell to guard with: the other two defences remain
        os.close(write_end)
        return None, None
    finally:
        os.close(read_end)
    return guard, write_end


def _release(started: Started) -> None:
    """The command is over: tell its guard so (it exits without killing) and forget it."""
    if started.guard_pipe is not None:
        with contextlib.suppress(OSError):
            os.write(started.guard_pipe, b"\n")
        os.close(started.guard_pipe)
    if started.guard is not None:
        started.guard.wait()
    if started.group_file is not None:
        started.group_file.unlink(missing_ok=True)


def _stderr_fd() -> int:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream: use the real fd 2
        return 2


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
