"""`dvlite doctor`: the facts to paste into a bug report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from dvlite.cli.complete import remote_names
from dvlite.cli.ui import emit_json, out, redact, warn

if TYPE_CHECKING:
    from dvlite.repo.doctor import RepoFacts, Report

commands = typer.Typer()  # merged into the app by cli/main.py


@commands.command()
def doctor(
    remote: bool = typer.Option(False, "--remote", help="Also ask each remote for its "
                                "format (contacts it)."),
    remote_name: str | None = typer.Option(None, "-r", help="Only this remote (implies "
                                           "--remote).", autocompletion=remote_names),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Versions, platform, cache, remotes and link support, for bug reports."""
    from dvlite.repo.doctor import doctor as do_doctor

    report = do_doctor(check_remotes=remote or remote_name is not None, remote=remote_name)
    if as_json:
        data = report.to_dict()
        repo = data["repository"]
        if isinstance(repo, dict):
            for r in repo["remotes"]:
                r["url"] = redact(r["url"])
        emit_json(data)
        return
    _print(report)


def _print(report: Report) -> None:
    out(f"dvlite {report.dvlite}")
    out(f"python {report.python} {report.executable}")
    out(f"platform {report.platform}")
    out(f"git {report.git or 'not found'}")
    out("dependencies: " + ", ".join(f"{name} {version or '(not installed)'}"
                                     for name, version in report.dependencies.items()))
    out(f"user: {'root' if report.root_user else 'not root'}")
    if report.repository is None:
        out(f"repository: none ({report.problem})")
    else:
        _print_repo(report.repository)
    for line in report.warnings:
        warn(line)


def _print_repo(repo: RepoFacts) -> None:
    out(f"repository: {repo.root}")
    out(f"cache: {repo.cache_dir} (cache.type {repo.cache_type}, hash {repo.hash})")
    out("links in the cache folder: " + ", ".join(
        f"{kind} {'yes' if ok else 'no'}" for kind, ok in repo.links.items()))
    if not repo.remotes:
        out("remotes: none")
    for r in repo.remotes:
        notes = [*(["default"] if r.default else []),
                 f"layout {r.layout}{' (option)' if r.layout_option else ''}"]
        checked = f"; remote says: {r.checked}" if r.checked is not None else ""
        out(f"remote {r.name}: {redact(r.url)} ({', '.join(notes)}){checked}")
