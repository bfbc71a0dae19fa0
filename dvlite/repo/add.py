"""`dvlite add`: hash files into the cache and record them in pointer files.

Order (crash-safe): objects into the cache, then the folder manifest, then the pointer
(atomically), then `.gitignore`, then `git add`. A kill at any point leaves at worst
unreferenced objects, and running `add` again finishes the job.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dvlite._fault import faultpoint
from dvlite.core.paths import check_parent_inside, check_relpath, is_within
from dvlite.core.pointer import POINTER_SUFFIX, Pointer
from dvlite.errors import ScmError, UsageError
from dvlite.storage.atomic import atomic_write
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace import gitignore
from dvlite.workspace.checkout import checkout_outputs
from dvlite.workspace.compare import edited_error, edited_since
from dvlite.workspace.outputs import Output, pointer_file_for, pointer_outputs, tracked_outputs
from dvlite.workspace.repo import Repo
from dvlite.workspace.store import store_path

NAME_MAX = 255


@dataclass
class AddResult:
    pointers: list[tuple[str, Pointer]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0


def _check_target(repo: Repo, path: Path, outputs: list[Output]) -> None:
    rel = repo.rel(path)
    if not is_within(path, repo.root) or rel == ".":
        raise UsageError(f"cannot add '{rel}': it is not inside the repository")
    check_relpath(rel, "path")
    check_parent_inside(repo.root, path)
    if path.name.endswith(POINTER_SUFFIX):
        raise UsageError(f"cannot add '{rel}': it is a pointer file")
    if len(os.fsencode(path.name + POINTER_SUFFIX)) > NAME_MAX:
        raise UsageError(f"cannot add '{rel}': its pointer file name would be longer than "
                         f"{NAME_MAX} bytes", hint="rename it, or track its folder instead")
    for out in outputs:
        if out.stage is not None and is_within(path, out.path):
            raise UsageError(f"cannot add '{rel}': it is output '{out.rel}' of stage "
                             f"'{out.stage}', which `dvlite repro` records")
        if out.path != path and is_within(path, out.path):
            raise UsageError(f"cannot add '{rel}': it is inside tracked folder '{out.rel}'",
                             hint=f"dvlite add {out.rel}")
        if out.path != path and is_within(out.path, path):
            raise UsageError(f"cannot add '{rel}': it contains tracked output '{out.rel}'",
                             hint=f"dvlite remove {out.rel} first")


def _check_git(repo: Repo, paths: list[Path]) -> None:
    """Refuse data git already tracks, and pointers git would ignore (they could not be
    committed, and dvlite, listing pointers through git, would not see them)."""
    assert repo.scm is not None
    in_git = repo.scm.tracked(paths)
    if in_git:
        raise UsageError(f"'{in_git[0]}' is already tracked by git",
                         hint=f"git rm -r --cached '{in_git[0]}' and run add again")
    pointers = [os.path.relpath(pointer_file_for(p), repo.scm.root) for p in paths]
    listing = ("\0".join(pointers) + "\0").encode("utf-8", "surrogateescape")
    try:
        out = repo.scm.run("check-ignore", "-z", "--stdin", input_bytes=listing)
    except ScmError:
        return  # exit 1: none is ignored
    ignored = [p.decode(errors="replace") for p in out.split(b"\0") if p]
    if ignored:
        raise UsageError(f"cannot add: pointer file '{ignored[0]}' would be ignored by git",
                         hint="change the .gitignore rule that matches it")


def _check_nesting(repo: Repo, paths: list[Path]) -> None:
    """Two targets of one command must not be inside each other (nested outputs)."""
    chosen = set(paths)
    for path in paths:
        for parent in path.parents:
            if parent in chosen:
                raise UsageError(f"cannot add both '{repo.rel(parent)}' and "
                                 f"'{repo.rel(path)}': one is inside the other")
            if parent == repo.root:
                break


def add(
    repo: Repo,
    targets: Sequence[str],
    stage: bool = True,
    cwd: Path | None = None,
    progress: Progress = NULL_PROGRESS,
) -> AddResult:
    base = Path(os.path.abspath(cwd or Path.cwd()))
    paths = list(dict.fromkeys(Path(os.path.normpath(base / t)) for t in targets))
    if not paths:
        raise UsageError("nothing to add", hint="dvlite add PATH...")
    result = AddResult()
    stager = repo.scm if stage and repo.config.core.autostage else None
    with repo.lock():
        if stager is not None:
            stager.check_index_unlocked()
        tracked = tracked_outputs(repo)
        for path in paths:
            _check_target(repo, path, tracked)
        _check_nesting(repo, paths)
        if repo.scm is not None:
            _check_git(repo, paths)
        to_stage: list[Path] = []
        previous = {o.path: o for o in tracked}
        for path in paths:
            pointer = store_path(repo, path, progress, result.warnings)
            if path in previous:
                _refuse_edited(repo, previous[path], pointer)
            faultpoint("add.after_cache")
            to_stage.extend(_record(path, pointer))
            result.pointers.append((repo.rel(path), pointer))
            result.files += pointer.nfiles if pointer.nfiles is not None else 1
        _relink(repo, result)
        if stager is not None:
            faultpoint("add.before_stage")
            stager.add(to_stage)
    return result


def _refuse_edited(repo: Repo, old: Output, new: Pointer) -> None:
    """Never record, as a new version, content that was written into the cache through
    a link: the previous version's cache object is damaged, and a pointer to the new
    content would hide that until someone needs the old version."""
    edited = edited_since(repo, old, new)
    if edited:
        rel, oid = next(iter(sorted(edited.items())))
        more = f" (and {len(edited) - 1} more files)" if len(edited) > 1 else ""
        raise edited_error(repo, old, rel, oid, f"{more}; nothing was recorded")


def _record(path: Path, pointer: Pointer) -> list[Path]:
    """Write the pointer and the .gitignore entry; returns the files to stage."""
    pf = pointer_file_for(path)
    data = pointer.to_bytes()
    try:
        current = pf.read_bytes() if pf.is_file() and not pf.is_symlink() else None
    except OSError:
        current = None
    if current != data:
        atomic_write(pf, data, locked=True)
    faultpoint("add.after_pointer")
    changed = [pf]
    gi = gitignore.add_entry(path)
    if gi is not None or (path.parent / ".gitignore").exists():
        changed.append(path.parent / ".gitignore")
    return changed


def _relink(repo: Repo, result: AddResult) -> None:
    """With hardlink/symlink cache types, replace workspace copies by links to the cache."""
    if repo.linker.types[0] not in ("hardlink", "symlink"):
        return
    rels = {rel for rel, _ in result.pointers}
    outs = [o for o in pointer_outputs(repo) if o.rel in rels]
    checkout_outputs(repo, outs, force=False, relink=True)
