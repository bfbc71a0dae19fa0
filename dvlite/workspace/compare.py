"""Workspace versus pointers, per output: what is missing, modified, or not cached."""

from __future__ import annotations

import contextlib
import os
import stat as st_mod
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from dvlite.core.diff import Changes, compare
from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid, hash_bytes
from dvlite.core.pointer import Pointer
from dvlite.errors import IntegrityError, MissingObjectsError, storage_error
from dvlite.storage.hashing import hash_file
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace.outputs import Output, load_manifest
from dvlite.workspace.repo import Repo
from dvlite.workspace.scan import (
    WorkFile,
    cache_link,
    dir_manifest,
    hash_files,
    is_cache_link,
    scan_dir,
)
from dvlite.workspace.snapshot import Snapshot


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
    cached_missing: list[Oid] | None = None  # missing objects, when already looked up
    # Changed files that are the cache object of their pointed-at version (a hardlink to
    # it, or a symlink into the cache): edited in place, so that object is damaged.
    edited: list[str] = field(default_factory=list)

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
    progress: Progress = NULL_PROGRESS, quick: bool = False,
) -> OutputState:
    """Compare one output with the workspace.

    With `quick` (for `status`), a folder whose scan matches a recorded clean snapshot is
    reported clean without reading its manifest or the state of each file; such a state
    has an empty `expected` and must not be used to plan writes.
    """
    manifests = {} if manifests is None else manifests
    kind = _kind_at(repo, out)
    files = None
    snap = None
    links: list[WorkFile] = []  # symlinks inside a folder: in the way, never followed
    if isinstance(kind, WorkFile):
        started = time.time_ns()
        files = scan_dir(out.path, repo.cache.root, links) if out.is_dir else [kind]
        if quick and out.is_dir:
            snap = Snapshot.take(repo, out, [*files, *links], started)
            if snap.recorded(repo):
                return OutputState(out, {}, cached_missing=[])
    exp = expected_files(repo, out, manifests)
    state = OutputState(out, exp[0] if exp else None, exp[1] if exp else {})
    if files is None:
        if kind in ("missing", "gone"):  # a link to a missing object is re-created
            state.exists = False
            state.changes = compare(state.expected or {}, {})
        else:
            state.obstacle = str(kind)
        return state
    state.files = {f.relpath: f for f in files}
    state.actual = hash_files(repo, files, progress=progress)
    _same_algo(state)
    for link in links:  # counts as a changed file; checkout replaces it only with --force
        state.files[link.relpath] = link
        state.actual[link.relpath] = link_oid(repo.cache.algo, link)
    if state.expected is None:
        state.workspace_oid = dir_manifest(repo, files, state.actual).oid()
    else:
        state.changes = compare(state.expected, state.actual)
        state.edited = edited_links(repo, state.expected, state.actual,
                                    {rel: f.stat for rel, f in state.files.items()})
    if snap is not None:
        _remember_clean(repo, state, snap)
    return state


def edited_links(repo: Repo, expected: Mapping[str, Oid], actual: Mapping[str, Oid],
                 stats: Mapping[str, os.stat_result]) -> list[str]:
    """The files (keys of `expected`) whose content no longer hashes to their expected
    object although they are that very cache object: a hardlink to it or a symlink into
    the cache (`stats` follow cache links). Writing to one wrote into the cache, which
    file permissions do not stop when running as root. Only changed files are checked:
    one stat each."""
    edited = []
    for rel, want in expected.items():
        got, st = actual.get(rel), stats.get(rel)
        if got is None or st is None or got == want:
            continue
        try:
            obj = os.stat(repo.cache.path(want))
        except OSError:
            continue
        if (obj.st_dev, obj.st_ino) == (st.st_dev, st.st_ino):
            edited.append(rel)
    return sorted(edited)


def edited_since(repo: Repo, old: Output, new: Pointer) -> dict[str, Oid]:
    """The files of `old` whose new content (in `new`, just hashed) was written through a
    link into the cache object of their old version (see `edited_links`), with the id
    of that damaged object."""
    if old.pointer.oid == new.oid or old.is_dir != new.is_dir:
        return {}
    manifests: dict[Oid, Manifest] = {}
    before = expected_files(repo, old, manifests)
    after = expected_files(repo, replace(old, pointer=new), manifests)
    if before is None or after is None:
        return {}
    stats = {}
    for rel, oid in after[0].items():
        if before[0].get(rel, oid) != oid:
            with contextlib.suppress(OSError):
                stats[rel] = os.stat(old.path / rel if rel else old.path)
    return {rel: before[0][rel] for rel in edited_links(repo, before[0], after[0], stats)}


def edited_error(repo: Repo, out: Output, rel: str, oid: Oid, outcome: str) -> IntegrityError:
    """The error for a cache object changed through a link (`edited_links`)."""
    path = out.path / rel if rel else out.path
    shown = repo.rel(path)
    hint = ("run `dvlite fsck` to set it aside, then `dvlite add` the file to keep the "
            "edit, or `dvlite pull` to get the original back (from a remote it was pushed "
            "to: the cache held its only copy here)")
    if path.is_symlink():  # once set aside, the link would lead nowhere
        hint = (f'copy the edit out of the cache first (cp --remove-destination '
                f'"$(readlink {shown})" {shown}), then {hint}')
    return IntegrityError(
        f"cache object {oid} was modified in place through the link '{shown}'{outcome}",
        hint=hint)


def _same_algo(state: OutputState) -> None:
    """Pointers written before a `core.hash` change keep their algorithm: re-hash those
    files with it, or unchanged data would look modified (and block checkout)."""
    for rel, want in (state.expected or {}).items():
        got = state.actual.get(rel)
        if got is not None and got.algo != want.algo:
            f = state.files[rel]
            try:
                state.actual[rel] = hash_file(f.fspath, want.algo)[0]
            except OSError as exc:
                raise storage_error(exc, f"reading {f.path}") from exc


def link_oid(algo: str, f: WorkFile) -> Oid:
    """A stand-in hash for a symlink (its target's text, never what it points at) or a
    special file (its type): something no regular file's content hashes to."""
    if st_mod.S_ISLNK(f.stat.st_mode):
        return hash_bytes(algo, b"symlink\0" + os.fsencode(os.readlink(f.fspath)))
    return hash_bytes(algo, b"special\0%o" % st_mod.S_IFMT(f.stat.st_mode))


def _kind_at(repo: Repo, out: Output) -> WorkFile | str:
    """What is at an output's path: the file to hash (the folder itself for a dir), or
    'missing', 'symlink' / 'type' (something in the way), or 'gone' (a link to a missing
    object)."""
    try:
        st = os.stat(out.path, follow_symlinks=False)
    except FileNotFoundError:
        return "missing"
    if st_mod.S_ISLNK(st.st_mode):
        link = None if out.is_dir else cache_link(repo.cache.root, out.path)
        if link is not None:
            return WorkFile("", *link)
        if not out.is_dir and is_cache_link(repo.cache.root, out.path):
            return "gone"
        return "symlink"
    ok = st_mod.S_ISDIR(st.st_mode) if out.is_dir else st_mod.S_ISREG(st.st_mode)
    return WorkFile("", out.path, st) if ok else "type"


def _remember_clean(repo: Repo, state: OutputState, snap: Snapshot) -> None:
    """After a full comparison: find the missing objects now (status needs them) and, if
    the folder is clean, fully cached and settled, record the snapshot."""
    if state.expected is None or not state.changes.clean:
        return
    needed = set(state.expected.values())
    state.cached_missing = sorted(needed - repo.cache.exists_many(needed))
    if not state.cached_missing and snap.settled():
        snap.record(repo)


def missing_objects(repo: Repo, state: OutputState) -> list[Oid]:
    """The objects this output needs that are not in the cache."""
    if state.cached_missing is not None:
        return state.cached_missing
    if state.expected is None:
        return [state.output.pointer.oid]
    needed = set(state.expected.values())
    return sorted(needed - repo.cache.exists_many(needed))
