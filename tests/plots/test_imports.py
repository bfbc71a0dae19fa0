"""vl_convert (a compiled Vega runtime) loads only when a plot is rendered: the CLI, and
the plots modules themselves, import it inside the functions that draw."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_and_plots_modules_do_not_load_vl_convert() -> None:
    code = ("import sys, dvlite.cli.main, dvlite.repo.plots, dvlite.pipeline.plots.render; "
            "print(sorted(m for m in ('vl_convert', 'playwright') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_help_lists_the_plots_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "dvlite", "plots", "--help"],
                         capture_output=True, text=True, check=True)
    assert "show" in out.stdout
    assert "diff" in out.stdout
