"""The pre-push hook: upload the data of exactly the commits being pushed.

git gives one line per ref on stdin: `<local ref> <local sha> <remote ref> <remote sha>`.
The commits being pushed are those reachable from the local shas and not from anything
the remote already has (its remote-tracking branches, and the remote shas we know).
If any of their data cannot be uploaded the push is blocked: a commit must never reach
the git remote while its data is only on this machine. That includes a repository with
no dvlite remote configured, once a pushed commit tracks data (one without any is never
blocked); `hooks.push = false` turns the hook off for a repository whose data is shared
some other way, `git push --no-verify` (or DVLITE_SKIP_HOOKS=1) for one push.
"""

from __future__ import annotations

from dataclasses import dataclass

from dvlite.errors import DvliteError, ScmError
from dvlite.repo.githooks.types import HookCall, HookOutcome, is_zero
from dvlite.scm import Git
from dvlite.storage.progress import Progress
from dvlite.workspace.repo import Repo

BYPASS = "bypass once with DVLITE_SKIP_HOOKS=1 git push (the data stays unshared)"
NO_REMOTE = ("set one with `dvlite remote add NAME URL --default`; to push without the "
             "data, `git push --no-verify` once, or `dvlite config hooks.push false`")


@dataclass(frozen=True, slots=True)
class RefUpdate:
    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str


def parse_updates(stdin: bytes) -> list[RefUpdate]:
    updates = []
    for line in stdin.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        update = RefUpdate(*parts)
        if not is_zero(update.local_sha):  # a deletion pushes no data
            updates.append(update)
    return updates


def commits_to_push(git: Git, remote: str, updates: list[RefUpdate]) -> list[str]:
    """Commits reachable from the pushed shas that the remote does not have yet, plus
    the commit of every pushed tag: a registry tag (`NAME@v1.0.0`, `NAME#prod#3`) names a
    commit whose data must be on the remote, even when the commit itself is there."""
    if not updates:
        return []
    known = [u.remote_sha for u in updates if not is_zero(u.remote_sha) and _exists(git, u)]
    heads = sorted({u.local_sha for u in updates})
    args = ["rev-list", *heads, "--not", f"--remotes={remote}", *known]
    commits = git.run(*args).decode().split()
    return commits + [c for c in _tagged(git, updates) if c not in set(commits)]


def _tagged(git: Git, updates: list[RefUpdate]) -> list[str]:
    """The commits the pushed tags point to (tags of trees or blobs name none)."""
    tags = sorted({u.local_sha for u in updates if u.local_ref.startswith("refs/tags/")})
    if not tags:
        return []
    out = git.run("for-each-ref", "--format=%(objectname) %(*objectname) %(objecttype) "
                  "%(*objecttype)", "refs/tags").decode().split("\n")
    found = []
    for line in out:
        parts = line.split()
        if len(parts) == 4 and parts[0] in tags and parts[3] == "commit":
            found.append(parts[1])  # annotated: the peeled commit
        elif len(parts) == 2 and parts[0] in tags and parts[1] == "commit":
            found.append(parts[0])  # lightweight: the commit itself
    return sorted(set(found))


def _exists(git: Git, update: RefUpdate) -> bool:
    try:
        git.run("cat-file", "-e", f"{update.remote_sha}^{{commit}}")
    except ScmError:
        return False  # the remote moved on to commits we never fetched
    return True


def pre_push(repo: Repo, call: HookCall) -> HookOutcome:
    outcome = HookOutcome()
    if repo.scm is None or not repo.config.hooks.push:
        return outcome
    remote = call.args[0] if call.args else "origin"
    try:
        commits = commits_to_push(repo.scm, remote, parse_updates(call.stdin))
        tracked = _tracks_data(repo, commits)
    except DvliteError as exc:
        return _blocked(outcome, f"cannot list the data being pushed: {exc.msg}")
    if not tracked:
        return outcome
    try:
        repo.config.remote(None)
    except DvliteError as exc:
        return _blocked(outcome, "the pushed commits track data, which would stay only on "
                        f"this machine: {exc.msg}", NO_REMOTE)
    try:
        failed, uploaded = _upload(repo, commits, call.progress)
    except DvliteError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        return _blocked(outcome, f"uploading the data failed: {exc.msg}{hint}")
    if failed:
        shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        return _blocked(outcome, f"{len(failed)} object(s) could not be uploaded: {shown}")
    if uploaded:
        outcome.messages.append(f"dvlite: uploaded {uploaded} object(s) for the pushed commits")
    return outcome


def _blocked(outcome: HookOutcome, msg: str, way_out: str = BYPASS) -> HookOutcome:
    outcome.code = 1
    outcome.messages.append(f"error: dvlite: {msg}")
    outcome.messages.append(f"dvlite: git push blocked; {way_out}")
    return outcome


def _tracks_data(repo: Repo, commits: list[str]) -> bool:
    """Whether any of `commits` has a pointer file or a dvlite.lock (pipeline outputs)."""
    assert repo.scm is not None
    scm = repo.scm
    return any(scm.files_at(c, names=("dvlite.lock",)) for c in commits)


def _upload(repo: Repo, commits: list[str], progress: Progress) -> tuple[list[str], int]:
    """Push the objects of `commits` to the default remote: (failures, uploaded count).

    An object missing from this cache is no failure when the remote already has it
    (e.g. merged from a colleague's branch whose data was never fetched here).
    """
    from dvlite.errors import MissingObjectsError
    from dvlite.repo.sync.plan import Scope, repo_remote
    from dvlite.repo.sync.push_pull import push

    result = push(repo, Scope(revs=tuple(commits)), progress=progress)
    absent = {f.item.oid for f in result.failed if isinstance(f.error, MissingObjectsError)}
    there = repo_remote(repo, None).exists_many(absent) if absent else set()
    failed = [f"{f.item.path} ({f.error.msg})" for f in result.failed
              if not (isinstance(f.error, MissingObjectsError) and f.item.oid in there)]
    return failed, result.transferred
