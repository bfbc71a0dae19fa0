"""CLI commands for experiments: the `exp` group (run, list, remove, branch, show, apply,
push, pull)."""

from __future__ import annotations

import typer

from dvlite.cli.app import INTERRUPTED
from dvlite.cli.complete import stage_names
from dvlite.cli.ui import FLAGS, emit_json, out, progress, warn
from dvlite.errors import DvliteError, UsageError
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
    queue: bool = typer.Option(False, "--queue", help="Record the experiment to run "
                               "later with --run-all, without running it."),
    run_all: bool = typer.Option(False, "--run-all", help="Run every queued experiment, "
                                 "each in a temporary worktree of its baseline."),
    jobs: int = typer.Option(1, "-j", "--jobs", min=1, help="Stages to run in parallel "
                             "(with --run-all: experiments)."),
    as_json: bool = JSON,
) -> None:
    """Apply parameter overrides, run the pipeline, and record the result as an
    experiment (a commit on HEAD under refs/exps/NAME; HEAD and the index do not move)."""
    from dvlite.pipeline.repro import ReproOptions
    from dvlite.repo.exp.run import exp_run

    if run_all:
        if stages or set_param or name or force or queue:
            raise UsageError("--run-all runs the queue as recorded: give it no stages, "
                             "-S, -n, -f or --queue")
        _run_all(jobs, as_json)
        return
    if queue:
        _queue(stages or [], set_param, name, force, as_json)
        return
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


def _queue(stages: list[str], set_param: list[str], name: str | None, force: bool,
           as_json: bool) -> None:
    from dvlite.repo.exp.queue import queue_exp

    entry = queue_exp(Repo.find(), stages, set_param, name=name, force=force)
    if as_json:
        emit_json({"name": entry.name, "rev": entry.rev, "baseline": entry.baseline,
                   "state": "queued"})
        return
    out(f"Queued experiment '{entry.name}' (baseline {entry.baseline[:7]})")
    out("To run the queue: dvlite exp run --run-all")


def _run_all(jobs: int, as_json: bool) -> None:
    from dvlite.repo.exp.run_all import QueuedResult, run_all

    def say(r: QueuedResult) -> None:
        if as_json:
            return
        if r.skipped:
            out(f"Experiment '{r.name}' is being run by another --run-all: skipped")
            return
        if r.ok:
            out(f"Experiment '{r.name}' recorded (baseline {r.baseline[:7]})")
            return
        tail = [line for line in r.output.splitlines() if line.strip()][-5:]
        for line in tail:
            warn(f"{r.name}: {line}")
        out(f"Experiment '{r.name}' failed with exit code {r.exit_code}")

    try:
        results = run_all(Repo.find(), jobs, say)
    except KeyboardInterrupt:
        raise _InterruptedError("interrupted: the experiments not finished stay queued",
                                hint="run `dvlite exp run --run-all` again") from None
    if as_json:
        emit_json([{"name": r.name, "baseline": r.baseline, "exit_code": r.exit_code,
                    "state": r.state} for r in results])
    elif not results:
        out("No queued experiments.")
    failed = [r for r in results if not r.ok]
    if failed:
        raise DvliteError(f"{len(failed)} of {len(results)} queued experiments failed: "
                          + ", ".join(r.name for r in failed),
                          hint="dvlite exp show lists them; dvlite exp remove clears them")


@exp_app.command("list")
def list_cmd(git_remote: str | None = typer.Argument(None, help="List the experiments on "
                                                     "this git remote instead.",
                                                     show_default=False),
             as_json: bool = JSON) -> None:
    """List experiments: name, commit, baseline commit and state (queued, failed); with
    GIT_REMOTE, the experiments on that git remote."""
    from dvlite.repo.exp.queue import exit_code_of
    from dvlite.repo.exp.refs import git_of, list_all

    if git_remote is not None:
        _list_remote(git_remote, as_json)
        return
    git = git_of(Repo.find())
    exps = list_all(git)
    if as_json:
        emit_json([{"name": e.name, "rev": e.rev, "baseline": e.baseline,
                    "created": e.created, "state": e.state,
                    "exit_code": exit_code_of(git, e)} for e in exps])
        return
    if not exps:
        out("No experiments.")
        return
    width = max(len(e.name) for e in exps)
    for e in exps:
        code = exit_code_of(git, e)
        state = "" if e.state == "success" else f"  {e.state}"
        state += "" if code is None else f" (exit code {code})"
        out(f"{e.name.ljust(width)}  {e.rev[:7]}  baseline {e.baseline[:7]}{state}")


def _list_remote(git_remote: str, as_json: bool) -> None:
    from dvlite.repo.exp.share import remote_exps

    found = remote_exps(Repo.find(), git_remote)
    if as_json:
        emit_json([{"name": name, "rev": rev} for name, rev in found.items()])
        return
    if not found:
        out(f"No experiments on '{git_remote}'.")
        return
    width = max(len(name) for name in found)
    for name, rev in found.items():
        out(f"{name.ljust(width)}  {rev[:7]}")


DVLITE_REMOTE = typer.Option(None, "-r", "--remote", help="dvlite remote for the data "
                             "(default: core.remote).")
JOBS = typer.Option(None, "-j", "--jobs", min=1, help="Parallel transfers.")


@exp_app.command("push")
def push_cmd(
    git_remote: str = typer.Argument(..., help="The git remote.", show_default=False),
    names: list[str] | None = typer.Argument(None, help="Experiments (default: all).",
                                             show_default=False),
    remote: str | None = DVLITE_REMOTE,
    jobs: int | None = JOBS,
    force: bool = typer.Option(False, "-f", "--force", help="Replace experiments of the "
                               "same name on the git remote."),
) -> None:
    """Push experiments: their data to the dvlite remote, then their refs to GIT_REMOTE."""
    from dvlite.repo.exp.share import push_exps

    result = push_exps(Repo.find(), git_remote, names or [], remote, jobs=jobs,
                       force=force, progress=progress())
    if not result.names:
        out("No experiments to push.")
        return
    data = result.data
    out(f"pushed {data.transferred} objects of data ({data.present} already there)")
    for name, rev in zip(result.names, result.revs, strict=True):
        out(f"Pushed experiment '{name}' ({rev[:7]}) to '{git_remote}'")


@exp_app.command("pull")
def pull_cmd(
    git_remote: str = typer.Argument(..., help="The git remote.", show_default=False),
    names: list[str] = typer.Argument(..., help="Experiments to pull.", show_default=False),
    remote: str | None = DVLITE_REMOTE,
    jobs: int | None = JOBS,
    force: bool = typer.Option(False, "-f", "--force", help="Replace local experiments "
                               "of the same name."),
) -> None:
    """Pull experiments: their refs from GIT_REMOTE, then their data into the cache."""
    from dvlite.repo.exp.share import pull_exps

    result = pull_exps(Repo.find(), git_remote, names, remote, jobs=jobs, force=force,
                       progress=progress())
    data = result.data
    out(f"fetched {data.transferred} objects of data ({data.present} already here)")
    for name, rev in zip(result.names, result.revs, strict=True):
        out(f"Pulled experiment '{name}' ({rev[:7]}) from '{git_remote}'")
    out("To restore one: dvlite exp apply NAME")


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
    *,
    as_json: bool = JSON,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    sort_by: str | None = typer.Option(None, "--sort-by", help="Sort experiments by this "
                                       "column (KEY, FILE:KEY, name or created)."),
    sort_order: str = typer.Option("asc", "--sort-order", help="asc or desc."),
    num: int = typer.Option(1, "-n", "--num", min=1, help="Baselines: the last N commits."),
    rev: str = typer.Option("HEAD", "--rev", help="Start from this revision (a branch, "
                            "tag, experiment or model ref like NAME#prod)."),
    all_commits: bool = typer.Option(False, "-A", "--all-commits", help="Baselines: every "
                                     "commit of every branch and tag."),
) -> None:
    """Baseline commits and their experiments, with every parameter and metric."""
    from dvlite.repo.exp.show import columns, exp_show, sort_rows

    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    if sort_order not in ("asc", "desc"):
        raise UsageError(f"--sort-order is asc or desc, not '{sort_order}'")
    if all_commits and (rev != "HEAD" or num != 1):
        raise UsageError("--all-commits takes every commit: give it no --rev or -n")
    rows = exp_show(Repo.find(), num, warn, rev=rev, all_commits=all_commits)
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
