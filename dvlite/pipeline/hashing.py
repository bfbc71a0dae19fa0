"""Hashes of stage dependencies and outputs in the workspace, in one batch.

All paths a decision needs are hashed with a single `hash_files` call (the state db
answers for unchanged files), and remembered until a stage rewrites them.
"""

from __future__ import annotations

import os
import stat as st_mod
from collections.abc import Iterable

from dvlite.core.lockfile import HashInfo
from dvlite.core.manifest import Manifest, ManifestEntry
from dvlite.errors import storage_error
from dvlite.workspace.repo import Repo
from dvlite.workspace.scan import WorkFile, hash_files, scan_dir, unsupported


class WorkspaceHashes:
    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self._memo: dict[str, HashInfo | None] = {}

    def get(self, path: str) -> HashInfo | None:
        """The hash of repository-relative `path`, or None when it does not exist."""
        if path not in self._memo:
            self.prefetch([path])
        return self._memo[path]

    def forget(self, paths: Iterable[str]) -> None:
        """Drop what is known about `paths` and anything inside them or containing them
        (a dependency may be a file inside an output folder, or a folder around it)."""
        for path in paths:
            stale = [k for k in self._memo
                     if k == path or k.startswith(path + "/") or path.startswith(k + "/")]
            for key in stale:
                del self._memo[key]

    def remember(self, info: HashInfo) -> None:
        self._memo[info.path] = info

    def prefetch(self, paths: Iterable[str]) -> None:
        todo = sorted({p for p in paths if p not in self._memo})
        files: list[WorkFile] = []
        dirs: dict[str, list[WorkFile]] = {}
        for rel in todo:
            full = self.repo.root / rel
            try:
                st = os.stat(full, follow_symlinks=False)
            except FileNotFoundError:
                self._memo[rel] = None
                continue
            except OSError as exc:
                raise storage_error(exc, f"reading {rel}") from exc
            if st_mod.S_ISREG(st.st_mode):
                files.append(WorkFile(rel, full, st))
            elif st_mod.S_ISDIR(st.st_mode):
                inner = scan_dir(full)
                dirs[rel] = inner
                files.extend(WorkFile(f"{rel}/{f.relpath}", f.path, f.stat) for f in inner)
            else:
                raise unsupported(full, st)
        oids = hash_files(self.repo, files) if files else {}
        sizes = {f.relpath: f.stat.st_size for f in files}
        for rel in todo:
            if rel in dirs:
                manifest = Manifest.build(self.repo.cache.algo, (
                    ManifestEntry(f.relpath, oids[f"{rel}/{f.relpath}"], f.stat.st_size,
                                  f.isexec) for f in dirs[rel]))
                self._memo[rel] = HashInfo(rel, manifest.oid(), manifest.size, len(manifest))
            elif rel not in self._memo:
                self._memo[rel] = HashInfo(rel, oids[rel], sizes[rel])
