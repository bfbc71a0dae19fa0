"""What dvlite's git hooks do (the scripts only call `dvlite hook NAME ARGS...`).

- post-checkout (branch checkouts only), post-merge and post-rewrite (after a rebase,
  which `git pull --rebase` ends with) bring the workspace to the new pointers,
  fetching missing objects first when `hooks.fetch` is on and a remote is set. They
  never fail the git command: problems come back as warnings.
- pre-commit reports tracked data changed but not re-added; it blocks only with
  `hooks.strict = true`.
- pre-push uploads the data of exactly the commits being pushed and blocks the push
  when that fails (see `dvlite.repo.githooks.push`).

Nothing runs while a rebase is in progress: git checks out every replayed commit, and
rewriting data for each would be slow and surprising; post-rewrite catches up once at
the end.
"""

from __future__ import annotations

from collections.abc import Callable

from dvlite.errors import DvliteError
from dvlite.repo.githooks.checkout import in_rebase, update_workspace
from dvlite.repo.githooks.types import HookCall, HookOutcome
from dvlite.workspace.repo import Repo


def run_hook(repo: Repo, name: str, call: HookCall) -> HookOutcome:
    handlers: dict[str, Callable[[Repo, HookCall], HookOutcome]] = {
        "post-checkout": _post_checkout,
        "post-merge": _post_merge,
        "post-rewrite": _post_rewrite,
        "pre-commit": _pre_commit,
        "pre-push": _pre_push,
    }
    handler = handlers.get(name)
    if handler is None:
        return HookOutcome(0, warnings=[f"dvlite has no '{name}' hook; nothing done"])
    return handler(repo, call)


def _post_checkout(repo: Repo, call: HookCall) -> HookOutcome:
    args = call.args
    # args: previous HEAD, new HEAD, 1 for a branch checkout / 0 for `checkout -- file`
    if len(args) < 3 or args[2] != "1" or in_rebase(repo):
        return HookOutcome()
    return update_workspace(repo, args[0], call.progress)


def _post_merge(repo: Repo, call: HookCall) -> HookOutcome:
    if in_rebase(repo):
        return HookOutcome()
    return update_workspace(repo, "ORIG_HEAD", call.progress)


def _post_rewrite(repo: Repo, call: HookCall) -> HookOutcome:
    # a rebase has finished (`git pull --rebase` runs no post-merge); not for amend. git
    # removes .git/rebase-merge only after this hook, so in_rebase() does not apply here.
    if not call.args or call.args[0] != "rebase":
        return HookOutcome()
    return update_workspace(repo, "ORIG_HEAD", call.progress)


_BLOCKED = ("dvlite: commit blocked (hooks.strict = true); re-add the data, or bypass once "
            "with DVLITE_SKIP_HOOKS=1")


def _pre_commit(repo: Repo, call: HookCall) -> HookOutcome:
    del call
    from dvlite.repo.status import status

    strict = repo.config.hooks.strict
    outcome = HookOutcome()
    try:
        report = status(repo, [])
    except DvliteError as exc:
        outcome.warnings.append(f"dvlite status failed: {exc.msg}")
        if strict:
            outcome.code = 1
            outcome.messages.append(_BLOCKED)
        return outcome
    changed = [r for r in report if r.modified]
    if not changed:
        return outcome
    outcome.warnings.append("tracked data changed but not re-added with `dvlite add` "
                            "(this commit records the previous version):")
    for r in changed:
        outcome.messages.extend(f"  modified: {m}" for m in r.modified)
    added = " ".join(r.path for r in changed if r.stage is None)
    stages = " ".join(dict.fromkeys(r.stage for r in changed if r.stage is not None))
    if added:
        outcome.messages.append(f"hint: dvlite add {added}")
    if stages:  # a stage output is recorded by running its stage, or committing it
        outcome.messages.append(f"hint: dvlite repro {stages} (or dvlite commit {stages})")
    if strict:
        outcome.code = 1
        outcome.messages.append(_BLOCKED)
    return outcome


def _pre_push(repo: Repo, call: HookCall) -> HookOutcome:
    from dvlite.repo.githooks.push import pre_push

    return pre_push(repo, call)
