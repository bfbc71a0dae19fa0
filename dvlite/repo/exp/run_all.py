"""`dvlite exp run --run-all [-j N]`: run every queued experiment, at most N at once.

Each runs in its own temporary git worktree of its baseline commit (`git worktree add
--detach`, in the system's temp folder, outside the workspace), as a `dvlite checkout`
then a `dvlite exp run` subprocess whose cache is this repository's (through
`DVLITE_CACHE_DIR`; parallel writers share a cache safely). The worktree shares this
repository's refs, so a success records `refs/exps/<NAME>` on the baseline like any
`exp run`; its queue entry is then deleted. A failure moves the entry to
`refs/exps-failed/<NAME>` with its exit code, and the others still run. The worktree is
removed afterwards, whatever happened; the user's workspace, index and HEAD are never
touched.

While it runs, an experiment is claimed (running.py): `exp show` shows it `running`, and
another `--run-all` skips it. Ctrl-C (or SIGINT to this process alone) stops the run: the
experiments running get SIGINT (their `exp run` records nothing when interrupted), none
starts after it, and the interrupted ones stay queued for the next `--run-all`."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dvlite.errors import DvliteError, UsageError
from dvlite.repo.exp.queue import Queued, drop, list_queued, mark_failed
from dvlite.repo.exp.refs import git_of
from dvlite.repo.exp.running import claim
from dvlite.scm import Git
from dvlite.workspace import shared_cache
from dvlite.workspace.repo import Repo

# git serialises worktree bookkeeping through files under .git/worktrees: one at a time
_WORKTREES = threading.Lock()
INTERRUPTED = 130  # an `exp run` stopped by SIGINT: its experiment stays queued


@dataclass(frozen=True, slots=True)
class QueuedResult:
    name: str
    baseline: str
    exit_code: int  # 0: recorded under refs/exps/<NAME>
    output: str  # the run's stdout and stderr
    skipped: bool = False  # another --run-all was running it: not run here

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def state(self) -> str:
        return "running" if self.skipped else "success" if self.ok else "failed"


def _no_report(result: QueuedResult) -> None:
    del result


class _Children:
    """The `dvlite` subprocesses running now, so an interrupt can reach them all and no
    new one starts after it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[str]] = set()
        self.stopped = False

    def run(self, args: list[str], cwd: Path, env: dict[str, str]
            ) -> subprocess.CompletedProcess[str]:
        with self._lock:
            if self.stopped:
                return subprocess.CompletedProcess(args, INTERRUPTED, "", "interrupted\n")
            # a session of its own: a Ctrl-C reaches it once, forwarded by interrupt()
            proc = subprocess.Popen([sys.executable, "-m", "dvlite", *args], cwd=cwd,
                                    env=env, stdout=subprocess.PIPE, text=True,
                                    stderr=subprocess.PIPE, start_new_session=True)
            self._procs.add(proc)
        try:
            stdout, stderr = proc.communicate()
        finally:
            with self._lock:
                self._procs.discard(proc)
        return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)

    def interrupt(self) -> None:
        with self._lock:
            self.stopped = True
            for proc in self._procs:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)


def run_all(repo: Repo, jobs: int = 1,
            report: Callable[[QueuedResult], None] = _no_report) -> list[QueuedResult]:
    """Run the queue; results in the queue's order (by name). KeyboardInterrupt after
    the experiments running have stopped and their worktrees are removed."""
    if jobs < 1:
        raise UsageError("-j must be at least 1")
    git = git_of(repo)
    entries = list_queued(git)
    cache_dir = str(repo.cache.root.resolve())
    prefix = os.path.relpath(repo.root, git.root)
    children = _Children()

    def one(entry: Queued) -> QueuedResult:
        with claim(git, entry.name) as mine:
            if not mine:
                return QueuedResult(entry.name, entry.baseline, 0, "", skipped=True)
            result = _run_one(git, entry, cache_dir, prefix, children)
            if children.stopped and result.exit_code == INTERRUPTED:
                return result  # stays queued
            try:
                if result.ok:
                    drop(git, entry)
                else:
                    mark_failed(git, entry, result.exit_code, result.output)
            finally:
                report(result)
            return result

    if not entries:
        return []
    pool = ThreadPoolExecutor(max_workers=min(jobs, len(entries)))
    try:
        futures = [pool.submit(one, entry) for entry in entries]
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        children.interrupt()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_one(git: Git, entry: Queued, cache_dir: str, prefix: str,
             children: _Children) -> QueuedResult:
    tmp = Path(tempfile.mkdtemp(prefix=f"dvlite-exp-{entry.name}-"))
    tree = tmp / "wt"
    try:
        with _WORKTREES:
            git.run("worktree", "add", "--detach", "--quiet", str(tree), entry.baseline)
        root = tree / prefix
        env = {**os.environ, "DVLITE_CACHE_DIR": cache_dir}
        # data the stages read; outputs missing from the cache are simply rebuilt
        checkout = children.run(["checkout"], root, env)
        args = ["exp", "run", *entry.stages, "-n", entry.name]
        args += [a for o in entry.overrides for a in ("-S", o)]
        args += ["-f"] if entry.force else []
        proc = children.run(args, root, env)
        output = checkout.stdout + checkout.stderr + proc.stdout + proc.stderr
        shared_cache.unregister(Path(cache_dir), root.resolve())
        return QueuedResult(entry.name, entry.baseline, proc.returncode, output)
    except DvliteError as exc:
        return QueuedResult(entry.name, entry.baseline, exc.exit_code, f"error: {exc.msg}\n")
    finally:
        with _WORKTREES:
            try:
                git.run("worktree", "remove", "--force", str(tree))
            except DvliteError:
                with contextlib.suppress(DvliteError):
                    git.run("worktree", "prune")
        shutil.rmtree(tmp, ignore_errors=True)
