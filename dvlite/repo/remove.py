"""`dvlite remove` and `dvlite move`: stop tracking, or rename with pointer and ignore entry."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from dvlite.core.paths import check_parent_inside, check_relpath, is_within
from dvlite.core.pointer import POINTER_SUFFIX
from dvlite.errors import UsageError, storage_error
from dvlite.repo import gitignore
from dvlite.repo.outputs import Output, all_outputs, collect_targets, pointer_file_for
from dvlite.repo.repo import Repo
from dvlite.storage.atomic import atomic_write


def _stage(repo: Repo, changed: list[Path], removed: list[Path]) -> None:
    if repo.scm is None or not repo.config.get("core.autostage"):
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
        chosen = collect_targets(repo, targets, cwd)
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
        _stage(repo, changed, [o.pointer_file for o in outputs.values()])
    return sorted(outputs)


def move(repo: Repo, src: str, dst: str, cwd: Path | None = None) -> tuple[str, str]:
    base = Path(os.path.abspath(cwd or Path.cwd()))
    with repo.lock():
        chosen = collect_targets(repo, [src], base)
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
        atomic_write(new_pf, pointer.to_bytes())
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
    for other in all_outputs(repo):
        if other.path != out.path and (is_within(dest, other.path) or is_within(other.path, dest)):
            raise UsageError(f"cannot move to '{rel}': it overlaps tracked output '{other.rel}'")
