"""`dvlite plots show` and `plots diff` through the CLI on real git repositories: the
page, the images, the specs, revisions (experiment names too), missing and broken files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.exp.util import exp_run
from tests.helpers import gen, git, run
from tests.pipeline.util import PY
from tests.plots.util import FILES, by_path, commit, page_specs, plots_json, rows


def test_show_writes_one_self_contained_page(plots_repo: Path) -> None:
    gen(plots_repo, FILES)
    r = run("plots", "show")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "dvlite_plots/index.html\n"
    page = (plots_repo / "dvlite_plots" / "index.html").read_text()
    assert "window.vegaEmbed=" in page.replace(" ", "")  # the charting code, inlined
    assert "<script src" not in page
    assert "<link" not in page
    specs = page_specs(page)
    assert [s["title"] for s in specs] == ["ROC", "loss.json", "conf.tsv", "hist.yaml"]
    assert all(s["data"]["values"] for s in specs)
    assert page.count('<div class="plot" id="plot-') == 4


def test_show_json_specs_have_their_data_inlined(plots_repo: Path) -> None:
    gen(plots_repo, FILES)
    plots = by_path(plots_json("show"))
    assert list(plots) == ["eval/roc.csv", "loss.json", "conf.tsv", "hist.yaml"]
    roc = plots["eval/roc.csv"]
    assert roc["revisions"] == ["workspace"]
    assert roc["spec"]["mark"]["type"] == "point"
    assert roc["spec"]["encoding"]["x"]["title"] == "fpr"
    assert rows(roc) == [{"rev": "workspace", "field": "tpr", "x": x, "y": y}
                         for x, y in [(0, 0), (0.25, 0.5), (1, 1)]]
    # no options: x is the row number, y every numeric field ("note" is text)
    loss = plots["loss.json"]
    assert loss["x"] is None
    assert loss["spec"]["mark"]["type"] == "line"
    assert loss["spec"]["encoding"]["x"]["title"] == "step"
    assert {(r["field"], r["x"], r["y"]) for r in rows(loss)} == {
        ("loss", 0, 0.9), ("acc", 0, 0.5), ("loss", 1, 0.5), ("acc", 1, 0.75),
        ("loss", 2, 0.25), ("acc", 2, 0.875)}
    assert loss["spec"]["encoding"]["color"]["field"] == "field"
    conf = plots["conf.tsv"]
    assert [layer["mark"]["type"] for layer in conf["spec"]["layer"]] == ["rect", "text"]
    assert conf["spec"]["layer"][0]["encoding"]["color"]["aggregate"] == "count"
    assert rows(conf)[1] == {"rev": "workspace", "actual": "cat", "predicted": "dog"}
    hist = plots["hist.yaml"]
    assert hist["spec"]["mark"]["type"] == "bar"
    assert {r["field"] for r in rows(hist)} == {"a", "b"}


def test_show_targets_and_a_file_outside_the_section(plots_repo: Path) -> None:
    gen(plots_repo, {**FILES, "extra.csv": "v\n1\n2\n"})
    assert [p["path"] for p in plots_json("show", "loss.json", "eval/roc.csv")] == [
        "loss.json", "eval/roc.csv"]
    (extra,) = plots_json("show", "extra.csv")
    assert [r["y"] for r in rows(extra)] == [1, 2]
    r = run("plots", "show", "roc.csv", "--json", cwd=plots_repo / "eval")  # from a subfolder
    assert r.exit_code == 0, r.stderr
    r = run("plots", "show", "nosuch.csv")
    assert r.exit_code == 2
    assert r.stderr == ("error: no plot 'nosuch.csv': not in a plots: section, and no such "
                        "file\n")
    r = run("plots", "show", "notes.txt")
    assert r.exit_code == 2
    assert "must end in .csv" in r.stderr


def test_svg_and_png_files_are_valid_images(plots_repo: Path) -> None:
    gen(plots_repo, FILES)
    r = run("plots", "show", "--format", "svg", "-o", "imgs")
    assert r.exit_code == 0, r.stderr
    names = ["imgs/eval/roc.csv.svg", "imgs/loss.json.svg", "imgs/conf.tsv.svg",
             "imgs/hist.yaml.svg"]
    assert r.stdout.splitlines() == names
    for name in names:
        root = ET.fromstring((plots_repo / name).read_bytes())
        assert root.tag.endswith("svg")
    assert "ROC" in (plots_repo / names[0]).read_text()
    r = run("plots", "diff", "--format", "png", "-o", "imgs")
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout.splitlines()) == 4
    for line in r.stdout.splitlines():
        assert line.endswith(".png")
        assert (plots_repo / line).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diff_colours_each_revision(plots_repo: Path) -> None:
    base = commit(plots_repo, FILES, "base")
    gen(plots_repo, {"eval": {"roc.csv": "fpr,tpr\n0,0\n1,0.9\n"}})
    roc = by_path(plots_json("diff"))["eval/roc.csv"]
    assert roc["revisions"] == ["HEAD", "workspace"]
    color = roc["spec"]["encoding"]["color"]
    assert (color["field"], color["title"], color["scale"]["domain"]) == (
        "rev", "revision", ["HEAD", "workspace"])
    assert [(r["rev"], r["y"]) for r in rows(roc) if r["x"] == 1] == [("HEAD", 1),
                                                                      ("workspace", 0.9)]
    commit(plots_repo, {}, "second")
    three = by_path(plots_json("diff", base, "HEAD", "HEAD~1"))["loss.json"]
    assert three["revisions"] == [base, "HEAD", "HEAD~1"]
    # several revisions and several fields: colour by revision, dashes by field
    assert three["spec"]["encoding"]["strokeDash"]["field"] == "field"
    conf = by_path(plots_json("diff", base))["conf.tsv"]  # one REV: it and the workspace
    assert conf["spec"]["facet"]["column"]["sort"] == [base, "workspace"]
    hist = by_path(plots_json("diff"))["hist.yaml"]
    assert hist["spec"]["encoding"]["xOffset"]["field"] == "rev"
    r = run("plots", "diff", "nosuch")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: unknown revision 'nosuch'")


def test_a_file_missing_at_one_revision_is_skipped_there(plots_repo: Path) -> None:
    commit(plots_repo, FILES, "base")
    pipeline = (plots_repo / "dvlite.yaml").read_text() + "  - new.csv\n"
    gen(plots_repo, {"dvlite.yaml": pipeline, "new.csv": "v\n3\n"})
    (plots_repo / "loss.json").unlink()
    r = run("plots", "diff", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.splitlines() == ["warning: loss.json: missing in workspace, skipped there",
                                     "warning: new.csv: missing in HEAD, skipped there"]
    plots = by_path(json.loads(r.stdout)["plots"])
    assert plots["loss.json"]["revisions"] == ["HEAD"]
    assert plots["new.csv"]["revisions"] == ["workspace"]
    # missing everywhere: warned about, and no chart
    r = run("plots", "show", "--json")
    assert "warning: loss.json: missing in workspace" in r.stderr
    assert "loss.json" not in by_path(json.loads(r.stdout)["plots"])


def test_a_file_that_does_not_parse_is_an_error(plots_repo: Path) -> None:
    commit(plots_repo, FILES, "base")
    for name, text, why in [("loss.json", "{oops", "not valid JSON"),
                            ("eval/roc.csv", "fpr,tpr\n1,2,3\n", "row 2 has 3 fields"),
                            ("hist.yaml", "a: [1\n", "not valid YAML"),
                            ("conf.tsv", "", "empty")]:
        gen(plots_repo, {name: text})
        for args in (("show",), ("diff",), ("show", "-o", "x", "--format", "svg")):
            r = run("plots", *args)
            assert r.exit_code == 1, (name, args)
            (line,) = r.stderr.splitlines()
            assert line.startswith(f"error: {name} (workspace): "), line
            assert why in line
        git(plots_repo, "checkout", "-q", "--", name)
    gen(plots_repo, {"eval": {"roc.csv": "a,b\n1,2\n"}})
    r = run("plots", "show")
    assert r.exit_code == 1
    assert r.stderr == ("error: eval/roc.csv (workspace): no field 'fpr' (fields: a, b)\n")


def test_quiet_prints_nothing_and_bad_options_are_one_error_line(plots_repo: Path) -> None:
    gen(plots_repo, FILES)
    r = run("-q", "plots", "show")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    assert (plots_repo / "dvlite_plots" / "index.html").is_file()
    r = run("plots", "show", "--format", "pdf")
    assert r.exit_code == 2
    assert r.stderr == "error: --format must be one of html, svg, png, not 'pdf'\n"


def test_no_plots_writes_nothing(plots_repo: Path) -> None:
    r = run("plots", "show")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "No plots: add a plots: section to dvlite.yaml.\n"
    assert not (plots_repo / "dvlite_plots").exists()
    assert plots_json("diff") == []


TRAIN = """\
import yaml
lr = yaml.safe_load(open("params.yaml"))["lr"]
with open("curve.csv", "w") as f:
    f.write("loss\\n" + "".join(f"{lr / (i + 1)}\\n" for i in range(3)))
"""


def test_diff_with_an_experiment_name_reads_its_cached_output(plots_repo: Path) -> None:
    pipeline = (f"stages:\n  train:\n    cmd: {PY} train.py\n    deps: [train.py]\n"
                "    params: [lr]\n    outs: [curve.csv]\nplots:\n  - curve.csv\n")
    gen(plots_repo, {"dvlite.yaml": pipeline, "train.py": TRAIN, "params.yaml": "lr: 1.0\n"})
    assert run("repro").exit_code == 0
    git(plots_repo, "add", "-A")
    git(plots_repo, "commit", "-qm", "baseline")
    exp_run("-S", "lr=0.5", "-n", "half")
    # git holds no curve.csv (a cached output): both are read from the cache by lock file
    curve = by_path(plots_json("diff", "HEAD", "half"))["curve.csv"]
    assert curve["revisions"] == ["HEAD", "half"]
    assert [(r["rev"], r["y"]) for r in rows(curve) if r["x"] == 0] == [("HEAD", 1.0),
                                                                        ("half", 0.5)]
