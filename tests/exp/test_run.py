"""`exp run`: overrides, a commit on HEAD under refs/exps/, HEAD and index untouched."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.exp.util import exp_repo, exp_run, head, show_at
from tests.helpers import check_repo, gen, git, run


def test_run_records_an_experiment_on_head_without_moving_anything(repo: Path) -> None:
    base = exp_repo(repo)
    gen(repo, {"data.txt": "tracked data\n"})
    assert run("add", "data.txt").exit_code == 0
    git(repo, "commit", "-qm", "data")
    base = head(repo)
    index_before = git(repo, "ls-files", "-s")
    doc = exp_run("-S", "train.lr=0.5", "-S", "params.yaml:train.epochs=7", "-n", "fast")
    assert doc["name"] == "fast"
    assert doc["baseline"] == base
    assert doc["ran"] == ["train"]
    rev = git(repo, "rev-parse", "refs/exps/fast").strip()
    assert rev == doc["rev"]
    assert git(repo, "rev-parse", f"{rev}^").strip() == base
    # HEAD, the branch and the index did not move; the workspace has the results
    assert head(repo) == base
    assert git(repo, "rev-parse", "main").strip() == base
    assert git(repo, "ls-files", "-s") == index_before
    status = git(repo, "status", "--porcelain", "--untracked-files=no").splitlines()
    assert sorted(status) == [" M dvlite.lock", " M params.yaml", " M scores.json"]
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params == {"train": {"lr": 0.5, "epochs": 7}, "other": "keep"}
    # the commit holds the params, metrics, lock and pointers as in the workspace
    for path in ("params.yaml", "scores.json", "dvlite.lock", "data.txt.dvl", "dvlite.yaml"):
        assert show_at(repo, rev, path) == (repo / path).read_text(), path
    assert json.loads(show_at(repo, rev, "scores.json")) == {"acc": 0.5, "loss": {"val": 1.0}}
    check_repo(repo)


def test_generated_names_are_unique_and_short(repo: Path) -> None:
    exp_repo(repo)
    one = exp_run("-S", "train.lr=0.1")
    two = exp_run("-S", "train.lr=0.2")
    assert one["name"] != two["name"]
    for doc in (one, two):
        name = str(doc["name"])
        assert name == "exp-" + str(doc["rev"])[:6]
        assert git(repo, "rev-parse", f"refs/exps/{name}").strip() == doc["rev"]
    r = run("exp", "run", "-S", "train.lr=0.3")
    assert r.exit_code == 0, r.stderr
    assert "Experiment 'exp-" in r.stdout


def test_an_existing_name_is_refused_unless_forced(repo: Path) -> None:
    exp_repo(repo)
    first = exp_run("-S", "train.lr=0.1", "-n", "a")
    r = run("exp", "run", "-S", "train.lr=0.2", "-n", "a")
    assert r.exit_code == 2
    assert "error: experiment 'a' already exists" in r.stderr
    assert "lr: 0.1" in (repo / "params.yaml").read_text()  # refused before anything ran
    assert git(repo, "rev-parse", "refs/exps/a").strip() == first["rev"]
    second = exp_run("-S", "train.lr=0.2", "-n", "a", "-f")
    assert git(repo, "rev-parse", "refs/exps/a").strip() == second["rev"] != first["rev"]


def test_a_failing_stage_leaves_no_experiment(repo: Path) -> None:
    exp_repo(repo)
    gen(repo, {"train.py": "import sys\nsys.exit(3)\n"})
    r = run("exp", "run", "-S", "train.lr=0.9", "-n", "broken")
    assert r.exit_code == 3
    assert git(repo, "for-each-ref", "refs/exps") == ""


def test_bad_overrides_and_names_are_usage_errors(repo: Path) -> None:
    exp_repo(repo)
    for args, msg in ((["-S", "novalue"], "bad parameter override 'novalue'"),
                      (["-S", "other.x=1"], "cannot set 'other.x': 'other' is not a mapping"),
                      (["-n", "bad name"], "invalid experiment name 'bad name'"),
                      (["-n", "../x"], "invalid experiment name")):
        r = run("exp", "run", *args)
        assert r.exit_code == 2, (args, r.stderr)
        assert msg in r.stderr
    assert git(repo, "for-each-ref", "refs/exps") == ""


def test_overrides_keep_other_keys_in_json_and_toml(repo: Path) -> None:
    exp_repo(repo)
    gen(repo, {"cfg.json": '{"a": {"b": 1}, "keep": true}', "cfg.toml": "# c\n[m]\nd = 1\n"})
    doc = exp_run("-S", "cfg.json:a.b=[1, 2]", "-S", "cfg.toml:m.d=5", "-S", "new.k=x")
    assert json.loads((repo / "cfg.json").read_text()) == {"a": {"b": [1, 2]}, "keep": True}
    assert (repo / "cfg.toml").read_text() == "# c\n[m]\nd = 5\n"
    assert yaml.safe_load((repo / "params.yaml").read_text())["new"] == {"k": "x"}
    assert doc["ran"] == []  # the stage reads neither: nothing to run


def test_yaml_overrides_keep_comments_and_layout(repo: Path) -> None:
    exp_repo(repo)
    exp_run("-S", "train.lr=0.5", "-S", "other=[1, 2]")
    assert (repo / "params.yaml").read_text() == (
        "# training\ntrain:\n  lr: 0.5\n  epochs: 3\nother: [1, 2]\n")
    # a new key cannot be written in place: the file is rewritten, values kept
    exp_run("-S", "train.new.deep=x")
    assert yaml.safe_load((repo / "params.yaml").read_text()) == {
        "train": {"lr": 0.5, "epochs": 3, "new": {"deep": "x"}}, "other": [1, 2]}
