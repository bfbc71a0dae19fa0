"""Reading the workspace: listing tracked files and folders and hashing them.

Hashes come from the state db when a file's fingerprint is unchanged; only the rest are
read, concurrently, and recorded again.
"""

from __future__ import annotations

import errno
import gc
import os
import stat as st_mod
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import TypeVar

from dvlite.core.manifest import Manifest, ManifestEntry
from dvlite.core.oid import Oid
from dvlite.errors import StorageError, UsageError, storage_error
from dvlite.storage.atomic import TMP_MARK
from dvlite.storage.hashing import hash_file
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.state import fingerprint
from dvlite.workspace.repo import Repo

# A file modified within this window after its mtime could change again within the same
# timestamp tick, so its hash is used but not remembered (git's "racy clean" problem).
RACY_NS = 20_000_000
WORKERS = min(8, 2 * (os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class WorkFile:
    relpath: str  # relative to the output root ("" for a single-file output)
    # A plain string from folder scans: building a Path per file costs more than the
    # lstat itself on big folders, and the os functions take either.
    fspath: str | Path
    stat: os.stat_result

    @property
    def path(self) -> Path:
        p = self.fspath
        return p if isinstance(p, Path) else Path(p)

    @property
    def isexec(self) -> bool:
        return bool(self.stat.st_mode & 0o100)


def unsupported(path: Path, st: os.stat_result) -> UsageError:
    if st_mod.S_ISLNK(st.st_mode):
        return UsageError(f"refusing to follow symlink '{path}'",
                          hint="dvlite tracks regular files and folders only")
    return UsageError(f"unsupported file type: '{path}' is not a regular file or folder")


def cache_link(cache_root: Path, path: Path) -> tuple[Path, os.stat_result] | None:
    """For a workspace symlink to a cache object (`cache.type = symlink`): the object's path
    and stat. None for any other symlink, and for a link whose object is gone (the file
    then counts as missing, so checkout re-creates it)."""
    try:
        target = Path(os.path.normpath(path.parent / os.readlink(path)))
        parts = target.relative_to(cache_root).parts
    except (OSError, ValueError):
        return None
    if len(parts) != 3 or not parts[2].startswith(parts[1]):
        return None
    try:
        st = os.stat(target, follow_symlinks=False)
    except OSError:
        return None
    return (target, st) if st_mod.S_ISREG(st.st_mode) else None


def is_cache_link(cache_root: Path, path: Path) -> bool:
    """A symlink pointing into the cache, whether or not its object still exists."""
    try:
        target = Path(os.path.normpath(path.parent / os.readlink(path)))
    except OSError:
        return False
    return target.is_relative_to(cache_root)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around an allocation burst (tens of thousands
    of small acyclic objects): each burst would trigger full collections over every
    object the interpreter holds, and they would free nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan_dir(top: Path, cache_root: Path | None = None,
             links: list[WorkFile] | None = None) -> list[WorkFile]:
    """Every regular file under `top`, sorted; symlinks and special files are errors,
    except links to cache objects under `cache_root`, which stand for the object (read
    through the link, so an in-place edit of the object shows as a change). With `links`,
    other symlinks and special files are collected there (never opened) instead of being
    errors."""
    with gc_paused():
        return _scan_dir(top, cache_root, links)


def _scan_dir(top: Path, cache_root: Path | None,
              links: list[WorkFile] | None) -> list[WorkFile]:
    out: list[WorkFile] = []
    others: list[WorkFile] = []
    stack = [(os.fspath(top), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise storage_error(exc, f"listing {folder}") from exc
        try:
            _scan_folder(fd, folder, prefix, stack=stack, out=out, others=others)
        finally:
            os.close(fd)
    for found in others:
        if st_mod.S_ISLNK(found.stat.st_mode) and cache_root is not None:
            _scan_link(cache_root, found, out, links)
        elif links is None:
            raise unsupported(found.path, found.stat)
        else:
            links.append(found)  # a FIFO, socket or device
    out.sort(key=attrgetter("relpath"))
    return out


def _scan_folder(fd: int, folder: str, prefix: str, *, stack: list[tuple[str, str]],
                 out: list[WorkFile], others: list[WorkFile]) -> None:
    """One folder, listed and stat'ed through its descriptor: each lstat is then an
    fstatat of one name, not a walk of the whole path (a tenth of a no-op status)."""
    try:
        entries = list(os.scandir(fd))
    except OSError as exc:
        raise storage_error(exc, f"listing {folder}") from exc
    is_reg = st_mod.S_ISREG
    for entry in entries:
        name = entry.name
        if TMP_MARK in name:
            continue
        rel = f"{prefix}{name}"
        path = f"{folder}/{name}"
        if entry.is_dir(follow_symlinks=False):
            stack.append((path, rel + "/"))
            continue
        est = entry.stat(follow_symlinks=False)
        (out if is_reg(est.st_mode) else others).append(WorkFile(rel, path, est))


def _scan_link(cache_root: Path, found: WorkFile, out: list[WorkFile],
               links: list[WorkFile] | None) -> None:
    """A symlink met by `scan_dir`: a cache link stands for its object, a link to a
    missing object counts as missing, any other is collected in `links` or refused."""
    link = cache_link(cache_root, found.path)
    if link is not None:
        out.append(WorkFile(found.relpath, *link))
    elif is_cache_link(cache_root, found.path):
        return
    elif links is not None:
        links.append(found)
    else:
        raise unsupported(found.path, found.stat)


def hash_files(
    repo: Repo,
    files: list[WorkFile],
    store: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> dict[str, Oid]:
    """Oid of each file (by relpath); with `store`, every file also ends up in the cache."""
    with gc_paused():
        return _hash_files(repo, files, store, progress)


def _hash_files(repo: Repo, files: list[WorkFile], store: bool,
                progress: Progress) -> dict[str, Oid]:
    known = repo.state.get_many(f.stat for f in files)
    result: dict[str, Oid] = {}
    todo: list[WorkFile] = []
    for f in files:
        oid = known.get(f.stat.st_ino)
        if oid is not None and oid.algo == repo.cache.algo:
            result[f.relpath] = oid
        else:
            todo.append(f)
    if store:
        present = repo.cache.exists_many(result.values())
        for f in files:
            if f.relpath in result and result[f.relpath] not in present:
                del result[f.relpath]
                todo.append(f)
    total = sum(f.stat.st_size for f in todo)
    progress.begin("Hashing" if not store else "Adding", len(todo), total)
    work = _storer(repo, progress) if store else _hasher(repo, progress)
    records: list[tuple[os.stat_result, Oid]] = []
    now = time.time_ns()
    for f, (oid, after) in zip(todo, parallel_map(work, todo), strict=True):
        result[f.relpath] = oid
        if fingerprint(after) == fingerprint(f.stat) and now - after.st_mtime_ns > RACY_NS:
            records.append((after, oid))
    progress.end()
    repo.state.put_many(records)
    return result


HashFn = Callable[[WorkFile], tuple[Oid, os.stat_result]]
T = TypeVar("T")
R = TypeVar("R")


def parallel_map(fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
    """`fn` over `items` on the worker threads, results in order; the first error is
    raised. Items go in batches: a future per small file costs as much as the file."""
    size = _batch_size(len(items))
    for results in _run_batches(fn, [items[i : i + size] for i in range(0, len(items), size)]):
        yield from results


def parallel_spread(fn: Callable[[T], R], items: Sequence[T],
                    group: Callable[[T], Hashable]) -> Iterator[tuple[T, R]]:
    """Like `parallel_map`, for writers: a batch holds items of one group (a folder) and
    batches side by side come from different groups, since threads creating files in
    one folder queue on its lock. Yields (item, result) in batch order."""
    size = _batch_size(len(items))
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(group(item), []).append(item)
    chunked = [[g[i : i + size] for i in range(0, len(g), size)] for g in groups.values()]
    rounds = max(map(len, chunked), default=0)
    batches = [c[r] for r in range(rounds) for c in chunked if r < len(c)]
    for batch, results in zip(batches, _run_batches(fn, batches), strict=True):
        yield from zip(batch, results, strict=True)


def _batch_size(count: int) -> int:
    return max(1, min(64, count // (WORKERS * 4)))


def _run_batches(fn: Callable[[T], R], batches: Sequence[Sequence[T]]) -> Iterator[list[R]]:
    def run(batch: Sequence[T]) -> list[R]:
        return [fn(item) for item in batch]

    with ThreadPoolExecutor(WORKERS) as pool:
        try:
            yield from pool.map(run, batches)
        except BaseException:  # an interrupt: finish the batches in flight, start no more
            pool.shutdown(cancel_futures=True)
            raise


def _hasher(repo: Repo, progress: Progress) -> HashFn:
    algo = repo.cache.algo

    def run(f: WorkFile) -> tuple[Oid, os.stat_result]:
        try:
            oid, _ = hash_file(f.fspath, algo, progress)
            after = os.stat(f.fspath, follow_symlinks=False)
        except OSError as exc:
            raise storage_error(exc, f"reading {f.path}") from exc
        progress.advance(files=1)
        return oid, after

    return run


def _storer(repo: Repo, progress: Progress) -> HashFn:
    cache = repo.cache

    def run(f: WorkFile) -> tuple[Oid, os.stat_result]:
        try:
            oid, size = cache.add_file(f.fspath, progress, f.stat.st_size)
            after = os.stat(f.path, follow_symlinks=False)
        except OSError as exc:
            # a kernel-side copy fails on either end: a full disk can only be the cache's
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
            what = "writing to the cache" if full else f"reading {f.path}"
            raise storage_error(exc, what) from exc
        if size != f.stat.st_size or fingerprint(after) != fingerprint(f.stat):
            # the pointer or manifest would record a size (and the state db a hash) that
            # the stored bytes do not have
            raise StorageError(f"'{f.path}' changed while it was being added",
                               hint="add it again once nothing is writing to it")
        progress.advance(files=1)
        return oid, after

    return run


def dir_manifest(repo: Repo, files: list[WorkFile], oids: dict[str, Oid]) -> Manifest:
    return Manifest.build(
        repo.cache.algo,
        (ManifestEntry(f.relpath, oids[f.relpath], f.stat.st_size, f.isexec) for f in files),
    )
