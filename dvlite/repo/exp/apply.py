"""`dvlite exp apply`: bring an experiment into the workspace: its params, pointers, lock
and metrics files (and pipeline files), then its data from the cache.

Unsaved data (a tracked output changed and not in the cache) is refused before any file
is written, unless forced, as `checkout` refuses it; then the files are written
atomically and the data checked out. HEAD and the index do not move."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dvlite.pipeline.load import load_at
from dvlite.repo.checkout import checkout
from dvlite.repo.exp.refs import find, git_of
from dvlite.repo.exp.run import recorded_files
from dvlite.scm import POINTER_SUFFIX
from dvlite.storage.atomic import atomic_write
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace.checkout import CheckoutResult, Mode, plan_checkout, raise_conflicts
from dvlite.workspace.outputs import collect_targets
from dvlite.workspace.repo import Repo


@dataclass
class ApplyResult:
    name: str
    rev: str
    files: list[str] = field(default_factory=list)  # repository-relative, rewritten
    checkout: CheckoutResult = field(default_factory=CheckoutResult)


def exp_apply(repo: Repo, name: str, force: bool = False,
              progress: Progress = NULL_PROGRESS) -> ApplyResult:
    git = git_of(repo)
    exp = find(git, name)
    with repo.lock():  # nothing is written while the workspace holds unsaved data
        raise_conflicts(plan_checkout(repo, collect_targets(repo, []), Mode(force)))
    prefix = os.path.relpath(repo.root, git.root).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix + "/"
    listing = git.run("ls-tree", "-r", "-z", "--name-only", "--full-tree", exp.rev)
    recorded = {prefix + f for f in recorded_files(load_at(repo, exp.rev))}
    folders = tuple(f + "/" for f in recorded)
    wanted = sorted(path for raw in listing.split(b"\0") if raw
                    and (path := raw.decode("utf-8", "surrogateescape")).startswith(prefix)
                    and (path.endswith(POINTER_SUFFIX) or path in recorded
                         or path.startswith(folders)))
    result = ApplyResult(name, exp.rev)
    for gpath, data in zip(wanted, git.cat_paths([f"{exp.rev}:{p}" for p in wanted]),
                           strict=True):
        target = git.root / gpath
        if data is None or _same(target, data):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)
        result.files.append(gpath.removeprefix(prefix))
    result.checkout = checkout(repo, [], force, progress=progress)
    return result


def _same(path: os.PathLike[str], data: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read() == data
    except OSError:
        return False
