"""Sharing experiments: `exp push`, `exp pull` and `exp list GIT_REMOTE`.

An experiment is a git ref plus the outputs its commit names. Push moves the data to the
dvlite remote first and the refs only once all of it is there, so a teammate never sees
an experiment whose data is missing; a failed data push pushes no ref. Pull fetches the
refs, then their data into the cache, so `exp apply` then works offline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dvlite.errors import UsageError
from dvlite.repo.exp.refs import check_name, git_of, list_exps
from dvlite.repo.sync.plan import Scope
from dvlite.repo.sync.push_pull import fetch, push, raise_failures
from dvlite.scm import EXP_REFS, Git
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.transfer import TransferResult
from dvlite.workspace.repo import Repo


@dataclass
class ShareResult:
    names: list[str] = field(default_factory=list)  # the experiments pushed or pulled
    revs: list[str] = field(default_factory=list)
    data: TransferResult = field(default_factory=TransferResult)


def _check_git_remote(git_remote: str) -> str:
    if not git_remote or git_remote.startswith("-"):
        raise UsageError(f"invalid git remote '{git_remote}'")
    return git_remote


def remote_exps(repo: Repo, git_remote: str) -> dict[str, str]:
    """{name: commit} of the experiments on `git_remote` (one `git ls-remote`)."""
    git = git_of(repo)
    out = git.run("ls-remote", "--refs", _check_git_remote(git_remote), EXP_REFS + "*")
    found = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith(EXP_REFS):
            found[ref.removeprefix(EXP_REFS)] = sha
    return dict(sorted(found.items()))


def _unknown(name: str, git_remote: str | None = None) -> UsageError:
    where = f" on git remote '{git_remote}'" if git_remote else ""
    listing = f"dvlite exp list {git_remote}" if git_remote else "dvlite exp list"
    return UsageError(f"no experiment named '{name}'{where}", hint=f"{listing} shows them")


def push_exps(repo: Repo, git_remote: str, names: Sequence[str],
              remote_name: str | None = None, *, jobs: int | None = None,
              force: bool = False, progress: Progress = NULL_PROGRESS) -> ShareResult:
    """Push the data of experiments `names` (default: all) to the dvlite remote, then
    their refs to `git_remote`; no ref is pushed unless all of the data arrived."""
    git = git_of(repo)
    _check_git_remote(git_remote)
    known = {e.name: e.rev for e in list_exps(git)}
    for name in names:
        if check_name(name) not in known:
            raise _unknown(name)
    chosen = list(dict.fromkeys(names)) if names else sorted(known)
    result = ShareResult(chosen, [known[n] for n in chosen])
    if not chosen:
        return result
    result.data = push(repo, Scope(revs=tuple(result.revs)), remote_name, jobs, progress)
    raise_failures(result.data, repo.config.remote(remote_name).name, "pushed to")
    plus = "+" if force else ""
    git.run("push", "--quiet", git_remote,
            *(f"{plus}{EXP_REFS}{n}:{EXP_REFS}{n}" for n in chosen))
    return result


def pull_exps(repo: Repo, git_remote: str, names: Sequence[str],
              remote_name: str | None = None, *, jobs: int | None = None,
              force: bool = False, progress: Progress = NULL_PROGRESS) -> ShareResult:
    """Fetch experiment refs `names` from `git_remote`, then their data from the dvlite
    remote into the cache."""
    if not names:
        raise UsageError("name the experiments to pull",
                         hint=f"dvlite exp list {git_remote} shows them")
    git = git_of(repo)
    there = remote_exps(repo, git_remote)
    chosen = list(dict.fromkeys(check_name(n) for n in names))
    for name in chosen:
        if name not in there:
            raise _unknown(name, git_remote)
    _fetch_refs(git, git_remote, chosen, force)
    result = ShareResult(chosen, [there[n] for n in chosen])
    result.data = fetch(repo, Scope(revs=tuple(result.revs)), remote_name, jobs, progress)
    raise_failures(result.data, repo.config.remote(remote_name).name, "fetched from")
    return result


def _fetch_refs(git: Git, git_remote: str, names: list[str], force: bool) -> None:
    plus = "+" if force else ""
    git.run("fetch", "--quiet", "--no-tags", git_remote,
            *(f"{plus}{EXP_REFS}{n}:{EXP_REFS}{n}" for n in names))
