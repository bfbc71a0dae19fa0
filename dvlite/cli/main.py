"""Entry point: the one place that puts every command module's commands and groups on the
app, then runs it."""

from __future__ import annotations

from dvlite import _fault
from dvlite.cli import (
    core_cmds,
    doctor_cmds,
    exp_cmds,
    gc_get_cmds,
    hook_cmds,
    model_cmds,
    pipeline_cmds,
    plots_cmds,
    remote_cmds,
)
from dvlite.cli.app import app

# `dvlite --help` lists commands in this order, and the groups after them.
for module in (core_cmds, doctor_cmds, hook_cmds, pipeline_cmds, remote_cmds, gc_get_cmds):
    app.add_typer(module.commands)
app.add_typer(pipeline_cmds.stage_app, name="stage")
app.add_typer(pipeline_cmds.params_app, name="params")
app.add_typer(pipeline_cmds.metrics_app, name="metrics")
app.add_typer(plots_cmds.plots_app, name="plots")
app.add_typer(remote_cmds.remote_app, name="remote")
app.add_typer(exp_cmds.exp_app, name="exp")
app.add_typer(model_cmds.model_app, name="model")


def main() -> None:
    if _fault.listing_requested():
        print("\n".join(_fault.POINTS))
        return
    app()
