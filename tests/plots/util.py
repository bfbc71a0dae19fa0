"""Helpers for the plots tests: a committed project with one plot of each format, and
readers of what `plots show` and `plots diff` print and write."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from dvlite.pipeline.plots.render import bundle
from tests.helpers import gen, git, run

PIPELINE = """\
plots:
  - eval/roc.csv:
      x: fpr
      y: tpr
      template: scatter
      title: ROC
  - loss.json
  - conf.tsv: {x: actual, y: predicted, template: confusion}
  - hist.yaml: {y: [a, b], template: bar}
"""
ROC = "fpr,tpr,threshold\n0,0,1\n0.25,0.5,0.5\n1,1,0\n"
LOSS = json.dumps({"history": [{"loss": 0.9, "acc": 0.5}, {"loss": 0.5, "acc": 0.75},
                               {"loss": 0.25, "acc": 0.875, "note": "last"}]})
CONF = "actual\tpredicted\ncat\tcat\ncat\tdog\ndog\tdog\ndog\tdog\n"
HIST = "- {a: 1, b: 2}\n- {a: 3, b: 4}\n"
FILES: dict[str, object] = {"dvlite.yaml": PIPELINE, "eval": {"roc.csv": ROC},
                            "loss.json": LOSS, "conf.tsv": CONF, "hist.yaml": HIST}


def commit(repo: Path, files: dict[str, object], msg: str) -> str:
    gen(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", msg)
    return git(repo, "rev-parse", "HEAD").strip()


def seed_bundle(repo: Path, built: Path) -> None:
    """Put the session's JavaScript bundle where a repository keeps it (building it
    takes seconds; each test's repository is new)."""
    target = repo / ".dvlite" / "plots"
    target.mkdir(parents=True, exist_ok=True)
    for f in built.iterdir():
        shutil.copy(f, target / f.name)


def build_bundle(folder: Path) -> Path:
    bundle(folder)
    return folder


def plots_json(*args: str) -> list[dict[str, Any]]:
    r = run("plots", *args, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert list(doc) == ["plots"]
    plots: list[dict[str, Any]] = doc["plots"]
    return plots


def by_path(plots: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["path"]: p for p in plots}


def flat(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a spec's `flatten` transform makes of its series records."""
    (step,) = spec["transform"]
    names = step["flatten"]
    found = []
    for series in spec["data"]["values"]:
        lists = [series[n] for n in names]
        fixed = {k: v for k, v in series.items() if k not in names}
        found += [{**fixed, **dict(zip(names, vals, strict=True))}
                  for vals in zip(*lists, strict=True)]
    return found


def rows(plot: dict[str, Any]) -> list[dict[str, Any]]:
    return flat(plot["spec"])


def page_specs(page: str) -> list[dict[str, Any]]:
    """The specs a written index.html carries."""
    start = page.index('<script type="application/json" id="dvlite-specs">')
    body = page[start:].split(">", 1)[1].split("</script>", 1)[0]
    specs: list[dict[str, Any]] = json.loads(body)
    return specs
