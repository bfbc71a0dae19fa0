"""Commands for data on one machine: init, add, status, checkout, remove, move, diff, ls,
fsck, config."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dvlite.cli.complete import remote_names
from dvlite.cli.ui import (
    emit_json,
    human_size,
    out,
    progress,
    report_discarded,
    warn,
    warn_links,
)
from dvlite.errors import IntegrityError, UsageError
from dvlite.workspace.repo import Repo

if TYPE_CHECKING:
    from dvlite.repo.status import OutputStatus

commands = typer.Typer()  # merged into the app by cli/main.py
TARGETS = typer.Argument(None, help="Tracked files or folders (default: all).", show_default=False)
JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
EDITED_IN_PLACE = (
    "a file linked to the cache (cache.type hardlink or symlink) was written to, which "
    "changed the cache object of its previous version; that version survives only on a "
    "remote it was pushed to. `dvlite add` explains how to record the new content")
REMOTE_NAME = typer.Option(None, "-r", help="Remote name for --remote (default: core.remote).",
                           autocompletion=remote_names)


@commands.command()
def init(
    no_scm: bool = typer.Option(False, "--no-scm", help="Use dvlite without git."),
) -> None:
    """Create .dvlite/ in this git repository and stage its config."""
    from dvlite.repo.init import enclosing_repo
    from dvlite.repo.init import init as do_init

    root = Path.cwd()
    if do_init(root, no_scm):
        out(f"Initialised dvlite in {root / '.dvlite'}")
    else:
        out(f"dvlite is already initialised in {enclosing_repo(root)}; nothing changed")


@commands.command()
def add(
    paths: list[str] = typer.Argument(..., help="Files or folders to track.", show_default=False),
    no_stage: bool = typer.Option(False, "--no-stage", help="Do not git add the pointers."),
    as_json: bool = JSON,
) -> None:
    """Hash files or folders into the cache and write PATH.dvl pointers."""
    from dvlite.repo.add import add as do_add

    repo = Repo.find()
    result = do_add(repo, paths, stage=not no_stage, progress=progress())
    for w in result.warnings:
        warn(w)
    warn_links(repo.linker.used)
    if as_json:
        emit_json([{"path": p, **_pointer_dict(ptr)} for p, ptr in result.pointers])
        return
    for path, ptr in result.pointers:
        count = f", {ptr.nfiles} files" if ptr.nfiles is not None else ""
        out(f"added {path} ({human_size(ptr.size)}{count})")
    if result.pointers and (repo.scm is None or no_stage or not repo.config.core.autostage):
        out("to commit the pointers: git add " + " ".join(f"{p}.dvl" for p, _ in result.pointers))


def _pointer_dict(ptr: object) -> dict[str, object]:
    from dvlite.core.pointer import Pointer

    assert isinstance(ptr, Pointer)
    return {"type": ptr.type, "hash": str(ptr.oid), "size": ptr.size, "nfiles": ptr.nfiles}


@commands.command()
def status(
    targets: list[str] | None = TARGETS,
    as_json: bool = JSON,
    exit_code: bool = typer.Option(False, "--exit-code",
                                   help="Exit 1 when anything is out of date."),
    remote: bool = typer.Option(False, "--remote", help="Objects not yet pushed."),
    remote_name: str | None = REMOTE_NAME,
) -> None:
    """Compare the workspace with the pointers and dvlite.lock outputs: modified,
    missing, not in cache."""
    from dvlite.repo.status import status as do_status

    if remote or remote_name:
        from dvlite.cli.remote_views import status_remote

        status_remote(targets or [], remote_name, as_json, exit_code)
        return
    repo = Repo.find()
    report = do_status(repo, targets or [], progress=progress())
    dirty = [r for r in report if not r.clean]
    if as_json:
        emit_json({"outputs": [r.to_dict() for r in report], "clean": not dirty})
    elif not dirty:
        out("Data and pointers are up to date." if report else "No tracked data.")
    else:
        _print_dirty(dirty)
    if exit_code and dirty:
        raise typer.Exit(1)


def _print_dirty(dirty: list[OutputStatus]) -> None:
    for r in dirty:
        if r.missing:
            out(f"  missing:      {r.path}")
        for m in r.modified:
            out(f"  modified:     {m}")
        if r.not_in_cache:
            out(f"  not in cache: {r.path} ({r.not_in_cache} objects)")
        for c in r.corrupt:
            out(f"  corrupt:      {c} (edited in place: its cache object changed too)")
    if any(r.corrupt for r in dirty):
        warn(EDITED_IN_PLACE)


@commands.command()
def checkout(
    targets: list[str] | None = TARGETS,
    force: bool = typer.Option(False, "--force", "-f",
                               help="Replace modified data (kept in the cache for gc.grace "
                               "and listed in .dvlite/discarded/)."),
    as_json: bool = JSON,
) -> None:
    """Make the workspace match the pointers and dvlite.lock outputs, from the cache."""
    from dvlite.repo.checkout import checkout as do_checkout

    repo = Repo.find()
    result = do_checkout(repo, targets or [], force=force, progress=progress())
    warn_links(repo.linker.used)
    if as_json:
        emit_json({"written": result.written, "deleted": result.deleted,
                   "discarded": [{"path": d.path, "hash": str(d.oid),
                                  "saved_as": repo.rel(repo.cache.path(d.oid))}
                                 for d in result.discarded]})
        return
    report_discarded(repo, result)
    if result.written or result.deleted:
        out(f"checked out {result.written} files, removed {result.deleted}")
    else:
        out("Workspace already matches the pointers.")


@commands.command()
def remove(targets: list[str] = typer.Argument(..., show_default=False,
                                               help="Tracked outputs to stop tracking.")) -> None:
    """Stop tracking outputs (data stays in the workspace and cache)."""
    from dvlite.repo.remove import remove as do_remove

    for rel in do_remove(Repo.find(), targets):
        out(f"stopped tracking {rel}")


@commands.command()
def move(src: str = typer.Argument(..., help="A tracked output."),
         dst: str = typer.Argument(..., help="New path (or an existing folder).")) -> None:
    """Rename a tracked file or folder with its pointer and .gitignore entry."""
    from dvlite.repo.remove import move as do_move

    old, new = do_move(Repo.find(), src, dst)
    out(f"moved {old} -> {new}")


@commands.command()
def diff(
    a: str | None = typer.Argument(None, help="Old revision (default HEAD)."),
    b: str | None = typer.Argument(None, help="New revision (default: the workspace)."),
    as_json: bool = JSON,
) -> None:
    """Data changes between two revisions, or a revision and the workspace."""
    from dvlite.repo.diff import diff as do_diff

    result = do_diff(Repo.find(), a, b)
    if as_json:
        emit_json(result.to_dict())
        return
    ch = result.changes
    for label, paths in (("added", ch.added), ("modified", ch.modified), ("deleted", ch.deleted)):
        for p in paths:
            out(f"{label + ':':10} {p}")
    if ch.clean:
        out("No data changes.")


@commands.command("ls")
def ls_cmd(rev: str | None = typer.Argument(None, help="Git revision (default: workspace)."),
           as_json: bool = JSON,
           remote: bool = typer.Option(False, "--remote", help="Also: on the remote?"),
           remote_name: str | None = REMOTE_NAME) -> None:
    """List tracked outputs (.dvl and dvlite.lock) with hash, size and whether cached."""
    from dvlite.repo.ls import ls as do_ls

    if remote or remote_name:
        from dvlite.cli.remote_views import ls_remote

        ls_remote(rev, remote_name, as_json)
        return
    items = do_ls(Repo.find(), rev)
    if as_json:
        emit_json([i.to_dict() for i in items])
        return
    for i in items:
        cached = "cached" if i.cached else "not cached"
        out(f"{i.path}\t{i.type}\t{i.oid}\t{human_size(i.size)}\t{cached}")


@commands.command()
def fsck(as_json: bool = JSON,
         remote: bool = typer.Option(False, "--remote", help="Check the remote's copies."),
         remote_name: str | None = REMOTE_NAME,
         repair: bool = typer.Option(False, "--repair", help="With --remote: delete the "
                                     "copies found bad there (on two reads) and unusable "
                                     "pack indexes, so that a push from a machine that has "
                                     "the data replaces them. Never deletes for a size a "
                                     "pointer gets wrong.")
         ) -> None:
    """Re-hash every cache object; report corrupt or missing ones (exit 3)."""
    from dvlite.repo.fsck import fsck as do_fsck

    if remote or remote_name:
        from dvlite.cli.remote_views import fsck_remote

        fsck_remote(remote_name, as_json, repair)
        return
    if repair:
        raise UsageError("--repair works with --remote (a corrupt cache object is moved "
                         "aside by fsck itself)")
    result = do_fsck(Repo.find(), progress=progress())
    if as_json:
        emit_json(result.to_dict())
    else:
        for oid in result.corrupt:
            out(f"corrupt: {oid} (moved to the cache's bad/ folder)")
        for item in result.missing:
            out(f"missing: {item}")
        out(f"checked {result.checked} objects: {len(result.corrupt)} corrupt, "
            f"{len(result.missing)} missing")
    if not result.ok:
        raise typer.Exit(IntegrityError.exit_code)


@commands.command()
def config(
    key: str = typer.Argument(..., help="e.g. core.remote or remote.NAME.url"),
    value: str | None = typer.Argument(None, help="New value (omit to read)."),
    local: bool = typer.Option(False, "--local", help="Write .dvlite/config.local (not in "
                               "git): needed for cache.dir, secrets and '~' in urls."),
    unset: bool = typer.Option(False, "--unset", help="Remove the key."),
) -> None:
    """Read or write a config value."""
    from dvlite.repo import configure

    repo = Repo.find()
    if value is None and not unset:
        current = configure.get_value(repo, key)
        out(str(current).lower() if isinstance(current, bool) else str(current))
        return
    if value is not None and unset:
        raise UsageError("give a value or --unset, not both")
    if value is None:
        configure.unset_value(repo, key, local=local)
        return
    written = configure.set_value(repo, key, value, local=local)
    warn_links(written.link_types, chosen=True)
