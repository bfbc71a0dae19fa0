"""`dvlite exp run`: apply parameter overrides, run `repro`, and record the workspace's
pointers, lock files, params and metrics as an experiment commit on HEAD.

Order: the name is checked, the overrides written, the pipeline run, the commit built
in a temporary index, and the ref written last in one `git update-ref`: a failed or
interrupted run leaves no experiment. HEAD, the branch and the index do not move; the
workspace keeps the results (the outputs are in the cache, so the experiment can be
restored). Lock files are not staged, since the index stays as it was."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from dvlite._fault import faultpoint
from dvlite.core.dag import Pipeline
from dvlite.core.lockfile import lock_path_for
from dvlite.core.stages import DEFAULT_PARAMS
from dvlite.pipeline.load import load_pipeline
from dvlite.pipeline.repro import Report, ReproOptions, ReproResult, repro
from dvlite.repo.exp.overrides import apply_overrides, parse_override
from dvlite.repo.exp.refs import check_name, exists, git_of, refuse_taken, write_ref
from dvlite.scm import POINTER_SUFFIX, Git
from dvlite.workspace.repo import Repo

NAME_PREFIX = "exp-"


def _no_report(event: str, stage: str, detail: str) -> None:
    del event, stage, detail


@dataclass(frozen=True, slots=True)
class ExpRunResult:
    name: str
    rev: str
    baseline: str
    repro: ReproResult


def exp_run(repo: Repo, targets: list[str], overrides: list[str], *, name: str | None = None,
            force: bool = False, options: ReproOptions | None = None,
            report: Report = _no_report) -> ExpRunResult:
    git = git_of(repo)
    options = options or ReproOptions()
    if name is not None and not force:
        refuse_taken(git, name)
    elif name is not None:
        check_name(name)
    parsed = [parse_override(o) for o in overrides]
    baseline = git.resolve("HEAD")
    apply_overrides(repo, parsed)
    result = repro(repo, targets, replace(options, autostage=False), report)
    paths = experiment_paths(repo, git, load_pipeline(repo, check_workspace=False))
    message = "dvlite exp run" + "".join(f"\n\n-S {o}" for o in overrides)
    rev = git.commit_paths(paths, message, baseline)
    name = name if name is not None else _new_name(git, rev)
    faultpoint("exp.before_ref")
    write_ref(git, name, rev, force)
    return ExpRunResult(name, rev, baseline, result)


def recorded_files(pipeline: Pipeline) -> list[str]:
    """Repository-relative files an experiment records besides the pointers: the
    pipeline files, their lock files, the params files and the outputs git holds
    (`cache: false`: metrics, plot data; a folder stands for the files under it)."""
    files = {*pipeline.files, *(lock_path_for(f) for f in pipeline.files), DEFAULT_PARAMS}
    for stage in pipeline.stages:
        files.update(p.file for p in stage.params)
        files.update(o.path for o in stage.outs if not o.cache)
    return sorted(files)


def experiment_paths(repo: Repo, git: Git, pipeline: Pipeline) -> list[str]:
    """Git-root-relative paths of the files to record that exist and git does not ignore
    (a cached metrics file is in the cache, through the lock file)."""
    specs = [":(literal)" + os.path.relpath(repo.root / f, git.root).replace(os.sep, "/")
             for f in recorded_files(pipeline)]
    found = git.ls_files([*specs, f"*{POINTER_SUFFIX}"])
    return [p for p in found if (git.root / p).is_file()]


def _new_name(git: Git, rev: str) -> str:
    """`exp-` and the first 6 hex digits of the commit (more if that name is taken)."""
    for size in range(6, len(rev) + 1):
        name = NAME_PREFIX + rev[:size]
        if not exists(git, name):
            return name
    return NAME_PREFIX + rev
