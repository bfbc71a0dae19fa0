"""CLI commands for remotes (registered on the app by importing this module): `remote ...`,
`push`, `fetch`, `pull`, `gc`, `get`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from dvlite.cli.app import app
from dvlite.cli.complete import remote_names
from dvlite.cli.ui import emit_json, human_size, out, progress, warn, warn_links
from dvlite.errors import ConfigError, UsageError
from dvlite.workspace.repo import Repo

remote_app = typer.Typer(help="Add, list, change and remove remotes.", no_args_is_help=True)
app.add_typer(remote_app, name="remote")

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
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_KNOWN_SCHEMES = ("s3", "s3a", "file")


def redact(url: str) -> str:
    """Hide a password embedded in a URL (scheme://user:secret@host)."""
    return re.sub(r"(://[^/:@]+):[^/@]+@", r"\1:***@", url)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise UsageError(f"invalid remote name '{name}'",
                         hint="use letters, digits, '_', '-' and '.'")


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
    from dvlite import config as cfg

    _check_name(name)
    repo = Repo.find()
    existing = repo.config.remotes().get(name)
    if existing is not None and existing.url and not force:
        raise ConfigError(f"remote '{name}' already exists", hint="use --force to replace it")
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme and scheme not in _KNOWN_SCHEMES:
        warn(f"'{scheme}://' goes through fsspec as is: it is not verified by dvlite's tests")
    repo.config.check_write(f"remote.{name}.url", url, local)
    target = repo.config.local_path if local else repo.config.shared_path
    if force:
        cfg.remove_section(target, ["remote", name])
    cfg.edit(target, f"remote.{name}.url", url)
    if default:
        cfg.edit(target, "core.remote", name)
    out(f"added remote '{name}': {redact(url)}" + (" (default)" if default else ""))


@remote_app.command("list")
def remote_list(as_json: bool = JSON) -> None:
    """List remotes (secrets are never shown)."""
    from dvlite.config import SECRET_KEYS

    repo = Repo.find()
    default = repo.config.get("core.remote")
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
    from dvlite import config as cfg

    repo = Repo.find()
    c = repo.config
    removed = [cfg.remove_section(p, ["remote", name]) for p in (c.shared_path, c.local_path)]
    if not any(removed):
        raise ConfigError(f"unknown remote '{name}'")
    for path in (c.shared_path, c.local_path):
        if cfg.read_toml(path).get("core", {}).get("remote") == name:
            cfg.edit(path, "core.remote", None)
    out(f"removed remote '{name}'")


@remote_app.command("default")
def remote_default(
    name: str = NAME,
    local: bool = typer.Option(False, "--local", help="Write .dvlite/config.local."),
) -> None:
    """Set the default remote (core.remote)."""
    from dvlite import config as cfg

    repo = Repo.find()
    repo.config.require_remote(name)
    cfg.edit(repo.config.local_path if local else repo.config.shared_path, "core.remote", name)
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
    from dvlite import config as cfg

    repo = Repo.find()
    repo.config.require_remote(name)
    if key not in cfg.REMOTE_KEYS:
        raise ConfigError(f"unknown remote option '{key}'",
                          hint="known: " + ", ".join(sorted(cfg.REMOTE_KEYS)))
    full = f"remote.{name}.{key}"
    target = repo.config.local_path if local else repo.config.shared_path
    if unset or value is None:
        if not unset:
            raise UsageError("give a VALUE, or --unset")
        cfg.edit(target, full, None)
        return
    parsed = cfg.coerce(full, value)
    repo.config.check_write(full, parsed, local)
    cfg.edit(target, full, parsed)


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


@app.command()
def push(targets: list[str] | None = TARGETS, *, remote: str | None = REMOTE,
         jobs: int | None = JOBS, rev: list[str] | None = REVS,
         all_commits: bool = ALL_COMMITS, run_cache: bool = RUN_CACHE,
         as_json: bool = JSON) -> None:
    """Upload the objects the pointers need (at the workspace or the given revisions)."""
    _move("push", targets=targets, remote=remote, jobs=jobs, revs=rev,
          all_commits=all_commits, run_cache=run_cache, as_json=as_json)


@app.command()
def fetch(targets: list[str] | None = TARGETS, *, remote: str | None = REMOTE,
          jobs: int | None = JOBS, rev: list[str] | None = REVS,
          all_commits: bool = ALL_COMMITS, run_cache: bool = RUN_CACHE,
          as_json: bool = JSON) -> None:
    """Download missing objects into the cache (verified), without touching the workspace."""
    _move("fetch", targets=targets, remote=remote, jobs=jobs, revs=rev,
          all_commits=all_commits, run_cache=run_cache, as_json=as_json)


@app.command()
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
        from dvlite.cli.core_cmds import report_discarded

        report_discarded(repo, done)
    if not as_json and written:
        out(f"checked out {written} files")
    raise_failures(result, name, "fetched from")


# -- `--remote` views, called from status / fsck / ls in core_cmds ------------------------


def status_remote(targets: list[str], remote: str | None, as_json: bool,
                  exit_code: bool) -> None:
    from dvlite.repo.sync.check import remote_status

    report = remote_status(Repo.find(), targets, remote)
    if as_json:
        emit_json(report.to_dict())
    elif report.clean:
        out(f"Everything is on remote '{report.remote}'.")
    else:
        for path, count in sorted(report.not_pushed.items()):
            out(f"  not on remote: {path} ({count} objects)")
        out(f"run `dvlite push` to upload them to '{report.remote}'")
    if exit_code and not report.clean:
        raise typer.Exit(1)


def fsck_remote(remote: str | None, as_json: bool, repair: bool) -> None:
    from dvlite.repo.fsck import fsck as local_fsck
    from dvlite.repo.sync.check import remote_fsck

    repo = Repo.find()
    local = local_fsck(repo, progress=progress())
    result = remote_fsck(repo, remote, progress=progress(), repair=repair)
    if as_json:
        emit_json({"cache": local.to_dict(), **result.to_dict()})
    else:
        for oid in local.corrupt:
            out(f"corrupt in cache: {oid} (moved to the cache's bad/ folder)")
        out(f"checked {local.checked} cache objects: {len(local.corrupt)} corrupt")
        for label, items in (("missing on remote", result.missing),
                             ("wrong size on remote", result.wrong_size),
                             ("corrupt on remote", result.corrupt),
                             ("bad copy on remote (an intact one remains)", result.bad_copies),
                             ("unreadable pack index", result.unreadable),
                             ("wrong size in pointer (the object is intact)",
                              result.bad_pointers)):
            for item in items:
                out(f"{label}: {item}")
        out(f"checked {result.checked} objects on '{result.remote}': "
            f"{len(result.missing)} missing, {len(result.wrong_size)} wrong size, "
            f"{len(result.corrupt)} corrupt")
        if result.removed or result.removed_indexes:
            out(f"removed bad copies of {len(result.removed)} objects and "
                f"{len(result.removed_indexes)} unusable indexes from '{result.remote}': "
                "push again from a machine that has the data")
        if result.bad_pointers:
            out("a pointer that is wrong about a size is fixed in the pointer (restore it "
                "from git history, or `dvlite add` the file again), never on the remote")
    if local.corrupt or not result.ok:
        raise typer.Exit(3)


def ls_remote(rev: str | None, remote: str | None, as_json: bool) -> None:
    from dvlite.repo.ls import ls as do_ls
    from dvlite.repo.ls import object_closure
    from dvlite.repo.sync.check import on_remote
    from dvlite.workspace.outputs import outputs_at, tracked_outputs

    repo = Repo.find()
    items = do_ls(repo, rev)
    found = outputs_at(repo, rev) if rev else tracked_outputs(repo)
    manifests: dict[Any, Any] = {}
    closures = {o.rel: object_closure(repo, o, manifests) for o in found}
    there = on_remote(repo, remote, closures)
    if as_json:
        emit_json([{**i.to_dict(), "on_remote": there.get(i.path, False)} for i in items])
        return
    for i in items:
        cached = "cached" if i.cached else "not cached"
        pushed = "on remote" if there.get(i.path) else "not on remote"
        out(f"{i.path}\t{i.type}\t{i.oid}\t{human_size(i.size)}\t{cached}\t{pushed}")


# gc and get live in their own module; importing it registers them.
from dvlite.cli import gc_get_cmds  # noqa: E402

__all__ = ["gc_get_cmds"]
