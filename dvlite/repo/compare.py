"""Workspace versus pointers, per output: what is missing, modified, or not cached."""

from __future__ import annotations

import os
import stat as st_mod
from dataclasses import dataclass, field

from dvlite.core.diff import Changes, compare
from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.errors import MissingObjectsError
from dvlite.repo.outputs import Output, load_manifest
from dvlite.repo.repo import Repo
from dvlite.repo.workspace import WorkFile, dir_manifest, hash_files, scan_dir
from dvlite.storage.progress import NULL_PROGRESS, Progress


@dataclass
class OutputState:
    """One output compared with the workspace; file keys are relative to the output
    ("" for a single-file output)."""

    output: Output
    expected: dict[str, Oid] | None  # None: the folder manifest is not in the cache
    expected_exec: dict[str, bool] = field(default_factory=dict)
    actual: dict[str, Oid] = field(default_factory=dict)
    files: dict[str, WorkFile] = field(default_factory=dict)
    exists: bool = True
    obstacle: str | None = None  # 'symlink' or 'type': the path itself is in the way
    workspace_oid: Oid | None = None  # folder hash of the workspace, when computed
    changes: Changes = field(default_factory=Changes)

    @property
    def missing(self) -> bool:
        return not self.exists

    @property
    def modified(self) -> bool:
        if self.obstacle is not None:
            return True
        if not self.exists:
            return False
        if self.expected is None:
            return self.workspace_oid != self.output.pointer.oid
        return not self.changes.clean


def expected_files(repo: Repo, out: Output, manifests: dict[Oid, Manifest]) -> (
    tuple[dict[str, Oid], dict[str, bool]] | None
):
    if not out.is_dir:
        return {"": out.pointer.oid}, {}
    try:
        manifest = load_manifest(repo, out.pointer.oid, manifests)
    except MissingObjectsError:
        return None
    return ({e.relpath: e.oid for e in manifest}, {e.relpath: e.isexec for e in manifest})


def output_state(
    repo: Repo, out: Output, manifests: dict[Oid, Manifest] | None = None,
    progress: Progress = NULL_PROGRESS,
) -> OutputState:
    manifests = {} if manifests is None else manifests
    exp = expected_files(repo, out, manifests)
    state = OutputState(out, exp[0] if exp else None, exp[1] if exp else {})
    try:
        st = os.stat(out.path, follow_symlinks=False)
    except FileNotFoundError:
        state.exists = False
        state.changes = compare(state.expected or {}, {})
        return state
    if st_mod.S_ISLNK(st.st_mode):
        state.obstacle = "symlink"
        return state
    want_dir = out.is_dir
    if want_dir != st_mod.S_ISDIR(st.st_mode) or not (want_dir or st_mod.S_ISREG(st.st_mode)):
        state.obstacle = "type"
        return state
    files = scan_dir(out.path) if want_dir else [WorkFile("", out.path, st)]
    state.files = {f.relpath: f for f in files}
    state.actual = hash_files(repo, files, progress=progress)
    if state.expected is None:
        state.workspace_oid = dir_manifest(repo, files, state.actual).oid()
    else:
        state.changes = compare(state.expected, state.actual)
    return state


def missing_objects(repo: Repo, state: OutputState) -> list[Oid]:
    """The objects this output needs that are not in the cache."""
    if state.expected is None:
        return [state.output.pointer.oid]
    needed = set(state.expected.values())
    return sorted(needed - repo.cache.exists_many(needed))
