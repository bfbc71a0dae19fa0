"""Experiments of a dvlite project that lives in a folder of its git repository."""

from __future__ import annotations

import json
from pathlib import Path

from tests.exp.util import PIPELINE, TRAIN, project_below_git_root
from tests.helpers import git, run


def test_run_show_apply_in_a_project_below_the_git_root(tmp_path: Path) -> None:
    files = {"dvlite.yaml": PIPELINE, "train.py": TRAIN,
             "params.yaml": "train:\n  lr: 0.25\n  epochs: 3\n"}
    with project_below_git_root(tmp_path, files) as (top, proj):
        assert run("repro").exit_code == 0
        git(top, "add", "-A")
        git(top, "commit", "-qm", "baseline")
        r = run("exp", "run", "-S", "train.lr=0.5", "-n", "half")
        assert r.exit_code == 0, r.stderr
        assert git(top, "show", "refs/exps/half:ml/params.yaml") == (
            "train:\n  lr: 0.5\n  epochs: 3\n")
        rows = json.loads(run("exp", "show", "--json").stdout)
        assert [r["metrics"]["scores.json"]["acc"] for r in rows] == [0.75, 0.5]
        git(top, "checkout", "-q", "--", ".")
        assert run("checkout").exit_code == 0
        r = run("exp", "apply", "half")
        assert r.exit_code == 0, r.stderr
        assert "lr: 0.5" in (proj / "params.yaml").read_text()
        assert (proj / "model.bin").read_text() == "model lr=0.5 epochs=3"
