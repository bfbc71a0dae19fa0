"""`dvlite commit [STAGE...]`: record the results of a stage whose command was run by
hand, without running it (like `dvc commit`).

The stage's dependencies and outputs must exist; the outputs are cached like `repro`
caches them, and its `dvlite.lock` entry and run-cache record are written from the
workspace as it is. When the stage's command changed since its lock entry, the outputs
may come from the old command: that needs `--force`. Frozen stages are left as they are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dvlite.core.stages import Stage
from dvlite.errors import PipelineError
from dvlite.pipeline.load import load_pipeline
from dvlite.pipeline.locks import read_lock
from dvlite.pipeline.repro import record_as_run
from dvlite.workspace.repo import Repo


@dataclass
class CommitResult:
    committed: list[str] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)


def commit(repo: Repo, targets: list[str], force: bool = False) -> CommitResult:
    """Record `targets` (default: every stage), in dependency order."""
    pipeline = load_pipeline(repo)
    graph = pipeline.graph
    chosen = set(targets) if targets else set(graph.stages)
    graph.with_upstream(chosen)  # an unknown name is an error, naming the stages
    result = CommitResult()
    names = []
    for name in graph.order(chosen):
        if name not in chosen:
            continue
        stage = graph.stages[name]
        if stage.frozen:
            result.frozen.append(name)
            continue
        _check(repo, stage, force)
        names.append(name)
    result.committed = record_as_run(repo, pipeline, names)
    return result


def _check(repo: Repo, stage: Stage, force: bool) -> None:
    for out in stage.outs:
        if not os.path.lexists(repo.root / out.path):
            raise PipelineError(f"{stage.dvfile}:{out.line}: stage '{stage.name}': output "
                                f"'{out.path}' does not exist: nothing to commit",
                                hint=f"run its command, or `dvlite repro {stage.name}`")
    entry = read_lock(repo.root, stage.dvfile).get(stage.name)
    if entry is not None and entry.cmd != stage.cmd and not force:
        raise PipelineError(
            f"{stage.where}: stage '{stage.name}': its command changed since it was last "
            "recorded, so its outputs may come from the old one",
            hint=f"dvlite commit --force {stage.name} records them anyway")
