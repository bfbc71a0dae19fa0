"""Entry point: registers every command group on the app and runs it."""

from __future__ import annotations

from dvlite.cli import core_cmds  # noqa: F401 - registers commands
from dvlite.cli.app import app


def main() -> None:
    app()
