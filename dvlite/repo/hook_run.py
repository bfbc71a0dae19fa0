"""What dvlite's git hooks do (the scripts only call `dvlite hook NAME ARGS...`).

- post-checkout (branch checkouts only), post-merge and post-rewrite (after a rebase,
  which `git pull --rebase` ends with) bring the workspace to the new pointers,
  fetching missing objects first when `hooks.fetch` is on and a remote is set. They
  never fail the git command: problems come back as warnings.
- pre-commit reports tracked data changed but not re-added; it blocks only with
  `hooks.strict = true`.
- pre-push uploads the data of exactly the commits being pushed and blocks the push
  when that fails (see `dvlite.repo.hook_push`).

Nothing runs while a rebase is in progress: git checks out every replayed commit, and
rewriting data for each would be slow and surprising; post-rewrite catches up once at
the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from dvlite.errors import DvliteError
from dvlite.repo.compare import missing_objects, output_state
from dvlite.repo.outputs import Output, all_outputs, outputs_at
from dvlite.repo.repo import Repo

ZERO_SHA = "0" * 40


@dataclass
class HookOutcome:
    """Exit code for git, and lines for stderr (`warnings` get a `warning: ` prefix)."""

    code: int = 0
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_zero(sha: str) -> bool:
    return not sha.strip("0")


def in_rebase(repo: Repo) -> bool:
    if repo.scm is None:
        return False
    for name in ("rebase-merge", "rebase-apply"):
        raw = repo.scm.run("rev-parse", "--git-path", name).decode().strip()
        if (repo.scm.root / raw).exists():
            return True
    return False


def run_hook(repo: Repo, name: str, args: list[str], stdin: bytes = b"") -> HookOutcome:
    handlers: dict[str, Callable[[Repo, list[str], bytes], HookOutcome]] = {
        "post-checkout": _post_checkout,
        "post-merge": _post_merge,
        "post-rewrite": _post_rewrite,
        "pre-commit": _pre_commit,
        "pre-push": _pre_push,
    }
    handler = handlers.get(name)
    if handler is None:
        return HookOutcome(0, warnings=[f"dvlite has no '{name}' hook; nothing done"])
    return handler(repo, args, stdin)


def _post_checkout(repo: Repo, args: list[str], stdin: bytes) -> HookOutcome:
    del stdin
    # args: previous HEAD, new HEAD, 1 for a branch checkout / 0 for `checkout -- file`
    if len(args) < 3 or args[2] != "1" or in_rebase(repo):
        return HookOutcome()
    return update_workspace(repo, args[0])


def _post_merge(repo: Repo, args: list[str], stdin: bytes) -> HookOutcome:
    del args, stdin
    if in_rebase(repo):
        return HookOutcome()
    return update_workspace(repo, "ORIG_HEAD")


def _post_rewrite(repo: Repo, args: list[str], stdin: bytes) -> HookOutcome:
    del stdin
    # a rebase has finished (`git pull --rebase` runs no post-merge); not for amend. git
    # removes .git/rebase-merge only after this hook, so in_rebase() does not apply here.
    if not args or args[0] != "rebase":
        return HookOutcome()
    return update_workspace(repo, "ORIG_HEAD")


def update_workspace(repo: Repo, previous: str | None) -> HookOutcome:
    """Fetch (if configured) and check out the current pointers; warnings, never errors."""
    outcome = HookOutcome()
    if repo.config.get("hooks.fetch") and _has_remote(repo):
        try:
            outcome.warnings.extend(_fetch(repo))
        except DvliteError as exc:
            outcome.warnings.append(f"dvlite could not fetch data: {exc.msg}")
    try:
        _drop_untracked_outputs(repo, previous, outcome)
    except DvliteError as exc:
        outcome.warnings.append(f"dvlite: {exc.msg}")
    from dvlite.repo.checkout import checkout

    try:
        result = checkout(repo, [])
    except DvliteError as exc:
        outcome.warnings.append(f"dvlite could not update the data: {exc.msg}")
        if exc.hint:
            outcome.warnings.append(f"then run: {exc.hint}")
        return outcome
    if result.written or result.deleted:
        outcome.messages.append(
            f"dvlite: checked out {result.written} files, removed {result.deleted}")
    return outcome


def _has_remote(repo: Repo) -> bool:
    try:
        return bool(repo.config.get("core.remote")) and bool(repo.config.remotes())
    except DvliteError:
        return False


def _fetch(repo: Repo) -> list[str]:
    """Fetch what the current pointers need; failures come back as warnings."""
    from dvlite.repo.sync import fetch
    from dvlite.repo.sync_plan import Scope

    result = fetch(repo, Scope())
    return [f"not fetched: {f.item.path}: {f.error.msg}" for f in result.failed[:5]] + (
        [f"... and {len(result.failed) - 5} more"] if len(result.failed) > 5 else [])


def _drop_untracked_outputs(repo: Repo, previous: str | None, outcome: HookOutcome) -> None:
    """Remove the data of outputs the previous commit tracked and the new one does not,
    like git removes files, but only when that data is exactly the old version and is
    safe in the cache (anything else is kept and reported)."""
    if repo.scm is None or not previous or is_zero(previous):
        return
    try:
        old = outputs_at(repo, previous)
    except DvliteError:
        return  # e.g. ORIG_HEAD absent: nothing to compare with
    current = {o.rel for o in all_outputs(repo)}
    stale = [o for o in old if o.rel not in current and os.path.lexists(o.path)]
    if not stale:
        return
    in_git = set(repo.scm.tracked([o.path for o in stale]))
    for out in stale:
        if repo.rel(out.path) in in_git or _owned_by_git(repo, out, in_git):
            continue
        if _is_saved(repo, out):
            _remove(out)
        else:
            outcome.warnings.append(
                f"{out.rel} is no longer tracked here and differs from its last version; "
                "left in place")


def _owned_by_git(repo: Repo, out: Output, in_git: set[str]) -> bool:
    prefix = repo.rel(out.path) + "/"
    return any(p.startswith(prefix) for p in in_git)


def _is_saved(repo: Repo, out: Output) -> bool:
    st = output_state(repo, out)
    return st.exists and not st.modified and not missing_objects(repo, st)


def _remove(out: Output) -> None:
    if out.path.is_dir() and not out.path.is_symlink():
        shutil.rmtree(out.path)
    else:
        out.path.unlink()


def _pre_commit(repo: Repo, args: list[str], stdin: bytes) -> HookOutcome:
    del args, stdin
    from dvlite.repo.status import status

    strict = bool(repo.config.get("hooks.strict"))
    outcome = HookOutcome()
    try:
        report = status(repo, [])
    except DvliteError as exc:
        outcome.warnings.append(f"dvlite status failed: {exc.msg}")
        outcome.code = 1 if strict else 0
        return outcome
    changed = [r for r in report if r.modified]
    if not changed:
        return outcome
    outcome.warnings.append("tracked data changed but not re-added with `dvlite add` "
                            "(this commit records the previous version):")
    for r in changed:
        outcome.messages.extend(f"  modified: {m}" for m in r.modified)
    targets = " ".join(r.path for r in changed)
    outcome.messages.append(f"hint: dvlite add {targets}")
    if strict:
        outcome.code = 1
        outcome.messages.append(
            "dvlite: commit blocked (hooks.strict = true); re-add the data, or bypass once "
            "with DVLITE_SKIP_HOOKS=1")
    return outcome


def _pre_push(repo: Repo, args: list[str], stdin: bytes) -> HookOutcome:
    from dvlite.repo.hook_push import pre_push

    return pre_push(repo, args, stdin)
