"""`dvlite checkout`: make the targets' data match their pointers, from the cache
(the plan, its safety check and its writes are `workspace.checkout`)."""

from __future__ import annotations

from pathlib import Path

from dvlite.errors import MissingObjectsError
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace.checkout import (
    CheckoutResult,
    Mode,
    apply_plan,
    plan_checkout,
    raise_conflicts,
)
from dvlite.workspace.outputs import collect_targets
from dvlite.workspace.repo import Repo


def checkout(repo: Repo, targets: list[str], force: bool = False, cwd: Path | None = None,
             progress: Progress = NULL_PROGRESS) -> CheckoutResult:
    with repo.lock():
        chosen = collect_targets(repo, targets, cwd)
        plan = plan_checkout(repo, chosen, Mode(force), progress)
        raise_conflicts(plan)
        result = apply_plan(repo, plan, progress)
    if result.missing:
        shown = ", ".join(result.missing[:5])
        more = f" and {len(result.missing) - 5} more" if len(result.missing) > 5 else ""
        raise MissingObjectsError(
            f"{len(result.missing)} file(s) not in the cache, not checked out: {shown}{more}",
            hint="dvlite pull fetches them from the remote",
        )
    return result

