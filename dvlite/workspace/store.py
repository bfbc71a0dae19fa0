"""Storing a workspace file or folder in the cache: its objects first, a folder's
manifest last, so a pointer written from the result never names a missing object."""

from __future__ import annotations

import os
import stat as st_mod
from pathlib import Path

from dvlite._fault import faultpoint
from dvlite.core.manifest import case_collisions
from dvlite.core.paths import check_utf8
from dvlite.core.pointer import Pointer
from dvlite.errors import UsageError, storage_error
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace.repo import Repo
from dvlite.workspace.scan import (
    WorkFile,
    cache_link,
    dir_manifest,
    hash_files,
    scan_dir,
    unsupported,
)


def store_path(
    repo: Repo, path: Path, progress: Progress = NULL_PROGRESS, warnings: list[str] | None = None
) -> Pointer:
    """Put a file or folder into the cache; returns the pointer describing it."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        raise UsageError(f"'{repo.rel(path)}' does not exist") from None
    except OSError as exc:
        raise storage_error(exc, f"reading {path}") from exc
    link = cache_link(repo.cache.root, path) if st_mod.S_ISLNK(st.st_mode) else None
    if st_mod.S_ISREG(st.st_mode) or link is not None:
        work = WorkFile("", *link) if link is not None else WorkFile("", path, st)
        oids = hash_files(repo, [work], store=True, progress=progress)
        return Pointer(path.name, "file", oids[""], work.stat.st_size)
    if not st_mod.S_ISDIR(st.st_mode):
        raise unsupported(path, st)
    files = scan_dir(path, repo.cache.root)
    for f in files:  # before any byte is hashed or stored
        if not f.relpath.isascii():
            check_utf8(f"{repo.rel(path)}/{f.relpath}")
    clashes = case_collisions(f.relpath for f in files)
    if clashes and warnings is not None:
        a, b = clashes[0]
        warnings.append(f"'{a}' and '{b}' differ only in case: they clash on macOS/Windows")
    oids = hash_files(repo, files, store=True, progress=progress)
    manifest = dir_manifest(repo, files, oids)
    faultpoint("add.before_manifest")
    oid = repo.cache.add_bytes(manifest.to_bytes())
    return Pointer(path.name, "dir", oid, manifest.size, len(manifest))
