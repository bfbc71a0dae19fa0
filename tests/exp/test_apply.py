"""`exp apply`: an experiment's files and data back into the workspace."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.exp.util import exp_repo, exp_run, head
from tests.helpers import check_repo, git, run


def test_apply_restores_params_metrics_lock_and_data(repo: Path) -> None:
    base = exp_repo(repo)
    exp_run("-S", "train.lr=0.5", "-S", "train.epochs=9", "-n", "slow")
    lock = (repo / "dvlite.lock").read_text()
    exp_run("-S", "train.lr=0.125", "-n", "fast")
    assert (repo / "model.bin").read_text() == "model lr=0.125 epochs=9"
    r = run("exp", "apply", "slow")
    assert r.exit_code == 0, r.stderr
    assert "Applied experiment 'slow'" in r.stdout
    assert yaml.safe_load((repo / "params.yaml").read_text())["train"] == {
        "lr": 0.5, "epochs": 9}
    assert json.loads((repo / "scores.json").read_text())["acc"] == 0.5
    assert (repo / "dvlite.lock").read_text() == lock
    assert (repo / "model.bin").read_text() == "model lr=0.5 epochs=9"
    assert head(repo) == base
    assert run("status").exit_code == 0
    repro = run("repro", "--json")
    assert json.loads(repro.stdout)["ran"] == []  # the workspace is the experiment
    check_repo(repo)


def test_apply_refuses_unsaved_data_without_force(repo: Path) -> None:
    exp_repo(repo)
    exp_run("-S", "train.lr=0.5", "-n", "a")
    git(repo, "checkout", "-q", "--", "params.yaml", "dvlite.lock", "scores.json")
    assert run("checkout").exit_code == 0
    (repo / "model.bin").write_text("my unsaved edit")
    r = run("exp", "apply", "a")
    assert r.exit_code == 1
    assert "model.bin" in r.stderr
    assert "lr: 0.25" in (repo / "params.yaml").read_text()  # nothing was written
    assert (repo / "model.bin").read_text() == "my unsaved edit"
    r = run("exp", "apply", "a", "--force")
    assert r.exit_code == 0, r.stderr
    assert (repo / "model.bin").read_text() == "model lr=0.5 epochs=3"
    assert "lr: 0.5" in (repo / "params.yaml").read_text()
    assert run("exp", "apply", "nope").exit_code == 2


def test_outputs_git_holds_are_recorded_and_applied(repo: Path) -> None:
    """`cache: false` outputs that are not metrics (plot data, a folder of them) are in
    the experiment's commit and come back with `exp apply`."""
    from tests.pipeline.util import PY

    exp_repo(repo)
    script = ("import os, yaml\n"
              "lr = yaml.safe_load(open('params.yaml'))['train']['lr']\n"
              "os.makedirs('curves', exist_ok=True)\n"
              "open('curves/loss.csv', 'w').write(f'step,loss\\n0,{lr}\\n')\n"
              "open('summary.csv', 'w').write(f'lr\\n{lr}\\n')\n")
    (repo / "curve.py").write_text(script)
    (repo / "dvlite.yaml").write_text((repo / "dvlite.yaml").read_text() + f"""\
  curve:
    cmd: {PY} curve.py
    deps: [curve.py]
    params: [train.lr]
    outs:
      - curves:
          cache: false
      - summary.csv:
          cache: false
""")
    assert run("repro").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "curves")
    exp_run("-S", "train.lr=0.5", "-n", "half")
    assert git(repo, "show", "refs/exps/half:curves/loss.csv") == "step,loss\n0,0.5\n"
    assert git(repo, "show", "refs/exps/half:summary.csv") == "lr\n0.5\n"
    git(repo, "checkout", "-q", "--", ".")
    assert run("checkout").exit_code == 0
    assert (repo / "summary.csv").read_text() == "lr\n0.25\n"
    r = run("exp", "apply", "half")
    assert r.exit_code == 0, r.stderr
    assert (repo / "curves" / "loss.csv").read_text() == "step,loss\n0,0.5\n"
    assert (repo / "summary.csv").read_text() == "lr\n0.5\n"
    check_repo(repo)
