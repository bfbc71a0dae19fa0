"""CLI commands `gc` and `get`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dvlite.cli.complete import remote_names
from dvlite.cli.ui import confirm, emit_json, human_size, out, progress, warn
from dvlite.errors import UsageError
from dvlite.workspace.repo import Repo

commands = typer.Typer()  # merged into the app by cli/main.py
JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")


# -- gc -----------------------------------------------------------------------------------


@commands.command()
def gc(
    workspace: bool = typer.Option(False, "--workspace", "-w",
                                   help="Keep only what the workspace uses."),
    all_commits: bool = typer.Option(False, "--all-commits", "-A",
                                     help="Keep what any commit uses."),
    *,
    remote: bool = typer.Option(False, "--remote", help="Also delete from the remote."),
    remote_name: str | None = typer.Option(None, "-r", help="Remote for --remote.",
                                           autocompletion=remote_names),
    now: bool = typer.Option(False, "--now", help="Ignore gc.grace (remote objects of any "
                             "age; stale uploads too)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would go; delete nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before remote deletion."),
    force: bool = typer.Option(False, "--force", "-f", help="Also on a cache other "
                               "repositories share (deletes objects only they use)."),
    as_json: bool = JSON,
) -> None:
    """Delete objects nothing references (default: all branches, tags and experiments +
    workspace)."""
    import sys

    from dvlite.repo.gc import GcOptions
    from dvlite.repo.gc import gc as do_gc

    if workspace and all_commits:
        raise UsageError("give --workspace or --all-commits, not both")
    scope = "workspace" if workspace else "all" if all_commits else "refs"
    use_remote = remote or remote_name is not None
    repo = Repo.find()
    if use_remote and not dry_run and not yes:
        name = repo.config.remote(remote_name).name
        if not sys.stdin.isatty():
            raise UsageError(f"gc --remote deletes objects from remote '{name}': "
                             "confirm with --yes (or preview with --dry-run)")
        if not confirm(f"Delete unreferenced objects from remote '{name}'?"):
            raise typer.Exit(1)
    result = do_gc(repo, GcOptions(scope, use_remote, remote_name, now, dry_run, force))
    if as_json:
        emit_json(result.to_dict())
    else:
        _gc_report(result, dry_run, use_remote)
    for line in result.warnings:
        warn(line)


def _gc_report(result: Any, dry_run: bool, use_remote: bool) -> None:
    verb = "would delete" if dry_run else "deleted"
    if dry_run:
        for oid, size in result.local:
            out(f"cache\t{oid}\t{size}")
        for oid, size in result.remote:
            out(f"remote\t{oid}\t{size}")
    local_bytes = human_size(sum(s for _, s in result.local))
    out(f"{verb} {len(result.local)} objects ({local_bytes}) from the cache")
    if result.records:
        out(f"{verb} {len(result.records)} run-cache records of runs nothing in scope uses")
    if use_remote:
        remote_bytes = human_size(sum(s for _, s in result.remote))
        out(f"{verb} {len(result.remote)} objects ({remote_bytes}) from remote "
            f"'{result.remote_name}'; kept {result.kept_young} younger than gc.grace")
    if result.temp_removed:
        out(f"removed {result.temp_removed} stale temp files from the cache")
    if result.remote_temp_removed:
        out(f"removed {result.remote_temp_removed} stale temp files from remote "
            f"'{result.remote_name}'")
    if result.uploads_aborted:
        out(f"aborted {result.uploads_aborted} stale multipart uploads on remote "
            f"'{result.remote_name}'")


# -- get ----------------------------------------------------------------------------------


@commands.command("get")
def get_cmd(
    repo: str = typer.Argument(..., help="A git repository: local path (work tree or "
                                "bare), '.', or URL."),
    path: str = typer.Argument(..., help="Tracked file or folder (or a file inside one), "
                               "or a model: NAME@vX.Y.Z, NAME@latest, NAME#STAGE."),
    rev: str | None = typer.Option(None, "--rev", help="Git revision (default HEAD)."),
    output: str | None = typer.Option(None, "-o", "--out", help="Where to write it."),
    as_json: bool = JSON,
) -> None:
    """Export tracked data, or a registered model, from a git repository (no dvlite
    repository needed here). With --rev, PATH is always a path."""
    from dvlite.core.registry import parse_ref
    from dvlite.repo.get import get as do_get

    ref = parse_ref(path) if rev is None else None
    if ref is not None:
        from dvlite.repo.registry.fetch import get_model

        got = get_model(repo, ref, Path(output) if output else None, cwd=Path.cwd(),
                        progress=progress())
        if as_json:
            emit_json(got.to_dict())
        else:
            out(f"wrote {got.result.dest} ({got.artifact} {got.version or '?'}, commit "
                f"{got.commit[:7]}, {human_size(got.result.nbytes)})")
        return
    result = do_get(repo, path, rev, Path(output) if output else None, cwd=Path.cwd(),
                    progress=progress())
    if as_json:
        emit_json({"path": str(result.dest), "files": result.files, "bytes": result.nbytes,
                   **result.transfer.to_dict()})
    else:
        out(f"wrote {result.dest} ({result.files} files, {human_size(result.nbytes)})")
