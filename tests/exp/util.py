"""An experiment repository: one stage reading params.yaml, writing a cached model and a
metrics file git holds, committed as the baseline."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import gen, git, run
from tests.pipeline.util import PY

PIPELINE = f"""\
stages:
  train:
    cmd: {PY} train.py
    deps: [train.py]
    params: [train.lr, train.epochs]
    outs: [model.bin]
    metrics: [scores.json]
"""
TRAIN = """\
import json, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
open("model.bin", "w").write(f"model lr={p['lr']} epochs={p['epochs']}")
json.dump({"acc": round(1 - p["lr"], 3), "loss": {"val": p["lr"] * 2}}, open("scores.json", "w"))
"""


def exp_repo(repo: Path) -> str:
    """Builds and commits the baseline; returns its commit."""
    gen(repo, {"dvlite.yaml": PIPELINE, "train.py": TRAIN,
               "params.yaml": "# training\ntrain:\n  lr: 0.25\n  epochs: 3\nother: keep\n"})
    r = run("repro")
    assert r.exit_code == 0, r.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "baseline")
    return head(repo)


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def exp_run(*args: str) -> dict[str, object]:
    r = run("exp", "run", "--json", *args)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert isinstance(doc, dict)
    return doc


def show_at(repo: Path, rev: str, path: str) -> str:
    return git(repo, "show", f"{rev}:{path}")


@contextmanager
def project_below_git_root(tmp_path: Path, files: dict[str, str]) -> Iterator[tuple[Path, Path]]:
    """A git repository `mono` whose dvlite project is its folder `ml`, holding `files`;
    the current folder is the project's while the block runs. Yields (git root, project)."""
    top = tmp_path / "mono"
    proj = top / "ml"
    proj.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=top, check=True)
    git(top, "config", "commit.gpgsign", "false")
    assert run("init", cwd=proj).exit_code == 0
    gen(proj, files)
    old = Path.cwd()
    os.chdir(proj)
    try:
        yield top, proj
    finally:
        os.chdir(old)
