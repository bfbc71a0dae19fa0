"""`push`, `fetch`, `pull`: move objects between the cache and a remote.

Order: files first, then a folder's manifest only once all its files are in place, so
neither the remote nor the cache ever holds a manifest whose files were lost to a crash.
Downloads are hashed before they enter the cache. Partial failure is a result (the
others still move); `raise_failures` turns it into one error for the CLI's exit code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from dvlite._fault import faultpoint
from dvlite.core.oid import Oid
from dvlite.errors import (
    IntegrityError,
    MissingObjectsError,
    RemoteError,
)
from dvlite.repo.checkout import checkout
from dvlite.repo.sync.known import (
    due_for_freshening,
    freshen,
    present_on_remote,
    skip_known_folders,
)
from dvlite.repo.sync.plan import (
    ObjectPlan,
    Scope,
    as_scope,
    expand,
    known_objects,
    manifest_loader,
    repo_remote,
    select,
    select_uncached,
    trusted_known,
)
from dvlite.repo.sync.runcache import local_records, push_records, remote_records
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote.base import Remote
from dvlite.storage.remote.known import KnownObjects
from dvlite.storage.transfer import Failure, Item, TransferResult
from dvlite.workspace.checkout import CheckoutResult
from dvlite.workspace.outputs import load_manifest
from dvlite.workspace.repo import Repo


def _jobs(remote: Remote, jobs: int | None) -> int:
    return max(1, jobs or remote.jobs)


# -- push ---------------------------------------------------------------------------------


def push(repo: Repo, scope: Scope | Sequence[str], remote_name: str | None = None,
         jobs: int | None = None, progress: Progress = NULL_PROGRESS, *,
         revs: Sequence[str] = (), all_commits: bool = False,
         run_cache: bool = False) -> TransferResult:
    """Upload what `scope` (or targets plus `revs`) needs; per-object results. With
    `run_cache`, also the run-cache records (each after all of its objects)."""
    scope = as_scope(scope, revs, all_commits)
    remote = repo_remote(repo, remote_name)
    chosen = select(repo, scope)
    optional = select_uncached(repo, scope)
    # The epoch is read once however recently it was checked (one small GET): another
    # clone's gc --remote or repair renews it, and a push trusting stale known objects
    # would report "up to date" while the remote lacks what it deleted. The checks below
    # then trust that reading.
    trusted_known(repo, remote, force=True).close()
    for _ in range(3):
        targets, skipped = chosen, 0
        if not run_cache:  # run-cache records need every object of theirs in `there`
            targets, skipped = skip_known_folders(repo, remote, chosen)
        plan = expand(targets, lambda oid: load_manifest(repo, oid))
        extra = expand(optional, lambda oid: load_manifest(repo, oid))
        plan.add_optional(extra, repo.cache.exists)
        # every record, with its objects, whether or not the scope's outputs name them
        records = local_records(repo, plan) if run_cache else {}
        result = TransferResult(failed=list(plan.failed))
        there = _send(repo, remote, plan, result, jobs=jobs, progress=progress)
        if there is not None:
            break
        # the known objects that let folders be skipped were stale, and are dropped: plan
        # again
    else:
        raise RemoteError(f"remote '{remote.name}' changed its epoch during the push (a gc "
                          "--remote running?)", hint="re-run the push when it is done")
    result.present += skipped
    if records:
        push_records(repo, remote, records, there, result)
    return result


def _send(repo: Repo, remote: Remote, plan: ObjectPlan, result: TransferResult, *,
          jobs: int | None, progress: Progress) -> set[Oid] | None:
    """Upload the plan's missing objects, files before manifests, and freshen the ones
    the remote already had (an old object used again must outlive the grace of a gc
    that does not know the new commit yet); returns what the remote now has of the
    plan. None, before anything is written, when the known objects the plan was made
    with turn out stale (they are dropped: plan again)."""
    wanted = plan.all_oids()
    local = repo.cache.exists_many(wanted)
    for oid in sorted(wanted - local):
        err = MissingObjectsError(f"{plan.item(oid).path} ({oid}) is not in the cache")
        result.failed.append(Failure(plan.item(oid), err))
    known = trusted_known(repo, remote)
    try:
        there, files = _to_upload(remote, known, plan, local)
        stale = due_for_freshening(repo, remote, known, there)
        writes = bool(files or stale) or any(m not in there for m in plan.manifests)
        # about to write: the epoch is read again (a format file made if there is none);
        # known objects it drops were stale
        if writes and known.reconcile(remote.identity, remote.check_format(create=True),
                                      time.time()):
            return None
        freshen(remote, known, stale)
        result.present = len(there & local)
        sizes = {it.oid: os.stat(repo.cache.path(it.oid)).st_size for it in files}
        progress.begin("Pushing", len(files), sum(sizes.values()))
        faultpoint("push.before_upload")

        def send(items: list[Item]) -> set[Oid]:
            done = remote.upload_many(items, repo.cache, sizes, jobs=_jobs(remote, jobs),
                                      result=result, progress=progress)
            return _add_uploaded(known, remote, done)

        there |= send(files)
        faultpoint("push.before_manifests")
        there |= send(_ready_manifests(plan, local, there, result))
        faultpoint("push.after_all")
        progress.end()
    finally:
        known.close()
    return there


def _to_upload(remote: Remote, known: KnownObjects, plan: ObjectPlan,
               local: set[Oid]) -> tuple[set[Oid], list[Item]]:
    """What the remote has of the plan (and of the folders' other files), and the files
    to upload."""
    there = present_on_remote(remote, known, local)
    pending = [m for m in plan.manifests if m not in there]
    others = set().union(*(plan.complete.get(m, set()) for m in pending)) - plan.all_oids()
    if others:  # files of a folder outside the targets: a manifest needs them all
        there |= present_on_remote(remote, known, others)
    files = [plan.files[o] for o in sorted(plan.files) if o in local and o not in there]
    return there, files


def _add_uploaded(known: KnownObjects, remote: Remote, done: list[Oid]) -> set[Oid]:
    known.add(remote.identity, done, fresh=time.time())
    return set(done)


def _ready_manifests(plan: ObjectPlan, local: set[Oid], there: set[Oid],
                     result: TransferResult) -> list[Item]:
    ready = []
    for oid, (item, children) in sorted(plan.manifests.items()):
        if oid in there or oid not in local:
            continue
        lacking = children - there
        if lacking:
            err = RemoteError(f"folder {item.path} not pushed: {len(lacking)} of its files "
                              "did not reach the remote")
            result.failed.append(Failure(item, err))
        elif plan.complete.get(oid, children) <= there:
            ready.append(item)
        # else: only some files of the folder were pushed (a target inside it); its
        # manifest waits until every file it lists is on the remote
    return ready


# -- fetch / pull -------------------------------------------------------------------------


def fetch(repo: Repo, scope: Scope | Sequence[str], remote_name: str | None = None,
          jobs: int | None = None, progress: Progress = NULL_PROGRESS, *,
          revs: Sequence[str] = (), all_commits: bool = False,
          run_cache: bool = False) -> TransferResult:
    """Download into the cache what `scope` (or targets plus `revs`) needs; per-object
    results. With `run_cache`, also the remote's run-cache records and their objects."""
    scope = as_scope(scope, revs, all_commits)
    remote = repo_remote(repo, remote_name)
    targets = select(repo, scope)
    optional = select_uncached(repo, scope)
    run_targets, records = remote_records(repo, remote) if run_cache else ([], 0)
    optional += run_targets
    # Before the first remote read, one cheap request that fails clearly on a bad config
    # (missing bucket, credentials); a fetch with nothing to do asks the remote nothing.
    dirs = {t.output.pointer.oid for t in targets + optional if t.output.is_dir}
    checked = bool(dirs - repo.cache.exists_many(dirs))
    if checked:
        remote.check_format(create=False)
    n = _jobs(remote, jobs)
    fetched: dict[Oid, bytes] = {}
    load = manifest_loader(repo, remote, targets + optional, n, fetched)
    plan = expand(targets, load)
    plan.add_optional(expand(optional, load), lambda _: True)
    plan.manifest_bytes = fetched
    result = TransferResult(failed=list(plan.failed), records=records)
    have = repo.cache.exists_many(plan.files)
    need = [plan.files[o] for o in sorted(plan.files) if o not in have]
    result.present = len(have) + sum(1 for m in plan.manifests if m not in fetched)
    if need and not checked:
        remote.check_format(create=False)
    progress.begin("Fetching", len(need), sum(it.size or 0 for it in need))
    faultpoint("fetch.before_download")

    have |= set(remote.download_many(need, repo.cache, jobs=n, result=result,
                                        progress=progress))
    _forget_missing(repo, remote, plan, result)
    result.failed = plan.drop_optional_failures(result.failed)
    faultpoint("fetch.before_manifests")
    for oid, (item, children) in sorted(plan.manifests.items()):
        data = fetched.get(oid)
        if data is not None and children <= have:
            repo.cache.add_bytes(data, expected=oid)
            result.moved.append(item.oid)
            result.nbytes += len(data)
    progress.end()
    return result


def _forget_missing(repo: Repo, remote: Remote, plan: ObjectPlan,
                    result: TransferResult) -> None:
    """Known objects are a hint: objects a fetch found missing on the remote, and the
    folders listing them, are forgotten, so the next push checks and uploads them again."""
    missing = {f.item.oid for f in result.failed if isinstance(f.error, MissingObjectsError)}
    if not missing:
        return
    folders = {m for m, (_, children) in plan.manifests.items() if children & missing}
    known = known_objects(repo)
    try:
        known.forget(remote.identity, missing | folders)
    finally:
        known.close()


def pull(repo: Repo, scope: Scope, remote_name: str | None = None, *,
         jobs: int | None = None, force: bool = False, progress: Progress = NULL_PROGRESS,
         run_cache: bool = False) -> tuple[TransferResult, CheckoutResult | None]:
    """fetch, then checkout what arrived; a fetch failure is still raised after."""
    result = fetch(repo, scope, remote_name, jobs, progress, run_cache=run_cache)
    try:
        done = checkout(repo, list(scope.targets), force=force, cwd=scope.cwd,
                        progress=progress)
    except MissingObjectsError:
        if result.ok:
            raise
        done = None
    return result, done


def raise_failures(result: TransferResult, remote: str, verb: str) -> None:
    """One error for a transfer with failures: integrity first (exit 3), else the cause."""
    if result.ok:
        return
    failed = result.failed
    bad = [f for f in failed if isinstance(f.error, IntegrityError)]
    first = bad[0] if bad else failed[0]
    more = f" ({len(failed)} objects failed)" if len(failed) > 1 else ""
    if len({f.error.msg for f in failed}) == 1 and not bad:
        err = first.error
        raise type(err)(f"{err.msg}{more}", hint=err.hint or _retry_hint(verb))
    detail = f"{first.item.path}: {first.error.msg}"
    if bad:
        raise IntegrityError(detail + more, hint=first.error.hint)
    raise RemoteError(f"{len(failed)} object(s) could not be {verb} remote '{remote}'; "
                      f"first: {detail}", hint=_retry_hint(verb))


def _retry_hint(verb: str) -> str:
    command = "push" if verb.startswith("pushed") else "pull (or fetch)"
    return f"fix the cause and re-run `dvlite {command}`: what already moved is kept"
