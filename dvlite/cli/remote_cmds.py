"""CLI commands for remotes: the `remote` group (add, list, remove, default, modify,
upgrade), and `push`, `fetch`, `pull`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dvlite.cli.complete import remote_names
from dvlite.cli.ui import (
    emit_json,
    human_size,
    out,
    progress,
    redact,
    report_discarded,
    warn,
    warn_links,
)
from dvlite.errors import UsageError
from dvlite.workspace.repo import Repo

commands = typer.Typer()  # merged into the app by cli/main.py
remote_app = typer.Typer(help="Add, list, change and remove remotes.", no_args_is_help=True)

TARGETS = typer.Argument(None, help="Tracked files or folders, or files inside a tracked "
                         "folder (default: all).", show_default=False)
JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
REMOTE = typer.Option(None, "-r", "--remote", help="Remote name (default: core.remote).",
                      autocompletion=remote_names)
NAME = typer.Argument(..., help="Name of the remote.", autocompletion=remote_names)
JOBS = typer.Option(None, "-j", "--jobs", min=1, help="Parallel transfers.")
REVS = typer.Option(None, "--rev", help="Objects used at this git revision (repeatable).")
ALL_COMMITS = typer.Option(False, "--all-commits", help="Objects used at every commit.")
RUN_CACHE = typer.Option(False, "--run-cache", help="Also the run-cache records and the "
                         "outputs they list.")


@remote_app.command("add")
def remote_add(
    name: str = typer.Argument(..., help="Name of the remote."),
    url: str = typer.Argument(..., help="/path, relative/path (from the repository root; "
                              "outside the repository), file:///path, s3://bucket/prefix; "
                              "~/path only with --local"),
    default: bool = typer.Option(False, "--default", "-d", help="Make it the default remote."),
    force: bool = typer.Option(False, "--force", "-f", help="Replace an existing remote."),
    local: bool = typer.Option(False, "--local", help="Write .dvlite/config.local."),
) -> None:
    """Add a remote (stored in .dvlite/config, which is committed)."""
    from dvlite.repo.remotes import add_remote, check_name

    check_name(name)  # refused like any usage error, even outside a repository
    repo = Repo.find()
    for line in add_remote(repo, name, url, default=default, force=force, local=local):
        warn(line)
    out(f"added remote '{name}': {redact(url)}" + (" (default)" if default else ""))


@remote_app.command("list")
def remote_list(as_json: bool = JSON) -> None:
    """List remotes (secrets are never shown)."""
    from dvlite.config import SECRET_KEYS

    repo = Repo.find()
    default = repo.config.core.remote
    items: list[dict[str, Any]] = []
    for name, rc in sorted(repo.config.remotes().items()):
        opts = {k: ("***" if k in SECRET_KEYS else v)
                for k, v in sorted(repo.config.remote_settings(name).items())}
        items.append({"name": name, "url": redact(rc.url) if rc.url else None,
                      "default": name == default, "options": opts})
    if as_json:
        emit_json(items)
        return
    for item in items:
        mark = "\t(default)" if item["default"] else ""
        url = item["url"] or "(no url: options only, not usable)"
        out(f"{item['name']}\t{url}{mark}")


@remote_app.command("remove")
def remote_remove(name: str = NAME) -> None:
    """Remove a remote from config and config.local."""
    from dvlite.repo.remotes import remove_remote

    remove_remote(Repo.find(), name)
    out(f"removed remote '{name}'")


@remote_app.command("default")
def remote_default(
    name: str = NAME,
    local: bool = typer.Option(False, "--local", help="Write .dvlite/config.local."),
) -> None:
    """Set the default remote (core.remote)."""
    from dvlite.repo.remotes import set_default

    set_default(Repo.find(), name, local=local)
    out(f"default remote: {name}")


@remote_app.command("modify")
def remote_modify(
    name: str = NAME,
    key: str = typer.Argument(..., help="endpoint_url, region, profile, jobs, retries, "
                              "connect_timeout, read_timeout, layout, access_key_id, ..."),
    value: str | None = typer.Argument(None, help="New value (omit with --unset)."),
    local: bool = typer.Option(False, "--local", help="Write .dvlite/config.local (secrets)."),
    unset: bool = typer.Option(False, "--unset", help="Remove the option."),
) -> None:
    """Set an option of a remote. Secrets (access_key_id, ...) only with --local."""
    from dvlite.repo import remotes

    repo = Repo.find()
    if unset:
        remotes.unset_option(repo, name, key, local=local)
    elif value is None:
        remotes.check_option(repo, name, key)  # an unknown remote or option comes first
        raise UsageError("give a VALUE, or --unset")
    else:
        remotes.set_option(repo, name, key, value, local=local)


@remote_app.command("upgrade")
def remote_upgrade(
    name: str | None = typer.Argument(None, help="Name of the remote (default: core.remote).",
                                      show_default=False, autocompletion=remote_names),
    as_json: bool = JSON,
) -> None:
    """Move a remote to the current layout (2: small objects are pushed in packs).

    Objects already on the remote stay as they are and stay readable. A dvlite that reads
    only layout 1 refuses the remote afterwards: upgrade every machine's dvlite first.
    """
    from dvlite.repo.sync.plan import repo_remote

    remote = repo_remote(Repo.find(), name)
    before, after = remote.upgrade()
    if as_json:
        emit_json({"remote": remote.name, "layout_before": before, "layout": after})
    elif before == after:
        out(f"remote '{remote.name}' already has layout {after}")
    else:
        out(f"remote '{remote.name}': layout {before} -> {after}")


# -- transfers ----------------------------------------------------------------------------


def _scope(targets: list[str] | None, revs: list[str] | None, all_commits: bool) -> Any:
    from dvlite.repo.sync.plan import Scope

    if revs and all_commits:
        raise UsageError("give --rev or --all-commits, not both")
    return Scope(tuple(targets or ()), tuple(revs or ()), all_commits, Path.cwd())


def _report(verb: str, remote: str, result: Any, as_json: bool,
            extra: dict[str, Any] | None = None) -> None:
    if as_json:
        emit_json({"remote": remote, **result.to_dict(), **(extra or {})})
        return
    for f in result.failed[:20]:
        out(f"  failed: {f.item.path} ({f.item.oid}): {f.error.msg}")
    if len(result.failed) > 20:
        out(f"  ... and {len(result.failed) - 20} more failures")
    moved = result.transferred
    where = "to" if verb == "pushed" else "from"
    if moved:
        out(f"{verb} {moved} objects ({human_size(result.nbytes)}) {where} '{remote}'"
            f"; {result.present} already there")
    if result.records:
        out(f"{verb} {result.records} run-cache records {where} '{remote}'")
    if not moved and not result.records and result.ok:
        out("Everything is up to date.")


def _move(direction: str, *, targets: list[str] | None, remote: str | None,
          jobs: int | None, revs: list[str] | None, all_commits: bool, run_cache: bool,
          as_json: bool) -> None:
    """push or fetch: the same options, scope and report, opposite directions."""
    from dvlite.repo.sync import transfer as sync

    scope = _scope(targets, revs, all_commits)  # a usage error before any config error
    repo = Repo.find()
    name = repo.config.remote(remote).name
    op = sync.push if direction == "push" else sync.fetch
    result = op(repo, scope, name, jobs, progress(), run_cache=run_cache)
    if direction == "push":
        _report("pushed", name, result, as_json)
        sync.raise_failures(result, name, "pushed to")
    else:
        _report("fetched", name, result, as_json)
        sync.raise_failures(result, name, "fetched from")


@commands.command()
def push(targets: list[str] | None = TARGETS, *, remote: str | None = REMOTE,
         jobs: int | None = JOBS, rev: list[str] | None = REVS,
         all_commits: bool = ALL_COMMITS, run_cache: bool = RUN_CACHE,
         as_json: bool = JSON) -> None:
    """Upload the objects the pointers need (at the workspace or the given revisions)."""
    _move("push", targets=targets, remote=remote, jobs=jobs, revs=rev,
          all_commits=all_commits, run_cache=run_cache, as_json=as_json)


@commands.command()
def fetch(targets: list[str] | None = TARGETS, *, remote: str | None = REMOTE,
          jobs: int | None = JOBS, rev: list[str] | None = REVS,
          all_commits: bool = ALL_COMMITS, run_cache: bool = RUN_CACHE,
          as_json: bool = JSON) -> None:
    """Download missing objects into the cache (verified), without touching the workspace."""
    _move("fetch", targets=targets, remote=remote, jobs=jobs, revs=rev,
          all_commits=all_commits, run_cache=run_cache, as_json=as_json)


@commands.command()
def pull(targets: list[str] | None = TARGETS, *, remote: str | None = REMOTE,
         jobs: int | None = JOBS,
         force: bool = typer.Option(False, "--force", "-f", help="Replace modified data "
                                    "(kept in the cache for gc.grace)."),
         run_cache: bool = RUN_CACHE, as_json: bool = JSON) -> None:
    """Fetch, then check out: make the workspace match the pointers."""
    from dvlite.repo.sync.transfer import pull as do_pull
    from dvlite.repo.sync.transfer import raise_failures

    repo = Repo.find()
    name = repo.config.remote(remote).name
    result, done = do_pull(repo, _scope(targets, None, False), name, jobs=jobs, force=force,
                           progress=progress(), run_cache=run_cache)
    warn_links(repo.linker.used)
    written = done.written if done else 0
    _report("fetched", name, result, as_json, {"checked_out": written})
    if done is not None and not as_json:
        report_discarded(repo, done)
    if not as_json and written:
        out(f"checked out {written} files")
    raise_failures(result, name, "fetched from")
