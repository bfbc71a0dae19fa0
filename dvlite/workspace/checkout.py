"""Checkout's plan and its application: make outputs match their pointers, from the cache.

A pure plan first (compare), then a safety check that refuses to destroy data that
exists nowhere else (modified and not in the cache) unless forced — and even forced,
such data is saved into the cache before it is replaced — then the writes. Every
file lands under a temp name and is renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

from dvlite._fault import faultpoint
from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.core.paths import check_parent_inside
from dvlite.errors import (
    WorkspaceConflictError,
    storage_error,
)
from dvlite.storage.atomic import TMP_MARK, temp_path_for
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace.compare import OutputState, edited_error, output_state
from dvlite.workspace.discarded import Discarded, write_list
from dvlite.workspace.outputs import Output, Target
from dvlite.workspace.repo import Repo
from dvlite.workspace.scan import WorkFile, hash_files, parallel_spread, scan_dir


@dataclass(frozen=True, slots=True)
class Write:
    dest: Path
    oid: Oid
    isexec: bool
    rel: str


@dataclass
class Plan:
    writes: list[Write] = field(default_factory=list)
    deletes: list[Path] = field(default_factory=list)
    replace_roots: list[Path] = field(default_factory=list)  # obstacles removed with --force
    conflicts: list[str] = field(default_factory=list)
    unsaved: list[WorkFile] = field(default_factory=list)  # uncached data to save first
    missing: list[str] = field(default_factory=list)
    mkdirs: list[Path] = field(default_factory=list)


@dataclass
class CheckoutResult:
    written: int = 0
    deleted: int = 0
    missing: list[str] = field(default_factory=list)
    discarded: list[Discarded] = field(default_factory=list)  # replaced, saved in the cache
    listed_in: Path | None = None  # the `.dvlite/discarded/` list that names them


@dataclass(frozen=True, slots=True)
class Mode:
    force: bool = False
    relink: bool = False  # rewrite even matching files (after a cache.type change)


def _plan_output(repo: Repo, st: OutputState, sub: str | None, plan: Plan, mode: Mode) -> None:
    out = st.output
    if st.obstacle is not None:
        what = "is a symlink" if st.obstacle == "symlink" else "has the wrong type"
        if not mode.force:
            plan.conflicts.append(f"{out.rel} ({what})")
            return
        plan.replace_roots.append(out.path)
        if st.obstacle == "type":
            plan.unsaved.extend(_files_at(out.path))  # saved to the cache before removal
        st.actual, st.files = {}, {}
    if st.expected is None:
        plan.missing.append(out.rel)
        return
    if out.is_dir and sub is None and (not st.exists or st.obstacle is not None):
        plan.mkdirs.append(out.path)  # an empty folder has no file to bring it back
    _plan_writes(repo, st, sub, plan, mode)
    for rel in st.actual:
        if rel not in st.expected and (sub is None or _under(rel, sub)):
            _guard(repo, st, rel, plan, mode.force)
            plan.deletes.append(_dest(out, rel))


def _files_at(path: Path) -> list[WorkFile]:
    """The regular files a forced checkout would remove at `path` (a file or a folder)."""
    st = os.stat(path, follow_symlinks=False)
    if stat.S_ISREG(st.st_mode):
        return [WorkFile("", path, st)]
    return scan_dir(path) if stat.S_ISDIR(st.st_mode) else []


def _plan_writes(repo: Repo, st: OutputState, sub: str | None, plan: Plan, mode: Mode) -> None:
    assert st.expected is not None
    out = st.output
    present = repo.cache.exists_many(st.expected.values())
    for rel, oid in st.expected.items():
        if sub is not None and not _under(rel, sub):
            continue
        have = st.actual.get(rel)
        if have == oid and not mode.relink:
            continue
        if oid not in present:
            plan.missing.append(_join(out.rel, rel))
            continue
        if have is not None and have != oid:
            _check_not_linked(repo, st, rel, oid)
            _guard(repo, st, rel, plan, mode.force)
        plan.writes.append(Write(_dest(out, rel), oid, st.expected_exec.get(rel, False),
                                 _join(out.rel, rel)))


def _check_not_linked(repo: Repo, st: OutputState, rel: str, oid: Oid) -> None:
    """A modified file that *is* the cache object (a hardlink, or a symlink's target) means
    the object itself was edited in place: re-linking it would "restore" the edit."""
    if rel in st.edited:
        raise edited_error(repo, st.output, rel, oid, "")


def _guard(repo: Repo, st: OutputState, rel: str, plan: Plan, force: bool) -> None:
    """Refuse to replace workspace bytes that are not in the cache, unless forced."""
    mode = st.files[rel].stat.st_mode
    if not stat.S_ISREG(mode):  # a symlink or FIFO: replaced, never written through or read
        if not force:
            what = "is a symlink" if stat.S_ISLNK(mode) else "is not a regular file"
            plan.conflicts.append(f"{_join(st.output.rel, rel)} ({what})")
        return
    if repo.cache.exists(st.actual[rel]):
        return
    if force:
        plan.unsaved.append(st.files[rel])
    else:
        plan.conflicts.append(_join(st.output.rel, rel))


def _under(rel: str, sub: str) -> bool:
    return rel == sub or rel.startswith(sub + "/")


def _join(base: str, rel: str) -> str:
    return f"{base}/{rel}" if rel else base


def _dest(out: Output, rel: str) -> Path:
    return out.path / rel if rel else out.path


def plan_checkout(repo: Repo, targets: list[Target], mode: Mode,
                  progress: Progress = NULL_PROGRESS) -> Plan:
    plan = Plan()
    manifests: dict[Oid, Manifest] = {}
    for target in targets:
        st = output_state(repo, target.output, manifests, progress)
        _plan_output(repo, st, target.sub, plan, mode)
    return plan


def _save_unsaved(repo: Repo, unsaved: list[WorkFile]) -> list[Discarded]:
    """--force never destroys the only copy: the replaced bytes go into the cache first,
    and a list keeps them from gc for a while (see `discarded.py`)."""
    # hash_files keys by relpath, which repeats across outputs ("" for every file
    # output): number them so that each one is stored
    oids = hash_files(repo, [replace(f, relpath=str(i)) for i, f in enumerate(unsaved)],
                      store=True)
    return [Discarded(repo.rel(f.path), oids[str(i)]) for i, f in enumerate(unsaved)]


def apply_plan(repo: Repo, plan: Plan, progress: Progress = NULL_PROGRESS) -> CheckoutResult:
    discarded = _save_unsaved(repo, plan.unsaved) if plan.unsaved else []
    saved_in = write_list(repo, discarded)
    for root in plan.replace_roots:
        _remove_any(root)
    for path in plan.deletes:
        _remove_any(path)
    _prune_empty_dirs(plan.deletes)
    for folder in plan.mkdirs:
        check_parent_inside(repo.root, folder)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, f"creating {folder}") from exc
    created = _prepare_parents(repo, plan.writes)
    _remove_stale_temps({w.dest.parent for w in plan.writes})
    faultpoint("checkout.before_writes")
    progress.begin("Checking out", len(plan.writes), 0)
    hashed: list[tuple[os.stat_result, Oid]] = []
    placed = parallel_spread(lambda w: _place(repo, w, w.dest.parent in created),
                             plan.writes, lambda w: w.dest.parent)
    for write, st in placed:
        progress.advance(files=1)
        if st is not None:
            hashed.append((st, write.oid))
    progress.end()
    repo.state.put_many(hashed)
    return CheckoutResult(len(plan.writes), len(plan.deletes), plan.missing, discarded,
                          saved_in)


def _prepare_parents(repo: Repo, writes: list[Write]) -> set[Path]:
    """Check (no symlink leading outside) and create each destination folder once, before
    any file is written: per file, the check alone is a stat of every path component.
    Returns the folders created here: they are empty, so nothing can be in the way."""
    seen: set[Path] = set()
    created: set[Path] = set()
    for write in writes:
        parent = write.dest.parent
        if parent in seen:
            continue
        seen.add(parent)
        check_parent_inside(repo.root, write.dest)
        try:
            if not parent.is_dir():
                parent.mkdir(parents=True)
                created.add(parent)
        except OSError as exc:
            raise storage_error(exc, f"checking out {write.rel}") from exc
    return created


def _place(repo: Repo, write: Write, fresh: bool) -> os.stat_result | None:
    """Write one file. Its folder was checked and created by _prepare_parents; `fresh`:
    that folder was created just now, so no folder can be in the way at `dest`."""
    dest = write.dest
    tmp = temp_path_for(dest)
    try:
        if not fresh and os.path.isdir(dest) and not os.path.islink(dest):
            shutil.rmtree(dest)
        kind = repo.linker.place(repo.cache.path(write.oid), tmp, write.isexec)
        faultpoint("checkout.before_rename")
        os.replace(tmp, dest)
        if kind == "hardlink" and os.path.lexists(tmp):
            # rename(2) is a no-op when both names are links to one inode: the file was
            # already linked to this object, so only the temp name has to go
            os.unlink(tmp)
        faultpoint("checkout.after_rename")
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # a partial copy (disk full) must not stay behind
        raise storage_error(exc, f"checking out {write.rel}") from exc
    if kind in ("copy", "reflink"):
        return os.stat(dest, follow_symlinks=False)
    return None


def _remove_any(path: Path) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise storage_error(exc, f"removing {path}") from exc


def _remove_stale_temps(folders: set[Path]) -> None:
    """Drop temp files a killed checkout left beside the files it is about to rewrite
    (safe: we hold the repository lock, so no other checkout is writing them)."""
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.startswith(".") and TMP_MARK in name:
                with contextlib.suppress(OSError):
                    os.unlink(folder / name)


def _prune_empty_dirs(deleted: list[Path]) -> None:
    parents = sorted({p.parent for p in deleted}, key=lambda p: len(p.parts), reverse=True)
    for folder in parents:
        try:
            folder.rmdir()
        except OSError:
            continue


def checkout_outputs(repo: Repo, outputs: list[Output], force: bool,
                     relink: bool = False) -> CheckoutResult:
    plan = plan_checkout(repo, [Target(o) for o in outputs], Mode(force, relink))
    raise_conflicts(plan)
    return apply_plan(repo, plan)


def raise_conflicts(plan: Plan) -> None:
    if plan.conflicts:
        shown = ", ".join(plan.conflicts[:5])
        more = f" and {len(plan.conflicts) - 5} more" if len(plan.conflicts) > 5 else ""
        raise WorkspaceConflictError(
            f"checkout would overwrite data that is not in the cache: {shown}{more}",
            plan.conflicts,
            hint="dvlite add them to keep the changes, or use --force to discard them "
            "(the discarded data is kept in the cache for gc.grace, listed in "
            ".dvlite/discarded/)",
        )
