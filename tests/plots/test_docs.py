"""docs/plots.md says what the code does: its section parses, its table names the
commands' options, and `--help` says the same."""

from __future__ import annotations

import re
from pathlib import Path

from dvlite.core.plots import TEMPLATES
from dvlite.core.stages import parse_sections
from tests.helpers import run

DOC = Path(__file__).parents[2] / "docs" / "plots.md"


def test_the_documented_section_parses() -> None:
    yaml_text = DOC.read_text().split("```yaml\n")[1].split("```")[0]
    plots = parse_sections(yaml_text, "dvlite.yaml").plots
    assert [(p.path, p.template) for p in plots] == [
        ("eval/roc.csv", "scatter"), ("train/loss.json", "linear"),
        ("eval/classes.tsv", "confusion")]
    assert "linear | scatter | bar | confusion" in DOC.read_text()
    assert TEMPLATES == ("linear", "scatter", "bar", "confusion")


def test_help_matches_the_docs() -> None:
    text = DOC.read_text()
    for cmd in ("show", "diff"):
        r = run("plots", cmd, "--help")
        assert r.exit_code == 0
        for option in ("--out", "--format", "--json"):
            assert option in r.stdout
        assert f"dvlite plots {cmd} [" in text
    assert "HEAD and the workspace" in _help("diff")
    assert "dvlite_plots" in _help("show")
    assert "one self-contained page (DIR/index.html)" in _help("show")


def _help(cmd: str) -> str:
    """The help text as words, without rich's wrapping and box."""
    return re.sub(r"[\s│]+", " ", run("plots", cmd, "--help").stdout)


def test_revisions_need_git(tmp_path: Path) -> None:
    assert run("init", "--no-scm", cwd=tmp_path).exit_code == 0
    (tmp_path / "dvlite.yaml").write_text("plots: [a.csv]\n")
    (tmp_path / "a.csv").write_text("v\n1\n")
    r = run("plots", "diff", cwd=tmp_path)
    assert r.exit_code == 2
    assert r.stderr.startswith("error: revisions need git")
    r = run("plots", "show", "--json", cwd=tmp_path)
    assert r.exit_code == 0, r.stderr
