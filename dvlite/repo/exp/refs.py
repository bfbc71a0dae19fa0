"""Experiment refs: `refs/exps/<NAME>`, each a commit whose parent is its baseline.
Listing, creating (create-only unless forced), removing, and branching from them.

Queued experiments wait under `refs/exps-queue/<NAME>` and failed ones are kept under
`refs/exps-failed/<NAME>` (see queue.py): outside `refs/exps/`, so no command takes them
for a finished experiment's revision, but listed, shown and removed with the others."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dvlite.errors import ScmError, UsageError
from dvlite.scm import EXP_REFS, Git
from dvlite.workspace.repo import Repo

QUEUE_REFS = "refs/exps-queue/"
FAILED_REFS = "refs/exps-failed/"
STATES = {EXP_REFS: "success", QUEUE_REFS: "queued", FAILED_REFS: "failed"}

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True, slots=True)
class ExpRef:
    name: str
    rev: str  # the experiment's commit
    baseline: str  # its parent
    created: str  # commit time, ISO 8601
    state: str = "success"  # or "queued", "failed"


def git_of(repo: Repo) -> Git:
    """The repository's git, with at least one commit (an experiment's baseline)."""
    if repo.scm is None:
        raise UsageError("experiments need git; this repository was initialised with --no-scm")
    if not repo.scm.has_commits():
        raise UsageError("experiments need a baseline commit; this repository has none",
                         hint="git commit first")
    return repo.scm


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or ".." in name or name.endswith(".lock"):
        raise UsageError(f"invalid experiment name '{name}'",
                         hint="use letters, digits, '-', '_' and '.'")
    return name


def list_exps(git: Git, namespaces: tuple[str, ...] = (EXP_REFS,)) -> list[ExpRef]:
    """Every experiment recorded, by name (one `git for-each-ref`); with `namespaces`,
    the queued and failed ones too."""
    fmt = "%(refname)%00%(objectname)%00%(parent)%00%(committerdate:iso-strict)"
    out = git.run("for-each-ref", f"--format={fmt}", *(n.rstrip("/") for n in namespaces))
    found = []
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        ref, rev, parents, created = line.split("\0")
        space = next(n for n in namespaces if ref.startswith(n))
        found.append(ExpRef(ref.removeprefix(space), rev, parents.split(" ")[0], created,
                            STATES[space]))
    return sorted(found, key=lambda e: (e.name, e.state))


def list_all(git: Git) -> list[ExpRef]:
    """Experiments recorded, queued and failed."""
    return list_exps(git, tuple(STATES))


def ref_of(exp: ExpRef) -> str:
    return next(space for space, state in STATES.items() if state == exp.state) + exp.name


def find(git: Git, name: str) -> ExpRef:
    for exp in list_exps(git):
        if exp.name == name:
            return exp
    raise UsageError(f"no experiment named '{name}'", hint="dvlite exp list shows them")


def exists(git: Git, name: str, namespaces: tuple[str, ...] = (EXP_REFS,)) -> bool:
    for space in namespaces:
        try:
            git.run("rev-parse", "--verify", "--quiet", space + name)
        except ScmError:
            continue
        return True
    return False


def write_ref(git: Git, name: str, rev: str, force: bool) -> None:
    """Point `refs/exps/<name>` at `rev` in one atomic `git update-ref`; without `force`
    only when no experiment has that name (git checks it under the ref's lock)."""
    args = ["update-ref", "-m", "dvlite exp run", EXP_REFS + check_name(name), rev]
    try:
        git.run(*args) if force else git.run(*args, "")
    except ScmError:
        if not force and exists(git, name):
            raise _taken(name) from None
        raise


def _taken(name: str) -> UsageError:
    return UsageError(f"experiment '{name}' already exists",
                      hint="choose another name with -n, or replace it with -f")


def refuse_taken(git: Git, name: str, namespaces: tuple[str, ...] = (EXP_REFS,)) -> None:
    if exists(git, check_name(name), namespaces):
        raise _taken(name)


def remove(repo: Repo, names: list[str], every: bool = False) -> list[str]:
    """Delete experiment refs (all with `every`), in one `git update-ref --stdin`; an
    unknown name deletes none. Their objects stay until git's own gc."""
    git = git_of(repo)
    known: dict[str, list[ExpRef]] = {}
    for exp in list_all(git):
        known.setdefault(exp.name, []).append(exp)
    if every:
        names = sorted(known)
    elif not names:
        raise UsageError("name the experiments to remove, or use --all")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"no experiment named '{unknown[0]}'", hint="dvlite exp list shows them")
    if names:
        script = "".join(f"delete {ref_of(e)} {e.rev}\n" for n in names for e in known[n])
        git.run("update-ref", "--stdin", input_bytes=script.encode())
    return names


def branch(repo: Repo, name: str, branch_name: str) -> str:
    """Make git branch `branch_name` at experiment `name`; returns the commit."""
    git = git_of(repo)
    exp = find(git, name)
    if branch_name.startswith("-"):
        raise UsageError(f"invalid branch name '{branch_name}'")
    git.run("check-ref-format", "--branch", branch_name)
    git.run("branch", "--", branch_name, exp.rev)
    return exp.rev
