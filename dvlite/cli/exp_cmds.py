"""CLI commands for experiments: the `exp` group (run, list, remove, branch, show, apply)."""

from __future__ import annotations

import typer

from dvlite.cli.app import INTERRUPTED
from dvlite.cli.complete import stage_names
from dvlite.cli.ui import FLAGS, emit_json, out, progress, warn
from dvlite.errors import DvliteError
from dvlite.workspace.repo import Repo

JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")

exp_app = typer.Typer(help="Experiments: runs recorded as git commits under refs/exps/.",
                      no_args_is_help=True)


class _InterruptedError(DvliteError):
    exit_code = INTERRUPTED


def _say(event: str, stage: str, detail: str) -> None:
    lines = {
        "skip": f"Stage '{stage}' is up to date",
        "frozen": f"Stage '{stage}' is frozen, skipping",
        "run": f"Running stage '{stage}' ({detail})",
        "restored": f"restored {stage} from run cache",
        "done": f"Stage '{stage}' done",
    }
    out(lines.get(event, f"{event} {stage} {detail}"))


def _no_say(event: str, stage: str, detail: str) -> None:
    del event, stage, detail


@exp_app.command("run")
def run(
    stages: list[str] | None = typer.Argument(None, help="Stages to bring up to date, with "
                                              "their upstream (default: all).",
                                              show_default=False, autocompletion=stage_names),
    *,
    set_param: list[str] = typer.Option([], "-S", "--set-param",
                                        help="[FILE:]KEY=VALUE (FILE default params.yaml; "
                                             "VALUE is YAML; repeatable)."),
    name: str | None = typer.Option(None, "-n", "--name", help="Experiment name "
                                    "(default: generated)."),
    force: bool = typer.Option(False, "-f", "--force", help="Replace an experiment of "
                               "that name."),
    jobs: int = typer.Option(1, "-j", "--jobs", min=1, help="Stages to run in parallel."),
    as_json: bool = JSON,
) -> None:
    """Apply parameter overrides, run the pipeline, and record the result as an
    experiment (a commit on HEAD under refs/exps/NAME; HEAD and the index do not move)."""
    from dvlite.pipeline.repro import ReproOptions
    from dvlite.repo.exp.run import exp_run

    options = ReproOptions(jobs=jobs, quiet_stdout=as_json or FLAGS.quiet,
                           progress=progress())
    try:
        result = exp_run(Repo.find(), stages or [], set_param, name=name, force=force,
                         options=options, report=_no_say if as_json else _say)
    except KeyboardInterrupt:
        raise _InterruptedError("interrupted: no experiment was recorded",
                                hint="run `dvlite exp run` again") from None
    for line in result.repro.warnings:
        warn(line)
    if as_json:
        emit_json({"name": result.name, "rev": result.rev, "baseline": result.baseline,
                   "ran": result.repro.ran, "restored": result.repro.restored})
        return
    out(f"Experiment '{result.name}' recorded at {result.rev[:7]} "
        f"(baseline {result.baseline[:7]})")
    out(f"To keep it as a branch: dvlite exp branch {result.name} BRANCH")


@exp_app.command("list")
def list_cmd(as_json: bool = JSON) -> None:
    """List experiments: name, commit and baseline commit."""
    from dvlite.repo.exp.refs import git_of, list_exps

    exps = list_exps(git_of(Repo.find()))
    if as_json:
        emit_json([{"name": e.name, "rev": e.rev, "baseline": e.baseline,
                    "created": e.created} for e in exps])
        return
    if not exps:
        out("No experiments.")
        return
    width = max(len(e.name) for e in exps)
    for e in exps:
        out(f"{e.name.ljust(width)}  {e.rev[:7]}  baseline {e.baseline[:7]}")


@exp_app.command("remove")
def remove_cmd(
    names: list[str] | None = typer.Argument(None, help="Experiments to remove.",
                                             show_default=False),
    every: bool = typer.Option(False, "--all", help="Remove every experiment."),
) -> None:
    """Delete experiment refs (their data stays in the cache until gc)."""
    from dvlite.repo.exp.refs import remove

    removed = remove(Repo.find(), names or [], every)
    for name in removed:
        out(f"Removed experiment '{name}'")
    if not removed:
        out("No experiments to remove.")


@exp_app.command("branch")
def branch_cmd(
    name: str = typer.Argument(..., help="The experiment.", show_default=False),
    branch: str = typer.Argument(..., help="The new git branch.", show_default=False),
) -> None:
    """Make a git branch at an experiment's commit."""
    from dvlite.repo.exp.refs import branch as make_branch

    rev = make_branch(Repo.find(), name, branch)
    out(f"Branch '{branch}' created at experiment '{name}' ({rev[:7]})")
    out(f"To work on it: git checkout {branch} && dvlite checkout")


def _cell(value: object) -> str:
    import json

    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value)


@exp_app.command("show")
def show_cmd(
    as_json: bool = JSON,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    sort_by: str | None = typer.Option(None, "--sort-by", help="Sort experiments by this "
                                       "column (KEY, FILE:KEY, name or created)."),
    sort_order: str = typer.Option("asc", "--sort-order", help="asc or desc."),
    num: int = typer.Option(1, "-n", "--num", min=1, help="Baselines: the last N commits."),
) -> None:
    """Baseline commits and their experiments, with every parameter and metric."""
    from dvlite.errors import UsageError
    from dvlite.repo.exp.show import columns, exp_show, sort_rows

    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    if sort_order not in ("asc", "desc"):
        raise UsageError(f"--sort-order is asc or desc, not '{sort_order}'")
    rows = exp_show(Repo.find(), num, warn)
    if sort_by is not None:
        rows = sort_rows(rows, sort_by, descending=sort_order == "desc")
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    cols = columns(rows)
    if as_csv:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["name", "rev", "baseline", "created", "state",
                         *(f"{c.file}:{c.key}" for c in cols)])
        for r in rows:
            writer.writerow([r.name, r.rev, r.baseline, r.created, r.state,
                             *("" if c.value(r) is None else _cell(c.value(r)) for c in cols)])
        out(buf.getvalue().rstrip("\n"))
        return
    shared = {c.key for c in cols if sum(d.key == c.key for d in cols) > 1}
    table = [["Experiment", "rev", "Created", "State",
              *(f"{c.file}:{c.key}" if c.key in shared else c.key for c in cols)]]
    table += [[r.name if r.is_baseline else f"  {r.name}", r.rev[:7], r.created, r.state,
               *(_cell(c.value(r)) for c in cols)] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        out("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


@exp_app.command("apply")
def apply_cmd(
    name: str = typer.Argument(..., help="The experiment.", show_default=False),
    force: bool = typer.Option(False, "-f", "--force", help="Overwrite unsaved data."),
) -> None:
    """Restore an experiment's params, pointers, lock and metrics files, and its data."""
    from dvlite.repo.exp.apply import exp_apply

    result = exp_apply(Repo.find(), name, force, progress())
    for rel in result.files:
        out(f"restored {rel}")
    out(f"Applied experiment '{name}' ({result.rev[:7]}): {len(result.files)} file(s), "
        f"{result.checkout.written} data file(s) checked out")
