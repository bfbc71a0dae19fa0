"""The `plots:` section of dvlite.yaml: valid entries become `PlotSpec` records, and every
invalid one is an error naming the file, the line and the key; files with and without
the section keep working with `stage add` and `repro`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvlite.core.plots import PlotSpec
from dvlite.core.stages import parse_file, parse_sections
from dvlite.errors import FormatError, UnsafePathError
from tests.helpers import gen, run


def test_entries_become_records_relative_to_their_file() -> None:
    text = ("plots:\n"
            "  - eval/roc.csv:\n"
            "      x: fpr\n"
            "      y: tpr\n"
            "      template: scatter\n"
            "      title: ROC\n"
            "  - loss.json\n"
            "  - c.tsv: {x: actual, y: [predicted], template: confusion}\n"
            "  - m.yaml:\n"
            "  - b.yml: {y: [a, b], template: bar}\n")
    assert parse_sections(text, "sub/dvlite.yaml").plots == (
        PlotSpec("sub/eval/roc.csv", "fpr", ("tpr",), "scatter", "ROC", "sub/dvlite.yaml", 2),
        PlotSpec("sub/loss.json", dvfile="sub/dvlite.yaml", line=7),
        PlotSpec("sub/c.tsv", "actual", ("predicted",), "confusion", dvfile="sub/dvlite.yaml",
                 line=8),
        PlotSpec("sub/m.yaml", dvfile="sub/dvlite.yaml", line=9),
        PlotSpec("sub/b.yml", None, ("a", "b"), "bar", dvfile="sub/dvlite.yaml", line=10))


def test_parse_file_keeps_its_shape_with_plots() -> None:
    stages, checks = parse_file("stages:\n  a: {cmd: echo}\nplots: [p.csv]\n", "dvlite.yaml")
    assert [s.name for s in stages] == ["a"]
    assert checks == ()


BAD = [
    ("plots: {a.csv: {}}\n", 1, "'plots' must be a list"),
    ("plots:\n  - 3\n", 2, "a plot is a path or {PATH: {x, y, template, title}}, not 3"),
    ("plots:\n  - {a.csv: {}, b.csv: {}}\n", 2, "a plot is a path or {PATH:"),
    ("plots:\n  - a.csv: [x]\n", 2, "plot 'a.csv': its options must be a mapping"),
    ("plots:\n  - a.csv:\n      x: fpr\n      tempalte: bar\n", 4,
     "plot 'a.csv': unknown key 'tempalte'; did you mean 'template'?"),
    ("plots:\n  - a.csv:\n      titel: ROC\n", 3, "unknown key 'titel'; did you mean 'title'?"),
    ("plots:\n  - a.csv:\n      template: line\n", 3,
     "plot 'a.csv': 'template' must be one of linear, scatter, bar, confusion, not 'line'"),
    ("plots:\n  - a.csv:\n      template: scater\n", 3, "did you mean 'scatter'?"),
    ("plots:\n  - a.csv:\n      template: 3\n", 3, "'template' must be one of"),
    ("plots:\n  - a.csv:\n      x: 3\n", 3, "plot 'a.csv': 'x' must be a field name, not 3"),
    ("plots:\n  - a.csv:\n      x: ''\n", 3, "'x' must be a field name"),
    ("plots:\n  - a.csv:\n      y: {a: 1}\n", 3,
     "plot 'a.csv': 'y' must be a field name or a list of field names"),
    ("plots:\n  - a.csv:\n      y: []\n", 3, "'y' must be a field name or a list"),
    ("plots:\n  - a.csv:\n      y: [a, 2]\n", 3, "'y' must be a field name or a list"),
    ("plots:\n  - a.csv:\n      y: [a, a]\n", 3, "'y' lists a field twice"),
    ("plots:\n  - a.csv:\n      title: [x]\n", 3, "plot 'a.csv': 'title' must be a string"),
    ("plots:\n  - a.csv:\n      template: confusion\n      x: actual\n", 2,
     "template 'confusion' needs 'x' (the actual class) and one 'y' field"),
    ("plots:\n  - a.csv: {template: confusion, x: a, y: [b, c]}\n", 2, "needs 'x'"),
    ("plots:\n  - a.txt\n", 2, "plot file 'a.txt' must end in .csv, .tsv, .json, .yaml, .yml"),
    ("plots:\n  - a.csv\n  - b.csv\n  - a.csv\n", 4, "plot 'a.csv' is already listed at line 2"),
    ("plots:\n  - ''\n", 2, "a plot's path must be a non-empty string"),
    ("plost: []\n", 1, "unknown key 'plost'; did you mean 'plots'?"),
]
UNSAFE = [
    ("plots:\n  - ../a.csv\n", 2, "unsafe plot file '../a.csv': '..' is not allowed"),
    ("plots:\n  - x/../../a.csv\n", 2, "'..' is not allowed"),
    ("plots:\n  - /etc/a.csv\n", 2, "unsafe plot file '/etc/a.csv': absolute or non-POSIX"),
    ("plots:\n  - 'C:/a.csv'\n", 2, "absolute or non-POSIX path"),
    ("plots:\n  - .git/a.csv\n", 2, "inside .git"),
]


@pytest.mark.parametrize(("text", "line", "msg"), BAD + UNSAFE)
def test_validation_errors_name_file_line_and_key(text: str, line: int, msg: str) -> None:
    kind = UnsafePathError if (text, line, msg) in UNSAFE else FormatError
    with pytest.raises(kind) as info:
        parse_sections(text, "dvlite.yaml")
    assert info.value.msg.startswith(f"dvlite.yaml:{line}: "), info.value.msg
    assert msg in info.value.msg


@pytest.mark.parametrize(("text", "line", "msg"), [BAD[4], BAD[6], UNSAFE[0]])
def test_validation_errors_through_the_cli(repo: Path, text: str, line: int, msg: str) -> None:
    gen(repo, {"sub": {"dvlite.yaml": "stages: {}\n" + text}})
    for args in (("plots", "show"), ("plots", "diff"), ("repro",)):
        r = run(*args)
        assert r.exit_code == 1, args
        assert r.stderr.startswith(f"error: sub/dvlite.yaml:{line + 1}: "), r.stderr
        assert msg in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("plots", ["", "plots:\n  - m.csv: {x: a}\n"])
def test_stage_add_and_repro_with_and_without_plots(repo: Path, plots: str) -> None:
    gen(repo, {"dvlite.yaml": "stages:\n  one:\n    cmd: echo one > one.txt\n"
               "    outs: [one.txt]\n" + plots})
    r = run("stage", "add", "-n", "two", "-d", "one.txt", "-o", "two.txt", "--",
            "cp", "one.txt", "two.txt")
    assert r.exit_code == 0, r.stderr
    text = (repo / "dvlite.yaml").read_text()
    assert ("plots:" in text) is bool(plots)
    r = run("repro")
    assert r.exit_code == 0, r.stderr
    assert (repo / "two.txt").read_text() == "one\n"
    assert [p.path for p in parse_sections(text, "dvlite.yaml").plots] == (
        ["m.csv"] if plots else [])
