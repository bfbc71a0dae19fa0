"""CLI commands for the model registry: the `model` group (register, assign, unassign,
deprecate, list, show), each tag in GTO's format."""

from __future__ import annotations

from typing import Any

import typer

from dvlite.cli.ui import emit_json, human_size, out
from dvlite.workspace.repo import Repo

JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
MESSAGE = typer.Option(None, "-m", "--message", help="Tag message (default: GTO's).")

model_app = typer.Typer(help="Model registry: versions and stages as git tags (GTO's format).",
                        no_args_is_help=True)


def _said(tagged: Any, as_json: bool, what: str) -> None:
    if as_json:
        emit_json(tagged.to_dict())
        return
    out(f"Created tag '{tagged.tag}' {what} ({tagged.commit[:7]})")
    out(f"  push it: git push origin {tagged.tag}")


@model_app.command("register")
def register_cmd(
    name: str = typer.Argument(..., help="Artifact name (declared under artifacts:)."),
    rev: str = typer.Argument("HEAD", help="Git revision to register."),
    *,
    version: str | None = typer.Option(None, "--version", help="vX.Y.Z (default: bump)."),
    bump: str | None = typer.Option(None, "--bump", help="major, minor or patch."),
    message: str | None = MESSAGE,
    as_json: bool = JSON,
) -> None:
    """Register a version: tag NAME@vX.Y.Z at REV (first v0.0.1, then a patch bump)."""
    from dvlite.repo.registry.tags import register

    tagged = register(Repo.find(), name, rev, version=version, bump=bump, msg=message)
    _said(tagged, as_json, f"registering version {tagged.version}")


@model_app.command("assign")
def assign_cmd(
    name: str = typer.Argument(..., help="Artifact name."),
    stage: str = typer.Argument(..., help="Stage, e.g. prod."),
    version: str | None = typer.Option(None, "--version", help="vX.Y.Z (default: latest)."),
    message: str | None = MESSAGE,
    as_json: bool = JSON,
) -> None:
    """Assign a version to a stage: tag NAME#STAGE#N on its commit."""
    from dvlite.repo.registry.tags import assign

    tagged = assign(Repo.find(), name, stage, version, message)
    _said(tagged, as_json, f"assigning {tagged.version} to '{stage}'")


@model_app.command("unassign")
def unassign_cmd(
    name: str = typer.Argument(..., help="Artifact name."),
    stage: str = typer.Argument(..., help="Stage to take the version out of."),
    message: str | None = MESSAGE,
    as_json: bool = JSON,
) -> None:
    """Take the version out of a stage: tag NAME#STAGE!#N."""
    from dvlite.repo.registry.tags import unassign

    tagged = unassign(Repo.find(), name, stage, message)
    _said(tagged, as_json, f"unassigning {tagged.version} from '{stage}'")


@model_app.command("deprecate")
def deprecate_cmd(
    name: str = typer.Argument(..., help="Artifact name."),
    version: str | None = typer.Option(None, "--version",
                                       help="Deregister this version (NAME@vX.Y.Z!)."),
    message: str | None = MESSAGE,
    as_json: bool = JSON,
) -> None:
    """Deprecate the artifact (NAME@deprecated) or one version (NAME@vX.Y.Z!)."""
    from dvlite.repo.registry.tags import deprecate

    tagged = deprecate(Repo.find(), name, version, message)
    _said(tagged, as_json, f"deregistering {version}" if version else "deprecating it")


@model_app.command("list")
def list_cmd(as_json: bool = JSON) -> None:
    """Every artifact: latest version and the version in each stage."""
    from dvlite.repo.registry.show import list_artifacts

    rows = list_artifacts(Repo.find())
    if as_json:
        emit_json(rows)
        return
    if not rows:
        out("no artifacts (declare them under artifacts: in dvlite.yaml)")
    for r in rows:
        stages = ", ".join(f"{s}={v}" for s, v in r["stages"].items()) or "-"
        dep = "  (deprecated)" if r["deprecated"] else ""
        out(f"{r['name']}  {r['type'] or '-'}  {r['path'] or '-'}  latest {r['latest'] or '-'}"
            f"  stages {stages}{dep}")


@model_app.command("show")
def show_cmd(name: str = typer.Argument(..., help="Artifact name."),
             as_json: bool = JSON) -> None:
    """Each version: commit, date, author, message, hash and size, stages, lineage."""
    from dvlite.repo.registry.show import show

    infos = show(Repo.find(), name)
    if as_json:
        emit_json([i.to_dict() for i in infos])
        return
    for i in infos:
        gone = " (deregistered)" if i.deregistered else ""
        out(f"{name} {i.version}{gone}  {i.commit[:7]}  {i.date}  {i.author}")
        out(f"  message: {i.message}")
        size = human_size(i.size) if i.size is not None else "-"
        out(f"  {i.path or '-'}  {i.hash or '-'}  {size}")
        out(f"  stages: {', '.join(i.stages) or '-'}")
        lin = i.lineage
        if lin.get("stage"):
            out(f"  produced by stage '{lin['stage']}': {lin['cmd']}")
            for d in lin["deps"]:
                out(f"    dep {d['path']}  {d['hash']}")
            for file, values in lin["params"].items():
                out(f"    params {file}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
        for file, values in lin.get("metrics", {}).items():
            out(f"    metrics {file}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
