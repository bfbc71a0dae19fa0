"""Entry point: registers every command group on the app and runs it."""

from __future__ import annotations

from dvlite import _fault
from dvlite.cli import core_cmds, hook_cmds, pipeline_cmds, remote_cmds
from dvlite.cli.app import app

COMMAND_MODULES = (core_cmds, remote_cmds, pipeline_cmds, hook_cmds)


def main() -> None:
    if _fault.listing_requested():
        print("\n".join(_fault.POINTS))
        return
    app()
