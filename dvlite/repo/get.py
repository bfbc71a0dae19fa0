"""`dvlite get REPO PATH`: export tracked data from any git repository, no dvlite repo needed.

Pointers and the remote config are read straight from git at the revision (a local
repository in place, bare or not; a URL through a bare clone), as `workspace/source.py`
does for the Python API too. Objects come from that repository's cache when it is local,
else from its default remote (`workspace/objects.py`); either way they are hashed before
use. The result appears at OUT only whole (built beside it, renamed).

Everything a run writes on the way (the clone, the downloaded objects, the result before
its rename) is in one work folder beside OUT, `.dvlite-get-PID-XXXX`, held under a
`flock` while the run lives. A killed run's folder is removed by the next `get` into the
same folder: one it can lock (or without a lock file whose PID is gone) is stale.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from dvlite.core.pointer import Pointer
from dvlite.errors import GitMissingError, ScmError, UsageError, storage_error
from dvlite.scm import Git
from dvlite.storage.odb import LocalStore
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.transfer import Item, TransferResult, transfer_many
from dvlite.storage.workdir import remove_stale as _remove_stale
from dvlite.storage.workdir import work_folder as _work_folder
from dvlite.workspace.objects import SourceObjects
from dvlite.workspace.source import (
    Source,
    cache_dir,
    config_at,
    find_output,
    local_source,
    outputs_at,
)

WORK_PREFIX = ".dvlite-get-"


@dataclass
class GetResult:
    dest: Path
    files: int
    nbytes: int
    transfer: TransferResult


def work_folder(parent: Path) -> AbstractContextManager[Path]:
    """A fresh work folder in `parent`, locked while in use and removed after; stale
    ones that killed runs left there are removed first."""
    return _work_folder(parent, WORK_PREFIX)


def remove_stale(parent: Path) -> list[Path]:
    """Remove the work folders of `get` runs that are no longer alive."""
    return _remove_stale(parent, WORK_PREFIX)


@contextmanager
def open_source(repo: str, cwd: Path, work: Path) -> Iterator[Source]:
    local = Path(cwd, repo)
    if "://" not in repo and local.exists():
        yield local_source(local, repo)
        return
    clone = work / "repo.git"
    try:
        proc = subprocess.run(["git", "clone", "--bare", "--quiet", "--", repo, str(clone)],
                              capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitMissingError from exc
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ScmError(f"cannot clone '{repo}': {msg[-1] if msg else proc.returncode}")
    origin = Path(repo[len("file://"):]) if repo.startswith("file://") else None
    yield Source(Git(clone), None, origin)


def get(repo: str, path: str, rev: str | None = None, out: Path | None = None,
        *, cwd: Path | None = None, progress: Progress = NULL_PROGRESS) -> GetResult:
    cwd = cwd or Path.cwd()
    dest = Path(os.path.abspath(cwd / out)) if out else cwd / posixpath.basename(
        path.rstrip("/"))
    if os.path.lexists(dest):
        raise UsageError(f"'{dest}' already exists", hint="choose another path with -o")
    with work_folder(dest.parent) as work, open_source(repo, cwd, work) as src:
        revision = src.git.resolve(rev or "HEAD")
        _, pointer, sub = find_output(outputs_at(src, revision), path, revision)
        config = config_at(src, revision, work)
        objects = SourceObjects(config, src.base, work / "objects", cache_dir(src, config))
        return export(objects, pointer, sub, dest, progress)


def export(objects: SourceObjects, pointer: Pointer, sub: str | None, dest: Path,
           progress: Progress) -> GetResult:
    """Download the output `pointer` names (or its file `sub`) into `dest`, verified."""
    files: dict[str, Item] = {}
    execs: set[str] = set()
    if not pointer.is_dir:
        files[""] = Item(pointer.oid, pointer.size, pointer.path)
    else:
        for e in objects.manifest(pointer.oid):
            if sub is None or e.relpath == sub or e.relpath.startswith(sub + "/"):
                rel = "" if e.relpath == sub else e.relpath[len(sub) + 1:] if sub else \
                    e.relpath
                files[rel] = Item(e.oid, e.size, e.relpath)
                if e.isexec:
                    execs.add(rel)
        if not files:
            raise UsageError(f"'{sub}' is not in the tracked folder")
    result = TransferResult()
    unique = list({it.oid: it for it in files.values()}.values())
    progress.begin("Getting", len(unique), sum(it.size or 0 for it in unique))
    local = [it for it in unique if objects.in_own_cache(it.oid)]
    transfer_many(local, objects.fetch, 8, result, progress, point="get")
    rest = [it for it in unique if not objects.in_own_cache(it.oid)]
    staging = objects.store(pointer.oid.algo)
    if rest:  # in batches: a range of a pack at a time
        remote = objects.remote(pointer.oid.algo)
        remote.download_many(rest, staging, jobs=remote.jobs, result=result,
                             progress=progress, point="get")
    progress.end()
    if not result.ok:
        from dvlite.repo.sync.push_pull import raise_failures

        raise_failures(result, objects.opened_remote or "source", "fetched from")
    _materialize(staging, files, execs, dest, objects.store_root.parent / "out")
    return GetResult(dest, len(files), sum(it.size or 0 for it in files.values()), result)


def _materialize(staging: LocalStore, files: dict[str, Item], execs: set[str],
                 dest: Path, tmp: Path) -> None:
    """Copy objects out to `tmp` (in the work folder beside `dest`), then rename it into
    place."""
    try:
        for rel, item in files.items():
            target = tmp / rel if rel else tmp
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staging.path(item.oid), target)
            os.chmod(target, 0o755 if rel in execs else 0o644)
        os.replace(tmp, dest)
    except OSError as exc:  # what was copied goes with the work folder
        raise storage_error(exc, f"writing {dest}") from exc
