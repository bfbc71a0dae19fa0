"""The merge driver git calls for pointer files and dvlite.lock (`.gitattributes`): the
three versions git hands over as files, merged, the result left where git reads it."""

from __future__ import annotations

from pathlib import Path

from dvlite.repo.githooks.merge import MergeResult, conflict_text, merge_pointer
from dvlite.repo.githooks.merge_lock import merge_lock
from dvlite.storage.atomic import atomic_write
from dvlite.workspace.repo import Repo


def merge_files(base: Path, ours: Path, theirs: Path, path: str, cwd: Path) -> MergeResult:
    """Merge git's %O (`base`), %A (`ours`) and %B (`theirs`) for the repository file
    `path` (%P, relative to `cwd`, where git runs drivers: the work tree's top) and write
    the result, conflict text included, to `ours`: git takes it from there either way."""
    o_data, a_data, b_data = (p.read_bytes() for p in (base, ours, theirs))
    result: MergeResult
    if path.rsplit("/", 1)[-1] == "dvlite.lock":
        result = merge_lock(o_data, a_data, b_data, path)
    elif path.endswith(".dvl"):
        repo = Repo.find((cwd / path).parent)
        try:
            result = merge_pointer(repo, o_data, a_data, b_data, path)
        finally:
            repo.close()
    else:
        why = "not a dvlite pointer or lockfile"
        result = MergeResult(conflict_text(a_data, b_data, why), [why])
    # git reads the result back at once, and a crash leaves a merge to redo: no fsync
    atomic_write(ours, result.data, fsync=False)
    return result
