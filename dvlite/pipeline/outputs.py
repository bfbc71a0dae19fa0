"""Stage outputs around a run: cleared before, cached after, restored from the run cache.

Clearing never loses data: an output whose current bytes are not in the cache is saved
into the cache before it is removed (it may be a user's edit of a result).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dvlite.core.lockfile import HashInfo
from dvlite.core.paths import check_parent_inside
from dvlite.core.stages import Stage
from dvlite.errors import PipelineError, storage_error
from dvlite.pipeline.hashing import WorkspaceHashes
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace import gitignore
from dvlite.workspace.outputs import stage_output
from dvlite.workspace.repo import Repo


def prepare(repo: Repo, stage: Stage, hashes: WorkspaceHashes) -> None:
    """Remove the stage's outputs (but persistent ones) and create their parent folders."""
    from dvlite.workspace.store import store_path  # only when something runs: keeps startup short

    for out in stage.outs:
        path = repo.root / out.path
        check_parent_inside(repo.root, path)
        if not out.persist and os.path.lexists(path):
            current = hashes.get(out.path) if not path.is_symlink() else None
            if current is not None and not repo.cache.exists(current.oid):
                store_path(repo, path)  # keep a copy of bytes that exist nowhere else
            _remove(path)
            hashes.forget([out.path])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, f"creating the folder of {out.path}") from exc


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise storage_error(exc, f"removing {path}") from exc


def run_cacheable(stage: Stage) -> bool:
    """Outputs can be restored only if all are cached (metrics files are cached for it).
    A stage without outputs runs for its side effects: never skip it by a record."""
    return bool(stage.outs) and all(o.cache or o.metric for o in stage.outs)


def collect(repo: Repo, stage: Stage, hashes: WorkspaceHashes,
            progress: Progress = NULL_PROGRESS) -> list[HashInfo]:
    """Cache the stage's outputs after a successful run; returns their hashes. The caller
    holds the repository lock until their lock entry is written."""
    from dvlite.workspace.store import store_path

    infos = []
    for out in stage.outs:
        path = repo.root / out.path
        if not os.path.lexists(path):
            raise PipelineError(f"{stage.dvfile}:{out.line}: stage '{stage.name}' did not "
                                f"produce its output '{out.path}'")
        hashes.forget([out.path])
        if not (out.cache or out.metric):
            info = hashes.get(out.path)
            assert info is not None
            infos.append(info)
            continue
        # Uncached metrics still go into the cache, so the run cache can restore them.
        pointer = store_path(repo, path, progress)
        if out.cache:
            _ignore(path)
        infos.append(HashInfo(out.path, pointer.oid, pointer.size, pointer.nfiles))
    return infos


def restore(repo: Repo, stage: Stage, outs: list[HashInfo]) -> None:
    """Put recorded outputs back into the workspace from the cache (under the lock)."""
    from dvlite.workspace.checkout import checkout_outputs

    wanted = [stage_output(repo, info.path, info.to_pointer(), stage=stage.name)
              for info in outs]
    for restored in wanted:
        restored.path.parent.mkdir(parents=True, exist_ok=True)
    checkout_outputs(repo, wanted, force=True)
    for out in stage.outs:
        if out.cache:
            _ignore(repo.root / out.path)


def _ignore(path: Path) -> None:
    # Stages finish concurrently (-j, or two repros): .gitignore is read, changed and
    # replaced under the caller's lock, so no entry is lost and no write trips over another.
    gitignore.add_entry(path)
