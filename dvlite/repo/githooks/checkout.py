"""post-checkout / post-merge / post-rewrite: bring the workspace to the new pointers.

Fetch first (only when `hooks.fetch` is on, a remote is set, and something is missing
from the cache: a branch switch with everything cached makes no network call), then
check out output by output, so one output with unsaved changes is kept and reported
while the others are still brought up to date. Never raises: git has already moved.
"""

from __future__ import annotations

import os
import shutil

from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.errors import DvliteError, storage_error
from dvlite.repo.githooks.types import HookOutcome, is_zero
from dvlite.repo.ls import object_closure
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace.compare import missing_objects, output_state
from dvlite.workspace.outputs import Output, outputs_at, tracked_outputs
from dvlite.workspace.repo import Repo

SHOWN = 5


def in_rebase(repo: Repo) -> bool:
    if repo.scm is None:
        return False
    out = repo.scm.run("rev-parse", "--git-path", "rebase-merge", "--git-path", "rebase-apply")
    return any((repo.scm.root / raw).exists() for raw in out.decode().splitlines() if raw)


def _listing(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def update_workspace(repo: Repo, previous: str | None,
                     progress: Progress = NULL_PROGRESS) -> HookOutcome:
    """Fetch (if configured and needed) and check out the current pointers' data."""
    outcome = HookOutcome()
    try:
        if repo.config.hooks.fetch and _has_remote(repo) and _needs_fetch(repo):
            outcome.warnings.extend(_fetch(repo, progress))
    except DvliteError as exc:
        outcome.warnings.append(f"dvlite could not fetch data: {exc.msg}")
    try:
        _drop_untracked_outputs(repo, previous, outcome)
        _checkout_each(repo, outcome)
    except DvliteError as exc:
        outcome.warnings.append(f"dvlite could not update the data: {exc.msg}")
        if exc.hint:
            outcome.warnings.append(f"then: {exc.hint}")
    return outcome


def _has_remote(repo: Repo) -> bool:
    try:
        return bool(repo.config.core.remote) and bool(repo.config.remotes())
    except DvliteError:
        return False


def _needs_fetch(repo: Repo) -> bool:
    manifests: dict[Oid, Manifest] = {}
    wanted: set[Oid] = set()
    for out in tracked_outputs(repo):
        needed = object_closure(repo, out, manifests)
        if needed is None:  # the folder's manifest itself is missing
            return True
        wanted |= needed
    return len(repo.cache.exists_many(wanted)) < len(wanted)


def _fetch(repo: Repo, progress: Progress) -> list[str]:
    """Fetch what the current pointers need; failures come back as warnings."""
    from dvlite.repo.sync.plan import Scope
    from dvlite.repo.sync.push_pull import fetch

    result = fetch(repo, Scope(), progress=progress)
    failed = [f"{f.item.path}: {f.error.msg}" for f in result.failed]
    return [f"not fetched: {_listing(failed)}"] if failed else []


def _checkout_each(repo: Repo, outcome: HookOutcome) -> None:
    from dvlite.workspace.checkout import Mode, apply_plan, plan_checkout
    from dvlite.workspace.outputs import collect_targets

    written = deleted = 0
    conflicts: list[str] = []
    missing: list[str] = []
    with repo.lock():
        for target in collect_targets(repo, []):
            plan = plan_checkout(repo, [target], Mode())
            if plan.conflicts:  # unsaved changes: keep this output as it is
                conflicts.extend(plan.conflicts)
                continue
            result = apply_plan(repo, plan)
            written, deleted = written + result.written, deleted + result.deleted
            missing.extend(result.missing)
    if written or deleted:
        outcome.messages.append(f"dvlite: checked out {written} files, removed {deleted}")
    if conflicts:
        outcome.warnings.append(
            f"dvlite kept your unsaved changes to {_listing(conflicts)}; `dvlite add` them, "
            "or `dvlite checkout --force` to take the committed version")
    if missing:
        outcome.warnings.append(
            f"dvlite: not in the cache, so not checked out: "
            f"{_listing(missing)}; run `dvlite pull`")


def _drop_untracked_outputs(repo: Repo, previous: str | None, outcome: HookOutcome) -> None:
    """Remove the data of outputs the previous commit tracked and the new one does not,
    like git removes files, but only when that data is exactly the old version and is
    safe in the cache (anything else is kept and reported)."""
    if repo.scm is None or not previous or is_zero(previous):
        return
    try:
        old = outputs_at(repo, previous)
    except DvliteError:
        return  # e.g. no ORIG_HEAD: nothing to compare with
    current = {o.rel for o in tracked_outputs(repo)}
    stale = [o for o in old if o.rel not in current and os.path.lexists(o.path)]
    if not stale:
        return
    git_root = repo.scm.root
    in_git = repo.scm.tracked([o.path for o in stale])
    for out in stale:
        rel = os.path.relpath(out.path, git_root)
        if any(p == rel or p.startswith(rel + "/") for p in in_git):
            continue  # the new commit has it in git itself: git's file, not ours
        if _is_saved(repo, out):
            _remove(out)
        else:
            outcome.warnings.append(
                f"{out.rel} is no longer tracked here and differs from its last version; "
                "left in place")


def _is_saved(repo: Repo, out: Output) -> bool:
    st = output_state(repo, out)
    return st.exists and not st.modified and not missing_objects(repo, st)


def _remove(out: Output) -> None:
    try:
        if out.path.is_dir() and not out.path.is_symlink():
            shutil.rmtree(out.path)
        else:
            out.path.unlink()
    except OSError as exc:
        raise storage_error(exc, f"removing {out.rel}") from exc
