"""`dvlite remove` and `dvlite move`: stop tracking, or rename with pointer and ignore entry."""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import replace
from pathlib import Path

from dvlite.core.paths import check_parent_inside, check_relpath, is_within
from dvlite.core.pointer import POINTER_SUFFIX
from dvlite.errors import FormatError, UsageError, storage_error
from dvlite.storage.atomic import atomic_write, temp_path_for
from dvlite.storage.links import Linker
from dvlite.workspace import gitignore
from dvlite.workspace.compare import expected_files
from dvlite.workspace.outputs import (
    Output,
    Target,
    collect_targets,
    pointer_file_for,
    pointer_outputs,
)
from dvlite.workspace.repo import Repo


def _check_can_stage(repo: Repo) -> None:
    if repo.scm is not None and repo.config.core.autostage:
        repo.scm.check_index_unlocked()


def _stage(repo: Repo, changed: list[Path], removed: list[Path]) -> None:
    if repo.scm is None or not repo.config.core.autostage:
        return
    if removed:
        repo.scm.rm_cached(removed)
    existing = [p for p in changed if p.exists()]
    if existing:
        repo.scm.add(existing)
    gone = [p for p in changed if not p.exists()]
    if gone:
        repo.scm.rm_cached(gone)


def remove(repo: Repo, targets: list[str], cwd: Path | None = None) -> list[str]:
    """Delete the pointers and ignore entries; data stays in the workspace and cache."""
    if not targets:
        raise UsageError("nothing to remove", hint="dvlite remove TARGET...")
    with repo.lock():
        _check_can_stage(repo)
        chosen = _pointers_only(collect_targets(repo, targets, cwd))
        if any(t.sub is not None for t in chosen):
            raise UsageError("remove takes tracked outputs, not files inside a tracked folder")
        outputs = {t.output.rel: t.output for t in chosen}
        changed: list[Path] = []
        for out in outputs.values():
            try:
                out.pointer_file.unlink()
            except OSError as exc:
                raise storage_error(exc, f"removing {out.pointer_file}") from exc
            gi = gitignore.remove_entry(out.path)
            if gi is not None:
                changed.append(gi)
            _own_copies(repo, out)
        _stage(repo, changed, [o.pointer_file for o in outputs.values()])
    return sorted(outputs)


def _pointers_only(chosen: list[Target]) -> list[Target]:
    """remove and move edit pointer files: a stage output is the pipeline's to change."""
    for target in chosen:
        out = target.output
        if out.stage is not None:
            raise UsageError(f"'{out.rel}' is an output of stage '{out.stage}', not of a "
                             ".dvl file", hint="change the stage in dvlite.yaml")
    return chosen


def _own_copies(repo: Repo, out: Output) -> None:
    """Turn links into the cache (cache.type hardlink or symlink) into private, writable
    copies: once the data is untracked, an in-place edit must not reach the cache."""
    try:
        expected = expected_files(repo, out, {})
    except FormatError:
        return
    if expected is None:
        return
    copier = Linker(("copy",))
    for rel, oid in expected[0].items():
        dest = out.path / rel if rel else out.path
        obj = repo.cache.path(oid)
        if not _is_link_to(dest, obj):
            continue
        tmp = temp_path_for(dest)
        try:
            copier.place(obj, tmp, expected[1].get(rel, False))
            os.replace(tmp, dest)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise storage_error(exc, f"copying {out.rel} out of the cache") from exc


def _is_link_to(path: Path, obj: Path) -> bool:
    """Is `path` a hardlink of, or a symlink to, cache object `obj`?"""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            return os.path.normpath(path.parent / os.readlink(path)) == os.path.normpath(obj)
        ost = os.stat(obj)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and (st.st_ino, st.st_dev) == (ost.st_ino, ost.st_dev)


def move(repo: Repo, src: str, dst: str, cwd: Path | None = None) -> tuple[str, str]:
    base = Path(os.path.abspath(cwd or Path.cwd()))
    with repo.lock():
        _check_can_stage(repo)
        chosen = _pointers_only(collect_targets(repo, [src], base))
        if len(chosen) != 1 or chosen[0].sub is not None:
            raise UsageError(f"'{src}' is not a tracked output")
        out = chosen[0].output
        dest = Path(os.path.normpath(base / dst))
        if dest.is_dir() and not dest.is_symlink():
            dest = dest / out.path.name
        _check_dest(repo, out, dest)
        if out.path.exists() or out.path.is_symlink():
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(out.path, dest)
            except OSError as exc:
                raise storage_error(exc, f"moving {out.rel} to {repo.rel(dest)}") from exc
        new_pf = pointer_file_for(dest)
        pointer = replace(out.pointer, path=dest.name)
        atomic_write(new_pf, pointer.to_bytes(), locked=True)
        out.pointer_file.unlink()
        changed = [new_pf]
        for gi in (gitignore.remove_entry(out.path), gitignore.add_entry(dest)):
            if gi is not None:
                changed.append(gi)
        _stage(repo, changed, [out.pointer_file])
        return out.rel, repo.rel(dest)


def _check_dest(repo: Repo, out: Output, dest: Path) -> None:
    rel = repo.rel(dest)
    if not is_within(dest, repo.root):
        raise UsageError(f"cannot move to '{rel}': it is outside the repository")
    check_relpath(rel, "destination")
    check_parent_inside(repo.root, dest)
    if dest.exists() or dest.is_symlink() or pointer_file_for(dest).exists():
        raise UsageError(f"cannot move to '{rel}': it already exists")
    if is_within(dest, out.path):
        raise UsageError(f"cannot move '{out.rel}' into itself ('{rel}')")
    if dest.name.endswith(POINTER_SUFFIX):
        raise UsageError(f"cannot move to '{rel}': that is a pointer file name")
    for other in pointer_outputs(repo):
        if other.path != out.path and (is_within(dest, other.path) or is_within(other.path, dest)):
            raise UsageError(f"cannot move to '{rel}': it overlaps tracked output '{other.rel}'")
