"""CLI commands for git integration: install, uninstall, and the hidden `hook` and
`merge-driver` commands that the installed hooks and git's merge machinery call."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from dvlite.cli.ui import emit_json, err, out, progress, warn
from dvlite.errors import DvliteError
from dvlite.workspace.repo import Repo

commands = typer.Typer()  # merged into the app by cli/main.py
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")


@commands.command()
def install(as_json: bool = JSON) -> None:
    """Install dvlite's git hooks (existing hooks are kept and chained) and register the
    merge driver for pointer files and dvlite.lock. A hook git tracks (a committed
    core.hooksPath folder) is never changed: install then refuses."""
    from dvlite.repo.githooks.install import install as do_install

    report = do_install(Repo.find())
    if as_json:
        emit_json(report.to_dict())
        return
    for reason in report.skipped:
        warn(f"hook not installed: {reason}")
    for name in report.chained:
        out(f"kept the existing {name} hook: it now runs first, from {name}.dvlite-chained")
    if report.installed:
        out(f"installed hooks {', '.join(report.installed)} in {report.hooks_dir}")
    elif not report.skipped:
        out(f"hooks already installed in {report.hooks_dir}; nothing changed")
    if report.attributes_added:
        out("registered the dvlite merge driver in .gitattributes (commit it to share it)")


@commands.command()
def uninstall(as_json: bool = JSON) -> None:
    """Remove dvlite's git hooks (restoring hooks they chained) and the merge driver."""
    from dvlite.repo.githooks.install import uninstall as do_uninstall

    report = do_uninstall(Repo.find())
    if as_json:
        emit_json(report.to_dict())
        return
    for name in report.restored:
        out(f"restored your {name} hook")
    if report.removed:
        out(f"removed hooks {', '.join(report.removed)} from {report.hooks_dir}")
        out("the .gitattributes entries stay: they are shared through git, and without the "
            "driver git merges those files as text")
    else:
        out("no dvlite hooks were installed; nothing removed")


@commands.command("hook", hidden=True, context_settings=_PASS_THROUGH)
def hook(
    name: str = typer.Argument(..., help="Hook name, e.g. post-checkout."),
    args: list[str] | None = typer.Argument(None, help="The arguments git gave the hook."),
) -> None:
    """Run one git hook's logic (called by the scripts `dvlite install` puts in place)."""
    if os.environ.get("DVLITE_SKIP_HOOKS") == "1":
        return
    stdin = b""
    if name == "pre-push" and sys.stdin is not None and not sys.stdin.isatty():
        stdin = sys.stdin.buffer.read()
    args, stdin = _framework_input(name, args or [], stdin)
    from dvlite.repo.githooks.install import hook_roots

    # every dvlite repository in this git work tree (one at the top, or several in
    # subfolders of a monorepo); none when hooks installed globally run elsewhere
    code = 0
    for root in hook_roots(Path.cwd()):
        code = max(code, _run_one(Repo(root), name, args, stdin))
    if code:
        raise typer.Exit(code)


def _run_one(repo: Repo, name: str, args: list[str], stdin: bytes) -> int:
    from dvlite.repo.githooks.run import run_hook
    from dvlite.repo.githooks.types import HookCall

    try:
        outcome = run_hook(repo, name, HookCall(args, stdin, progress()))
    except Exception as exc:
        if not name.startswith("post-"):
            raise
        # git has already moved (and post-checkout's status would become git's): warn only
        msg = exc.msg if isinstance(exc, DvliteError) else f"unexpected {type(exc).__name__}: {exc}"
        warn(f"dvlite {name} hook: {msg}")
        return 0
    finally:
        repo.close()
    for line in outcome.warnings:
        warn(line)
    for line in outcome.messages:
        err(line)
    return outcome.code


def _framework_input(name: str, args: list[str], stdin: bytes) -> tuple[list[str], bytes]:
    """The pre-commit framework passes refs in PRE_COMMIT_* variables, not as git does."""
    env = os.environ
    if name == "post-checkout" and not args and "PRE_COMMIT_CHECKOUT_TYPE" in env:
        args = [env.get("PRE_COMMIT_FROM_REF", ""), env.get("PRE_COMMIT_TO_REF", ""),
                env["PRE_COMMIT_CHECKOUT_TYPE"]]
    elif name == "post-rewrite" and not args and "PRE_COMMIT_REWRITE_COMMAND" in env:
        args = [env["PRE_COMMIT_REWRITE_COMMAND"]]
    elif name == "pre-push" and not stdin.strip() and env.get("PRE_COMMIT_TO_REF"):
        remote_sha = env.get("PRE_COMMIT_FROM_REF") or "0" * 40
        line = (f"{env.get('PRE_COMMIT_LOCAL_BRANCH', 'HEAD')} {env['PRE_COMMIT_TO_REF']} "
                f"{env.get('PRE_COMMIT_REMOTE_BRANCH', 'HEAD')} {remote_sha}\n")
        stdin = line.encode()
        args = [env.get("PRE_COMMIT_REMOTE_NAME", "origin"), env.get("PRE_COMMIT_REMOTE_URL", "")]
    return args, stdin


@commands.command("merge-driver", hidden=True)
def merge_driver(
    base: Path = typer.Argument(..., help="%O: the common ancestor's version."),
    ours: Path = typer.Argument(..., help="%A: our version; receives the result."),
    theirs: Path = typer.Argument(..., help="%B: their version."),
    path: str = typer.Argument(..., help="%P: the path in the repository."),
) -> None:
    """Merge a pointer file or dvlite.lock three-way (git calls this during merges)."""
    from dvlite.repo.githooks.merge_driver import merge_files

    result = merge_files(base, ours, theirs, path, Path.cwd())
    if not result.clean:
        err(f"dvlite: merge conflict in {path}:")
        for item in result.conflicts:
            err(f"  {item}")
        if path.endswith(".dvl"):
            err(f"hint: keep one side (git checkout --ours/--theirs {path}), "
                "`dvlite checkout` it, redo the other side's changes, `dvlite add`")
        raise typer.Exit(1)
