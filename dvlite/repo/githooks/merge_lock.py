"""The git merge driver for `dvlite.lock`: stage by stage, three-way.

A stage whose entry changed on one branch only takes that branch's entry; a stage
changed differently on both branches is a conflict (re-run `dvlite repro` after
resolving). The merged lockfile is written in the canonical form `repro` writes.
"""

from __future__ import annotations

from dvlite.core import lockfile
from dvlite.errors import FormatError
from dvlite.repo.githooks.merge import MergeResult, conflict_text, merge_maps


def merge_lock(base: bytes, ours: bytes, theirs: bytes, path: str) -> MergeResult:
    if theirs in (ours, base):
        return MergeResult(ours)
    if base == ours:
        return MergeResult(theirs)
    try:
        b, o, t = (lockfile.loads(data, path) if data.strip() else {}
                   for data in (base, ours, theirs))
    except FormatError as exc:
        why = f"cannot merge: {exc.msg}"
        return MergeResult(conflict_text(ours, theirs, why), [why])
    merged, clashes = merge_maps(b, o, t)
    if clashes:
        names = ", ".join(sorted(clashes))
        why = f"stage(s) changed differently on both sides: {names}; resolve, then dvlite repro"
        return MergeResult(conflict_text(ours, theirs, why), [f"{path}: stage '{n}'"
                                                                for n in sorted(clashes)])
    base_dir = path.rsplit("/", 1)[0] if "/" in path else ""
    return MergeResult(lockfile.dumps(merged, base_dir))
