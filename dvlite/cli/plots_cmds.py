"""CLI commands for plots: the `plots` group (show, diff)."""

from __future__ import annotations

from pathlib import Path

import typer

from dvlite.cli.ui import emit_json, out, warn
from dvlite.errors import UsageError
from dvlite.workspace.repo import Repo

FORMATS = ("html", "svg", "png")
JSON = typer.Option(False, "--json", help="Print the Vega-Lite specs, their data inlined, "
                    "and write nothing.")
OUT = typer.Option("dvlite_plots", "-o", "--out", metavar="DIR", help="Folder to write into.")
FORMAT = typer.Option("html", "--format", metavar="html|svg|png",
                      help="html: one self-contained page (DIR/index.html); svg or png: one "
                      "image per plot.")

plots_app = typer.Typer(help="Plots of the data files listed under plots: in dvlite.yaml.",
                        no_args_is_help=True)


def _render(revs: list[str | None], targets: list[str], out_dir: str, fmt: str,
            as_json: bool) -> None:
    from dvlite.repo.plots import charts, target_path, write

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not '{fmt}'")
    repo = Repo.find()
    wanted = [target_path(repo, t, Path.cwd()) for t in targets]
    found = charts(repo, revs, wanted, warn)
    if as_json:
        emit_json({"plots": [c.to_dict() for c in found]})
        return
    if not found:
        out("No plots: add a plots: section to dvlite.yaml.")
        return
    for path in write(repo, found, Path(out_dir), fmt):
        out(str(path))


@plots_app.command("show")
def show(
    targets: list[str] | None = typer.Argument(None, help="Plot files to show (default: "
                                               "every plot).", show_default=False,
                                               metavar="[TARGET...]"),
    out_dir: str = OUT, fmt: str = FORMAT, as_json: bool = JSON,
) -> None:
    """Render the plots from the workspace and print the path written."""
    _render([None], targets or [], out_dir, fmt, as_json)


@plots_app.command("diff")
def diff(
    revs: list[str] | None = typer.Argument(None, help="Revisions or experiment names "
                                            "(default: HEAD and the workspace; one REV: it "
                                            "and the workspace).", show_default=False,
                                            metavar="[REV...]"),
    out_dir: str = OUT, fmt: str = FORMAT, as_json: bool = JSON,
) -> None:
    """Render the plots at several revisions: one colour per revision, a legend naming
    them."""
    given: list[str | None] = list(revs or ["HEAD"])
    _render([*given, None] if len(given) == 1 else given, [], out_dir, fmt, as_json)
