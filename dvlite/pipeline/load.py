"""Loading the pipeline of a workspace (or of a git revision) and checking it against
the workspace: every dependency exists or is produced, no output is also a `.dvl`."""

from __future__ import annotations

import os
from pathlib import Path

from dvlite.core.dag import Pipeline, output_map, parse_files
from dvlite.core.paths import is_within
from dvlite.core.stages import PIPELINE_FILE, Stage
from dvlite.errors import FormatError, PipelineError, UsageError, storage_error
from dvlite.workspace.outputs import pointer_outputs
from dvlite.workspace.repo import Repo


def pipeline_files(repo: Repo) -> list[str]:
    """Repository-relative paths of every dvlite.yaml in the workspace."""
    if repo.scm is not None:
        found = repo.scm.ls_files([PIPELINE_FILE, f"*/{PIPELINE_FILE}"])
        paths = [repo.rel(repo.scm.root / p) for p in found]
        return sorted(p for p in paths if not p.startswith("../") and (repo.root / p).is_file())
    result = []
    for folder, dirs, files in os.walk(repo.root):
        dirs[:] = sorted(d for d in dirs if d not in (".git", ".dvlite"))
        if PIPELINE_FILE in files:
            result.append(repo.rel(Path(folder) / PIPELINE_FILE))
    return sorted(result)


def read_texts(repo: Repo, files: list[str]) -> dict[str, bytes]:
    texts = {}
    for rel in files:
        try:
            texts[rel] = (repo.root / rel).read_bytes()
        except OSError as exc:
            raise storage_error(exc, f"reading {rel}") from exc
    return texts


def load_pipeline(repo: Repo, check_workspace: bool = True) -> Pipeline:
    """The workspace's pipeline, validated (and, by default, checked against the files)."""
    pipeline = parse_files(read_texts(repo, pipeline_files(repo)))
    if check_workspace:
        check_against_workspace(repo, pipeline.stages)
    return pipeline


def check_against_workspace(repo: Repo, stages: list[Stage], deps: bool = True) -> None:
    """Check `stages` against the files; with `deps`, every dependency must exist or be
    produced (repro needs them; `stage add` accepts one that a pull or download brings)."""
    outputs = output_map(stages)
    for stage in stages:
        for dep in stage.deps if deps else ():
            if not outputs.overlapping(dep.path) and not os.path.lexists(repo.root / dep.path):
                raise PipelineError(
                    f"{stage.dvfile}:{dep.line}: stage '{stage.name}': dependency "
                    f"'{dep.path}' does not exist and no stage produces it")
        if stage.wdir and not (repo.root / stage.wdir).is_dir():
            raise PipelineError(f"{stage.where}: stage '{stage.name}': wdir '{stage.wdir}' "
                                "is not a folder")
    if not any(s.outs for s in stages):
        return
    _check_not_in_git(repo, stages)
    for tracked in pointer_outputs(repo):
        for stage, out in outputs.overlapping(tracked.rel):
            raise PipelineError(
                f"{stage.dvfile}:{out.line}: stage '{stage.name}': output "
                f"'{out.path}' is also tracked by '{repo.rel(tracked.pointer_file)}'",
                hint=f"dvlite remove {tracked.rel}, then let the stage produce it")


def _check_not_in_git(repo: Repo, stages: list[Stage]) -> None:
    """A cached output is ignored by git and rewritten by repro: it must not be a file git
    tracks (uncached ones, like metrics, are meant to be committed)."""
    if repo.scm is None:
        return
    cached = {o.path: (s, o) for s in stages for o in s.outs if o.cache}
    in_git = repo.scm.tracked([repo.root / p for p in cached]) if cached else []
    outputs = output_map(stages)
    for gpath in in_git:
        rel = repo.rel(repo.scm.root / gpath)
        for stage, out in outputs.overlapping(rel):
            if out.cache:
                raise PipelineError(
                    f"{stage.dvfile}:{out.line}: stage '{stage.name}': output '{out.path}' "
                    "is tracked by git", hint=f"git rm -r --cached '{out.path}', or declare "
                    "it with cache: false")


def load_at(repo: Repo, rev: str) -> Pipeline:
    """The pipeline as committed at git revision `rev` (read from git, no checkout)."""
    if repo.scm is None:
        raise UsageError("revisions need git; this repository was initialised with --no-scm")
    texts = {}
    for gpath, data in repo.scm.files_at(rev, suffixes=(), names=[PIPELINE_FILE]).items():
        full = repo.scm.root / gpath
        if is_within(full, repo.root) and full.name == PIPELINE_FILE:
            texts[repo.rel(full)] = data
    try:
        return parse_files(texts)
    except FormatError as exc:
        raise type(exc)(f"at {rev}: {exc.msg}", hint=exc.hint) from None
