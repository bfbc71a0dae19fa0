"""`dvlite repro`: bring stages up to date, in dependency order, some in parallel.

Decisions and bookkeeping happen in the calling thread (the state db and the lock file
are single-writer); commands are started there too (their parent-death signal follows
the forking thread) and only waited for in worker threads. After each successful
stage, under one hold of the repository lock: outputs into the cache, then its
`dvlite.lock` entry (atomically), then a run-cache record, so a `gc` never sees stored
outputs that no lock entry references yet. A failure or an interrupt stops scheduling;
entries of stages that already finished stay.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvlite._fault import faultpoint
from dvlite.core.dag import Pipeline
from dvlite.core.lockfile import HashInfo, LockEntry, lock_path_for
from dvlite.core.stages import Stage
from dvlite.errors import DvliteError, PipelineError, ScmError, StageFailedError
from dvlite.pipeline import orphans, runcache
from dvlite.pipeline import outputs as stage_outputs
from dvlite.pipeline.changes import stage_changes
from dvlite.pipeline.hashing import WorkspaceHashes
from dvlite.pipeline.load import load_pipeline
from dvlite.pipeline.locks import read_lock, write_entry
from dvlite.pipeline.params import stage_params
from dvlite.pipeline.runner import Runner
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace.repo import Repo

# event, stage name, detail: "skip", "frozen", "run", "would-run", "restored", "done"
Report = Callable[[str, str, str], None]


def _no_report(event: str, stage: str, detail: str) -> None:
    del event, stage, detail


@dataclass
class ReproResult:
    ran: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    would_run: dict[str, list[str]] = field(default_factory=dict)
    total: int = 0  # stages considered
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReproOptions:
    force: bool = False  # run even unchanged stages (and skip the run cache)
    dry_run: bool = False  # decide and report, change nothing
    jobs: int = 1  # commands running at the same time
    quiet_stdout: bool = False  # send commands' stdout to stderr (for --json and -q)
    progress: Progress = NULL_PROGRESS  # caching outputs
    autostage: bool = True  # `git add` the changed lock files (unless core.autostage off)


@dataclass
class _Job:
    stage: Stage
    deps: list[HashInfo]
    params: dict[str, dict[str, Any]]


class _Repro:
    def __init__(self, repo: Repo, pipeline: Pipeline, options: ReproOptions,
                 report: Report) -> None:
        self.repo = repo
        self.pipeline = pipeline
        self.options = options
        self.force = options.force
        self.dry_run = options.dry_run
        self.report = report
        self.hashes = WorkspaceHashes(repo)
        self.locks = {f: read_lock(repo.root, f) for f in pipeline.files}
        self.param_docs: dict[str, Any] = {}
        self.result = ReproResult()
        self.runner = Runner(running_dir(repo), stdout_to_stderr=options.quiet_stdout)

    # -- deciding ----------------------------------------------------------------------

    def decide(self, name: str) -> _Job | None:
        """Returns the job when the stage must run; handles skip and run-cache restore."""
        stage = self.pipeline.graph.stages[name]
        if stage.frozen:
            self.report("frozen", name, "frozen, not checked")
            self.result.skipped.append(name)
            return None
        params = stage_params(self.repo.root, stage, self.param_docs)
        entry = self.locks[stage.dvfile].get(name)
        reasons = stage_changes(stage, entry, self.hashes, params)
        upstream = [u for u in self.pipeline.graph.upstream[name] if u in self.result.would_run]
        if self.dry_run and upstream:
            reasons.append(f"upstream stage '{upstream[0]}' would run")
        if self.force and not reasons:
            reasons = ["--force"]
        if not reasons:
            self.report("skip", name, "up to date")
            self.result.skipped.append(name)
            return None
        if self.dry_run:
            self.result.would_run[name] = reasons
            self.report("would-run", name, "; ".join(reasons))
            return None
        deps = self._deps(stage)
        job = _Job(stage, deps, params)
        if not self.force and not stage.always_changed and self._restore(job):
            return None
        self.report("run", name, "; ".join(reasons))
        stage_outputs.prepare(self.repo, stage, self.hashes)
        return job

    def _deps(self, stage: Stage) -> list[HashInfo]:
        deps = []
        for dep in stage.deps:
            info = self.hashes.get(dep.path)
            if info is None:
                raise PipelineError(f"{stage.dvfile}:{dep.line}: stage '{stage.name}': "
                                    f"dependency '{dep.path}' does not exist")
            deps.append(info)
        return deps

    def _restore(self, job: _Job) -> bool:
        stage = job.stage
        key = runcache.run_key(stage, job.deps, job.params)
        if not stage_outputs.run_cacheable(stage):
            return False
        outs = runcache.lookup(self.repo, key)
        if outs is None or {h.path for h in outs} != {o.path for o in stage.outs}:
            return False
        with self.repo.lock():
            if not runcache.restorable(self.repo, outs):
                return False
            stage_outputs.restore(self.repo, stage, outs)
            self._record(job, outs, key=None)
        self.report("restored", stage.name, "restored from run cache")
        self.result.restored.append(stage.name)
        return True

    # -- finishing -------------------------------------------------------------------

    def finish(self, job: _Job) -> None:
        stage = job.stage
        key = runcache.run_key(stage, job.deps, job.params)
        with self.repo.lock():
            outs = stage_outputs.collect(self.repo, stage, self.hashes, self.options.progress)
            faultpoint("repro.after_store")
            self._record(job, outs, key if stage_outputs.run_cacheable(stage) else None)
        self.result.ran.append(stage.name)
        self.report("done", stage.name, "")

    def _record(self, job: _Job, outs: list[HashInfo], key: str | None) -> None:
        """Write the lock entry and the run-cache record; the caller holds the lock."""
        stage = job.stage
        self.hashes.forget(o.path for o in stage.outs)
        for info in outs:
            self.hashes.remember(info)
        entry = LockEntry(stage.name, stage.cmd, tuple(job.deps), tuple(outs), job.params)
        keep = {s.name for s in self.pipeline.stages if s.dvfile == stage.dvfile}
        faultpoint("repro.before_lock")
        write_entry(self.repo.root, stage.dvfile, entry, keep)
        self.locks[stage.dvfile][stage.name] = entry
        if key is not None:
            runcache.save(self.repo, key, stage, outs)


def repro(repo: Repo, targets: list[str] | None = None,
          options: ReproOptions = ReproOptions(), report: Report = _no_report) -> ReproResult:
    """Run what is out of date among `targets` (default: all) and their upstream stages.

    Raises `StageFailedError` (the command's exit code) when a command fails, after the
    other running commands finished; `KeyboardInterrupt` after forwarding it to them.
    """
    if not options.dry_run:  # before anything is hashed: an orphan may still be writing
        orphans.reap(running_dir(repo))
    pipeline = load_pipeline(repo)
    order = pipeline.graph.order(targets or None)
    state = _Repro(repo, pipeline, options, report)
    state.result.total = len(order)
    stages = [pipeline.graph.stages[n] for n in order]
    state.hashes.prefetch([p for s in stages for p in
                           [*(d.path for d in s.deps), *(o.path for o in s.outs)]])
    try:
        _schedule(state, order, max(1, options.jobs))
    except StageFailedError:
        if options.autostage:
            _autostage(state)
        raise
    if options.autostage:
        _autostage(state)
    return state.result


def record_as_run(repo: Repo, pipeline: Pipeline, names: list[str]) -> list[str]:
    """Record stages (in order) as if they had just run, from the workspace as it is:
    their outputs into the cache, their lock entries, run-cache records (`dvlite
    commit`, for a command run by hand). Returns the stages recorded."""
    state = _Repro(repo, pipeline, ReproOptions(), _no_report)
    stages = [pipeline.graph.stages[n] for n in names]
    state.hashes.prefetch([p for s in stages for p in
                           [*(d.path for d in s.deps), *(o.path for o in s.outs)]])
    for stage in stages:
        params = stage_params(repo.root, stage, state.param_docs)
        state.finish(_Job(stage, state._deps(stage), params))
    _autostage(state)
    return state.result.ran


def _autostage(state: _Repro) -> None:
    """Like `add`: `git add` the lock files and `.gitignore` entries this run changed
    (unless `core.autostage = false`); outputs themselves stay out of git."""
    repo = state.repo
    changed = [*state.result.ran, *state.result.restored]
    if not changed or repo.scm is None or not repo.config.core.autostage:
        return
    graph = state.pipeline.graph
    locks = {repo.root / lock_path_for(graph.stages[n].dvfile) for n in changed}
    ignores = {(repo.root / o.path).parent / ".gitignore"
               for n in changed for o in graph.stages[n].outs if o.cache}
    for files in (locks, ignores):
        try:
            repo.scm.add(sorted(f for f in files if f.is_file()))
        except ScmError as exc:  # e.g. a .gitignore inside a folder git ignores
            state.result.warnings.append(f"not staged in git: {exc.msg}")


@dataclass
class _Queue:
    order: list[str]
    pending: list[str]
    done: set[str] = field(default_factory=set)
    running: dict[Future[int], _Job] = field(default_factory=dict)


def _launch(state: _Repro, queue: _Queue, pool: ThreadPoolExecutor, jobs: int) -> None:
    """Decide every stage whose upstream is done, starting commands up to `jobs`."""
    upstream = state.pipeline.graph.upstream
    for name in list(queue.pending):
        if len(queue.running) >= jobs:
            return
        if not all(u in queue.done for u in upstream[name] if u in queue.order):
            continue
        queue.pending.remove(name)
        job = state.decide(name)
        if job is None:
            queue.done.add(name)
            continue
        cwd = state.repo.root / job.stage.wdir
        started = state.runner.start(job.stage.cmd, cwd, _env(state))  # in this thread
        queue.running[pool.submit(state.runner.wait, started)] = job


def _schedule(state: _Repro, order: list[str], jobs: int) -> None:
    """Launch, wait, finish. The first error (a failed command, an output not produced,
    a bad parameter) stops new launches; commands already running finish and are
    recorded; then the error is raised. Only an interrupt stops running commands."""
    queue = _Queue(order, list(order))
    failure: DvliteError | None = None
    with ThreadPoolExecutor(jobs) as pool:
        try:
            while queue.pending or queue.running:
                if failure is None:
                    failure = _guard(lambda: _launch(state, queue, pool, jobs))
                if not queue.running:
                    break
                finished, _ = wait(queue.running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    error = _finish(state, queue, fut)
                    failure = failure or error
        except BaseException:
            state.runner.interrupt_all()
            raise
    if failure is not None:
        raise failure


def _finish(state: _Repro, queue: _Queue, fut: Future[int]) -> DvliteError | None:
    job = queue.running.pop(fut)
    code = fut.result()
    if code:
        return StageFailedError(job.stage.name, code)
    error = _guard(lambda: state.finish(job))
    if error is None:
        queue.done.add(job.stage.name)
    return error


def _guard(step: Callable[[], None]) -> DvliteError | None:
    try:
        step()
    except DvliteError as exc:
        return exc
    return None


def running_dir(repo: Repo) -> Path:
    """Where the process groups of running commands are recorded."""
    return repo.dvlite_dir / "running"


def _env(state: _Repro) -> dict[str, str]:
    return {**os.environ, "DVLITE_ROOT": str(state.repo.root)}
