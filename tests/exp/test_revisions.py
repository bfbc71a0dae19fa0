"""Experiment names as revisions (`metrics diff`, `params diff`, `ls`), and gc's scope."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.exp.util import exp_repo, exp_run
from tests.helpers import check_repo, git, run


def test_an_experiment_name_is_a_revision(repo: Path) -> None:
    exp_repo(repo)
    exp_run("-S", "train.lr=0.5", "-n", "half")
    r = run("metrics", "diff", "HEAD", "half", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["scores.json"]["acc"] == {"old": 0.75, "new": 0.5,
                                                          "diff": -0.25}
    r = run("params", "diff", "half", "--json")  # against the workspace: the same
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {}
    listed = run("ls", "half", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert "model.bin" in listed.stdout
    # a branch of that name wins over the experiment
    git(repo, "branch", "half")
    r = run("metrics", "diff", "half", "HEAD", "--json")
    assert json.loads(r.stdout) == {}
    assert run("metrics", "diff", "nosuch").stderr.startswith("error: unknown revision")


def test_gc_keeps_the_outputs_of_experiments(repo: Path) -> None:
    exp_repo(repo)
    exp_run("-S", "train.lr=0.5", "-n", "keep")
    exp_run("-S", "train.lr=0.125", "-n", "drop")
    git(repo, "checkout", "-q", "--", "params.yaml", "dvlite.lock", "scores.json")
    assert run("checkout").exit_code == 0
    def outs(rev: str) -> set[str]:
        doc = yaml.safe_load(git(repo, "show", f"{rev}:dvlite.lock"))
        return {o["hash"] for o in doc["stages"]["train"]["outs"]}

    dropped = outs("refs/exps/drop") - outs("refs/exps/keep") - outs("HEAD")
    assert len(dropped) == 2  # its model and its metrics
    assert run("exp", "remove", "drop").exit_code == 0
    r = run("gc", "--json")
    assert r.exit_code == 0, r.stderr
    assert {o["hash"] for o in json.loads(r.stdout)["cache"]} == dropped
    r = run("exp", "apply", "keep")
    assert r.exit_code == 0, r.stderr
    assert (repo / "model.bin").read_text() == "model lr=0.5 epochs=3"
    check_repo(repo)
