"""`dvlite fsck`: re-hash every cache object; quarantine and report corrupt ones, and
report objects the workspace's pointers need but the cache lacks."""

from __future__ import annotations

import errno
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.errors import FormatError, MissingObjectsError, storage_error
from dvlite.storage.hashing import hash_file
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace.outputs import load_manifest, tracked_outputs
from dvlite.workspace.repo import Repo
from dvlite.workspace.scan import WORKERS


@dataclass
class FsckResult:
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)  # oids, moved to cache/bad
    missing: list[str] = field(default_factory=list)  # "oid (path)"

    @property
    def ok(self) -> bool:
        return not (self.corrupt or self.missing)

    def to_dict(self) -> dict[str, object]:
        return {"checked": self.checked, "corrupt": self.corrupt, "missing": self.missing}


def fsck(repo: Repo, progress: Progress = NULL_PROGRESS) -> FsckResult:
    cache = repo.cache
    oids = list(cache.iter_oids())
    total = sum(_size(cache.path(o)) for o in oids)
    progress.begin("Checking", len(oids), total)

    def check(oid: Oid) -> bool:
        path = cache.path(oid)
        try:
            actual, _ = hash_file(path, oid.algo, progress)
        except FileNotFoundError:
            return True  # deleted since the listing (gc): nothing left to check
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return False  # a symlink is never a valid object
            raise storage_error(exc, f"reading cache object {path}") from exc
        finally:
            progress.advance(files=1)
        return actual == oid

    result = FsckResult(checked=len(oids))
    with ThreadPoolExecutor(WORKERS) as pool:
        for oid, good in zip(oids, pool.map(check, oids), strict=True):
            if not good:
                _quarantine(repo, oid)
                result.corrupt.append(str(oid))
    progress.end()
    result.missing = _missing(repo)
    return result


def _size(path: os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _quarantine(repo: Repo, oid: Oid) -> None:
    """Move a corrupt object aside (like git-lfs's lfs/bad) so add or pull can repair it."""
    bad = repo.cache.root / "bad"
    bad.mkdir(exist_ok=True)
    os.replace(repo.cache.path(oid), bad / oid.hex)


def _missing(repo: Repo) -> list[str]:
    missing = []
    manifests: dict[Oid, Manifest] = {}
    for out in tracked_outputs(repo):
        oid = out.pointer.oid
        if not repo.cache.exists(oid):
            missing.append(f"{oid} ({out.rel})")
            continue
        if not out.is_dir:
            continue
        try:
            manifest = load_manifest(repo, oid, manifests)
        except (MissingObjectsError, FormatError):
            missing.append(f"{oid} ({out.rel})")
            continue
        present = repo.cache.exists_many(e.oid for e in manifest)
        missing.extend(f"{e.oid} ({out.rel}/{e.relpath})" for e in manifest if e.oid not in present)
    return missing
