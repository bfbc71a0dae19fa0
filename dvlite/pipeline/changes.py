"""Why a stage must run: its command, a dependency, a parameter or an output differs
from (or is missing in) its `dvlite.lock` entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dvlite.core.lockfile import HashInfo, LockEntry
from dvlite.core.stages import Stage
from dvlite.pipeline.hashing import WorkspaceHashes


def _same(a: HashInfo | None, b: HashInfo | None) -> bool:
    return a is not None and b is not None and a.oid == b.oid


def stage_changes(stage: Stage, entry: LockEntry | None, hashes: WorkspaceHashes,
                  params: dict[str, dict[str, Any]]) -> list[str]:
    """Reasons to run `stage` (empty: up to date). Frozen stages are the caller's call."""
    if stage.always_changed:
        return ["always_changed is set"]
    if entry is None:
        return ["no entry in dvlite.lock"]
    reasons: list[str] = []
    if entry.cmd != stage.cmd:
        reasons.append("command changed")
    reasons.extend(_path_changes("dependency", [d.path for d in stage.deps], entry.deps, hashes))
    reasons.extend(_param_changes(params, entry.params))
    reasons.extend(_path_changes("output", [o.path for o in stage.outs], entry.outs, hashes))
    return reasons


def _path_changes(kind: str, declared: list[str], locked: Sequence[HashInfo],
                  hashes: WorkspaceHashes) -> list[str]:
    """Dependencies or outputs that are missing, differ from the lock, or were dropped."""
    reasons = []
    by_path = {h.path: h for h in locked}
    for path in declared:
        current = hashes.get(path)
        if current is None:
            reasons.append(f"{kind} '{path}' is missing")
        elif not _same(current, by_path.get(path)):
            reasons.append(f"{kind} '{path}' changed")
    if set(by_path) - set(declared):
        plural = "dependencies" if kind == "dependency" else "outputs"
        reasons.append(f"{plural} were removed")
    return reasons


def _param_changes(now: dict[str, dict[str, Any]],
                   locked: dict[str, dict[str, Any]]) -> list[str]:
    reasons = []
    for file, values in sorted(now.items()):
        old = locked.get(file, {})
        for key, value in sorted(values.items()):
            if key not in old:
                reasons.append(f"parameter '{key}' is new")
            elif old[key] != value or type(old[key]) is not type(value):
                reasons.append(f"parameter '{key}' changed ({old[key]!r} -> {value!r})")
    dropped = {(f, k) for f, v in locked.items() for k in v} - {
        (f, k) for f, v in now.items() for k in v}
    if dropped:
        reasons.append("parameters were removed")
    return reasons
