"""CLI commands for pipelines: repro, commit, dag, and the groups stage (add), params
(diff) and metrics (show, diff, check)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from dvlite.cli.app import INTERRUPTED
from dvlite.cli.complete import stage_names
from dvlite.cli.ui import FLAGS, emit_json, out, progress, warn
from dvlite.errors import DvliteError
from dvlite.workspace.repo import Repo

JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
REV_A = typer.Argument(None, help="Old revision (default: HEAD).", show_default=False)
REV_B = typer.Argument(None, help="New revision (default: the workspace).", show_default=False)

commands = typer.Typer()  # merged into the app by cli/main.py
stage_app = typer.Typer(help="Edit pipeline stages.", no_args_is_help=True)
params_app = typer.Typer(help="Pipeline parameters.", no_args_is_help=True)
metrics_app = typer.Typer(help="Pipeline metrics.", no_args_is_help=True)


def _say(event: str, stage: str, detail: str) -> None:
    lines = {
        "skip": f"Stage '{stage}' is up to date",
        "frozen": f"Stage '{stage}' is frozen, skipping",
        "run": f"Running stage '{stage}' ({detail})",
        "would-run": f"would run '{stage}': {detail}",
        "restored": f"restored {stage} from run cache",
        "done": f"Stage '{stage}' done",
    }
    out(lines.get(event, f"{event} {stage} {detail}"))


@commands.command()
def repro(
    stages: list[str] | None = typer.Argument(None, help="Stages to bring up to date, with "
                                              "their upstream (default: all).",
                                              show_default=False, autocompletion=stage_names),
    force: bool = typer.Option(False, "--force", "-f", help="Run even unchanged stages."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would run and why."),
    jobs: int = typer.Option(1, "-j", "--jobs", min=1, help="Stages to run in parallel."),
    as_json: bool = JSON,
) -> None:
    """Run out-of-date pipeline stages in dependency order and record dvlite.lock."""
    from dvlite.pipeline.repro import ReproOptions
    from dvlite.pipeline.repro import repro as do_repro

    repo = Repo.find()
    options = ReproOptions(force=force, dry_run=dry_run, jobs=jobs,
                           quiet_stdout=as_json or FLAGS.quiet, progress=progress())
    try:
        result = do_repro(repo, stages or [], options, report=_no_say if as_json else _say)
    except KeyboardInterrupt:
        # typer turns KeyboardInterrupt into a silent exit 130; say what happened.
        raise _InterruptedError("interrupted: the running stage was stopped; dvlite.lock keeps "
                           "the stages that finished", hint="run `dvlite repro` again") from None
    for line in result.warnings:
        warn(line)
    if as_json:
        emit_json({"ran": result.ran, "restored": result.restored, "skipped": result.skipped,
                   "would_run": result.would_run})
    elif not result.total:
        out("No stages to run: add some to dvlite.yaml (see `dvlite stage add`).")
    elif not (result.ran or result.restored or result.would_run):
        out("Pipeline is up to date; nothing to run.")


@commands.command("commit")
def commit_cmd(
    stages: list[str] | None = typer.Argument(None, help="Stages to record (default: all).",
                                              show_default=False),
    force: bool = typer.Option(False, "--force", "-f",
                               help="Record even a stage whose command changed."),
    as_json: bool = JSON,
) -> None:
    """Record the current outputs of stages whose command you ran by hand (cache them
    and write dvlite.lock) without running them."""
    from dvlite.pipeline.commit import commit

    result = commit(Repo.find(), stages or [], force)
    if as_json:
        emit_json({"committed": result.committed, "frozen": result.frozen})
        return
    for name in result.committed:
        out(f"Recorded stage '{name}' in dvlite.lock")
    for name in result.frozen:
        out(f"Stage '{name}' is frozen: left as it is")
    if not result.committed and not result.frozen:
        out("No stages to commit.")


class _InterruptedError(DvliteError):
    exit_code = INTERRUPTED


def _no_say(event: str, stage: str, detail: str) -> None:
    del event, stage, detail


@commands.command()
def dag(
    mermaid: bool = typer.Option(False, "--mermaid", help="Print a Mermaid flowchart."),
    dot: bool = typer.Option(False, "--dot", help="Print a Graphviz graph."),
    as_json: bool = JSON,
) -> None:
    """Show the stage graph (each stage with the stages it reads from)."""
    from dvlite.core.dag import render
    from dvlite.errors import UsageError
    from dvlite.pipeline.load import load_pipeline

    if mermaid + dot + as_json > 1:
        raise UsageError("choose one of --mermaid, --dot and --json")
    pipeline = load_pipeline(Repo.find(), check_workspace=False)
    if as_json:
        graph = pipeline.graph
        emit_json({"stages": [{"name": n, "file": graph.stages[n].dvfile,
                               "upstream": list(graph.upstream[n])} for n in graph.order()]})
        return
    text = render(pipeline.graph, "mermaid" if mermaid else "dot" if dot else "text")
    if text:
        out(text)


@stage_app.command("add")
def stage_add(
    cmd: list[str] = typer.Argument(..., help="The command (quote it, or put it after --).",
                                    show_default=False),
    *,
    name: str = typer.Option(..., "-n", "--name", help="Stage name."),
    deps: list[str] = typer.Option([], "-d", "--deps", help="A dependency (repeatable)."),
    outs: list[str] = typer.Option([], "-o", "--outs", help="An output (repeatable)."),
    metrics: list[str] = typer.Option([], "-m", "--metrics", help="A metrics file."),
    params: list[str] = typer.Option([], "-p", "--params",
                                     help="KEY of params.yaml, or FILE:KEY[,KEY...]."),
    outs_no_cache: list[str] = typer.Option([], "-O", "--outs-no-cache",
                                            help="An output that is only hashed, not cached."),
    wdir: str | None = typer.Option(None, "-w", "--wdir",
                                    help="Folder to run in, relative to dvlite.yaml."),
    always_changed: bool = typer.Option(False, "--always-changed", help="Run every time."),
    no_stage: bool = typer.Option(False, "--no-stage", help="Do not git add dvlite.yaml."),
) -> None:
    """Add a stage to dvlite.yaml (validated; refuses duplicates; a dependency may not
    exist yet) and git add the file (unless core.autostage = false or --no-stage)."""
    from dvlite.pipeline.edit import StageSpec, add_stage

    spec = StageSpec(name, " ".join(cmd), deps, outs, metrics, params, outs_no_cache, wdir,
                     always_changed)
    repo = Repo.find()
    folder = repo.rel(Path.cwd())  # like `dvc stage add`: the stage lives where it is added
    stage = add_stage(repo, spec, "" if folder == "." else folder, stage=not no_stage)
    out(f"Added stage '{stage.name}' to {stage.dvfile}")
    out(f"To run it: dvlite repro {stage.name}")


def _revs(a: str | None, b: str | None) -> tuple[str | None, str | None]:
    """(old, new): None for the workspace. Defaults: HEAD vs the workspace."""
    return (a or "HEAD"), b


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value)


def _print_changes(changes: list[Any], as_json: bool, empty: str) -> None:
    if as_json:
        doc: dict[str, dict[str, Any]] = {}
        for c in changes:
            doc.setdefault(c.file, {})[c.key] = c.to_dict()
        emit_json(doc)
        return
    if not changes:
        out(empty)
        return
    rows = [("Path", "Key", "Old", "New", "Change")]
    rows += [(c.file, c.key, _cell(c.old), _cell(c.new),
              "-" if c.delta is None else f"{c.delta:+.6g}") for c in changes]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        out("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@params_app.command("diff")
def params_diff(a: str | None = REV_A, b: str | None = REV_B, as_json: bool = JSON,
                show_all: bool = typer.Option(False, "--all", help="Unchanged ones too.")) -> None:
    """Parameters that differ between two revisions (default: HEAD vs the workspace)."""
    from dvlite.pipeline.metrics import diff_values, params_at

    repo = Repo.find()
    old, new = _revs(a, b)
    changes = diff_values(params_at(repo, old), params_at(repo, new), show_all)
    _print_changes(changes, as_json, "No parameter changed.")


@metrics_app.command("diff")
def metrics_diff(a: str | None = REV_A, b: str | None = REV_B, as_json: bool = JSON,
                 show_all: bool = typer.Option(False, "--all", help="Unchanged ones too.")
                 ) -> None:
    """Metrics that differ between two revisions, with numeric deltas."""
    from dvlite.pipeline.metrics import diff_values, metrics_at

    repo = Repo.find()
    old, new = _revs(a, b)
    changes = diff_values(metrics_at(repo, old, warn), metrics_at(repo, new, warn), show_all)
    _print_changes(changes, as_json, "No metric changed.")


@metrics_app.command("show")
def metrics_show(
    all_commits: bool = typer.Option(False, "--all-commits", help="Every commit, too."),
    as_json: bool = JSON,
) -> None:
    """Metrics of the workspace (and of every commit with --all-commits)."""
    from dvlite.pipeline.metrics import metrics_at

    repo = Repo.find()
    revs: list[str | None] = [None]
    if all_commits and repo.scm is not None and repo.scm.has_commits():
        revs += list(repo.scm.all_commits())
    shown = {("workspace" if r is None else r): metrics_at(repo, r, warn) for r in revs}
    if as_json:
        emit_json(shown)
        return
    if not any(shown.values()):
        out("No metrics.")
        return
    rows = [("Revision", "Path", "Key", "Value")]
    rows += [(rev if rev == "workspace" else rev[:12], file, key, _cell(value))
             for rev, values in shown.items() for file, keys in values.items()
             for key, value in keys.items()]
    start = 0 if len(revs) > 1 else 1  # the revision column only when there are several
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        out("  ".join(c.ljust(w) for c, w in zip(r[start:], widths[start:], strict=True))
            .rstrip())


@metrics_app.command("check")
def metrics_check(
    against: str = typer.Option("HEAD", "--against", help="Baseline revision of max_drop "
                                "and max_rise."),
    as_json: bool = JSON,
) -> None:
    """Evaluate the checks: of dvlite.yaml on the workspace's metrics; exit 1 when one
    fails or its metric (or needed baseline value) is missing."""
    from dvlite.pipeline.checks import check_metrics

    report = check_metrics(Repo.find(), against)
    if as_json:
        emit_json({"ok": report.ok, "against": report.against,
                   "checks": [r.to_dict() for r in report.results]})
    elif not report.results:
        out("No checks: add a checks: section to dvlite.yaml.")
    else:
        rows = [("Metric", "Value", report.against, "Rule", "Result")]
        rows += [(r.check.metric, _cell(r.value), _cell(r.baseline),
                  ", ".join(f"{k} {v}" for k, v in r.check.rules().items()),
                  "pass" if r.ok else f"fail: {r.reason}") for r in report.results]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            out("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if not report.ok:
        raise typer.Exit(1)
