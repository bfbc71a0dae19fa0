"""`dvlite exp run --queue`: an experiment recorded to run later.

A queued experiment is a commit on HEAD (its baseline) under `refs/exps-queue/<NAME>`:
its tree is the baseline's with the overrides written into the params files (so
`exp show` reads its parameters like any experiment's), and its message holds what
`--run-all` replays — the stages, the `-S` overrides and `-f` — as one JSON document
after a first line. Nothing in the workspace, the index or HEAD changes. A queued
experiment that fails moves to `refs/exps-failed/<NAME>`, its message then also holding
the exit code and the end of the run's output."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvlite.errors import FormatError
from dvlite.repo.exp.overrides import apply_overrides_in, parse_override
from dvlite.repo.exp.refs import (
    FAILED_REFS,
    QUEUE_REFS,
    STATES,
    ExpRef,
    check_name,
    exists,
    git_of,
    list_exps,
    refuse_taken,
)
from dvlite.scm import Git
from dvlite.workspace.repo import Repo

QUEUED_TITLE = "dvlite exp queue"
FAILED_TITLE = "dvlite exp failed"
NAME_PREFIX = "exp-"
_ALL = tuple(STATES)


@dataclass(frozen=True, slots=True)
class Queued:
    name: str
    rev: str  # the queue entry's commit
    baseline: str
    stages: list[str]
    overrides: list[str]
    force: bool


def queue_exp(repo: Repo, targets: list[str], overrides: list[str], *,
              name: str | None = None, force: bool = False) -> Queued:
    """Record an experiment to run later with `--run-all`; returns it."""
    git = git_of(repo)
    if name is not None and not force:
        refuse_taken(git, name, _ALL)
    elif name is not None:
        check_name(name)
    parsed = [parse_override(o) for o in overrides]
    baseline = git.resolve("HEAD")
    prefix = _prefix(repo, git)
    files = sorted({o.file for o in parsed})
    with tempfile.TemporaryDirectory(prefix="dvlite-queue-") as tmp:
        root = Path(tmp)
        for rel, data in zip(files, git.cat_paths([f"{baseline}:{prefix}{f}" for f in files]),
                             strict=True):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            if data is not None:
                (root / rel).write_bytes(data)
        apply_overrides_in(root, parsed)
        contents = {prefix + rel: (root / rel).read_bytes() for rel in files}
    payload = {"stages": targets, "overrides": overrides, "force": force}
    message = f"{QUEUED_TITLE}\n\n{json.dumps(payload, sort_keys=True)}\n"
    rev = git.commit_files(contents, message, baseline)
    name = name if name is not None else _new_name(git, rev)
    if force:  # the name's other entries go in the same transaction
        script = "".join(f"delete {space}{name}\n" for space in _ALL
                         if space != QUEUE_REFS and exists(git, name, (space,)))
        script += f"update {QUEUE_REFS}{name} {rev}\n"
    else:
        script = f"create {QUEUE_REFS}{name} {rev}\n"
    git.run("update-ref", "--stdin", input_bytes=script.encode())
    return Queued(name, rev, baseline, targets, overrides, force)


def _prefix(repo: Repo, git: Git) -> str:
    prefix = os.path.relpath(repo.root, git.root).replace(os.sep, "/")
    return "" if prefix == "." else prefix + "/"


def _new_name(git: Git, rev: str) -> str:
    for size in range(6, len(rev) + 1):
        name = NAME_PREFIX + rev[:size]
        if not exists(git, name, _ALL):
            return name
    return NAME_PREFIX + rev


def payload_of(git: Git, rev: str) -> dict[str, Any]:
    """The JSON document in a queued or failed experiment's commit message."""
    raw = git.run("cat-file", "commit", rev).decode("utf-8", "surrogateescape")
    body = raw.partition("\n\n")[2].partition("\n\n")[2]
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise FormatError(f"commit {rev[:12]} is not a queued experiment")
    return doc


def list_queued(git: Git) -> list[Queued]:
    found = []
    for exp in list_exps(git, (QUEUE_REFS,)):
        doc = payload_of(git, exp.rev)
        found.append(Queued(exp.name, exp.rev, exp.baseline, list(doc.get("stages", [])),
                            list(doc.get("overrides", [])), bool(doc.get("force"))))
    return found


def mark_failed(git: Git, entry: Queued, exit_code: int, output: str) -> str:
    """Move a queued experiment to `refs/exps-failed/<NAME>`, its message holding the
    exit code and the end of the output (one `git update-ref --stdin`)."""
    doc = {"stages": entry.stages, "overrides": entry.overrides, "force": entry.force,
           "exit_code": exit_code, "output": output[-4000:]}
    message = f"{FAILED_TITLE}\n\n{json.dumps(doc, sort_keys=True)}\n"
    tree = git.run("rev-parse", f"{entry.rev}^{{tree}}").decode().strip()
    rev = git.run("commit-tree", tree, "-p", entry.baseline, "-m", message).decode().strip()
    script = (f"delete {QUEUE_REFS}{entry.name} {entry.rev}\n"
              f"update {FAILED_REFS}{entry.name} {rev}\n")
    git.run("update-ref", "--stdin", input_bytes=script.encode())
    return rev


def drop(git: Git, entry: Queued) -> None:
    """Delete a queue entry (after its experiment was recorded)."""
    git.run("update-ref", "-d", QUEUE_REFS + entry.name, entry.rev)


def exit_code_of(git: Git, exp: ExpRef) -> int | None:
    """A failed experiment's exit code."""
    if exp.state != "failed":
        return None
    code = payload_of(git, exp.rev).get("exit_code")
    return code if isinstance(code, int) else None

