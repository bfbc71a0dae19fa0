"""`exp run --queue` and `exp run --run-all -j N`: queued experiments, run in temporary
worktrees sharing the cache, recorded like any experiment; failures kept as failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.exp.util import TRAIN, exp_repo, head, project_below_git_root, show_at
from tests.helpers import check_repo, git, run, snapshot
from tests.pipeline.util import PY


def _show(repo: Path) -> dict[str, dict[str, Any]]:
    r = run("exp", "show", "--json")
    assert r.exit_code == 0, r.stderr
    return {row["name"]: row for row in json.loads(r.stdout)}


def _queue(*args: str) -> dict[str, Any]:
    r = run("exp", "run", "--queue", "--json", *args)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert isinstance(doc, dict)
    return doc


def _workspace(repo: Path) -> tuple[dict[str, bytes | str], str]:
    files = {k: v for k, v in snapshot(repo).items() if ".dvlite" not in k.split("/")}
    return files, git(repo, "status", "--porcelain", "--untracked-files=all")


def _worktrees(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [line for line in out.splitlines() if line.startswith("worktree ")]


def test_queued_experiments_are_shown_then_run_in_parallel(repo: Path) -> None:
    base = exp_repo(repo)
    before = _workspace(repo)
    docs = [_queue("-S", f"train.lr={lr}", "-n", name)
            for name, lr in (("a", 0.1), ("b", 0.2), ("c", 0.3))]
    unnamed = _queue("-S", "train.epochs=5", "train")
    assert unnamed["name"] == "exp-" + str(unnamed["rev"])[:6]
    assert _workspace(repo) == before  # queueing writes nothing in the workspace
    assert {d["baseline"] for d in docs} == {base}
    rows = _show(repo)
    for name, lr in (("a", 0.1), ("b", 0.2), ("c", 0.3)):
        assert rows[name]["state"] == "queued"
        assert rows[name]["baseline"] == base
        assert rows[name]["params"]["params.yaml"]["train.lr"] == lr
        assert rows[name]["metrics"] == {}
    assert rows["main"]["state"] == "success"
    listed = json.loads(run("exp", "list", "--json").stdout)
    assert {e["name"]: e["state"] for e in listed} == {
        "a": "queued", "b": "queued", "c": "queued", unnamed["name"]: "queued"}
    # a queued experiment is no revision yet
    assert run("exp", "apply", "a").exit_code == 2

    r = run("exp", "run", "--run-all", "-j", "2")
    assert r.exit_code == 0, r.stderr
    assert "Experiment 'a' recorded" in r.stdout
    assert _workspace(repo) == before
    assert head(repo) == base
    assert git(repo, "for-each-ref", "refs/exps-queue", "refs/exps-failed") == ""
    assert len(_worktrees(repo)) == 1
    rows = _show(repo)
    for name, lr in (("a", 0.1), ("b", 0.2), ("c", 0.3)):
        assert rows[name]["state"] == "success"
        assert rows[name]["baseline"] == base
        assert rows[name]["metrics"]["scores.json"] == {"acc": round(1 - lr, 3),
                                                        "loss.val": lr * 2}
        rev = git(repo, "rev-parse", f"refs/exps/{name}").strip()
        assert git(repo, "rev-parse", f"{rev}^").strip() == base
        params = yaml.safe_load(show_at(repo, rev, "params.yaml"))
        assert params == {"train": {"lr": lr, "epochs": 3}, "other": "keep"}
    assert rows[unnamed["name"]]["params"]["params.yaml"]["train.epochs"] == 5
    fsck = run("fsck")
    assert fsck.exit_code == 0, fsck.stdout + fsck.stderr
    check_repo(repo)
    # the outputs are in this repository's cache: an experiment restores from it
    assert run("exp", "apply", "b").exit_code == 0
    assert (repo / "model.bin").read_text() == "model lr=0.2 epochs=3"


def test_a_failing_experiment_is_recorded_failed_and_the_others_run(repo: Path) -> None:
    base = exp_repo(repo)
    _queue("-S", "train.lr=0.1", "-n", "good")
    _queue("-S", "train.lr=oops", "-n", "bad")  # 1 - "oops": the stage fails
    _queue("-S", "train.lr=0.4", "-n", "late")
    before = _workspace(repo)
    r = run("exp", "run", "--run-all", "-j", "3")
    assert r.exit_code == 1
    assert "Experiment 'bad' failed with exit code 1" in r.stdout
    assert "1 of 3 queued experiments failed: bad" in r.stderr
    assert _workspace(repo) == before
    assert len(_worktrees(repo)) == 1
    rows = _show(repo)
    assert {n: rows[n]["state"] for n in ("good", "bad", "late")} == {
        "good": "success", "bad": "failed", "late": "success"}
    assert rows["late"]["metrics"]["scores.json"]["acc"] == 0.6
    assert rows["bad"]["baseline"] == base
    listed = {e["name"]: e for e in json.loads(run("exp", "list", "--json").stdout)}
    assert listed["bad"]["state"] == "failed"
    assert listed["bad"]["exit_code"] == 1
    assert listed["good"]["exit_code"] is None
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/exps-failed").split() == [
        "refs/exps-failed/bad"]
    assert git(repo, "for-each-ref", "refs/exps-queue") == ""
    # the queue is empty now; a failed experiment is removed like any other
    again = run("exp", "run", "--run-all")
    assert again.exit_code == 0
    assert "No queued experiments." in again.stdout
    assert run("exp", "remove", "bad").exit_code == 0
    assert git(repo, "for-each-ref", "refs/exps-failed") == ""
    check_repo(repo)


def test_queue_names_and_run_all_arguments(repo: Path) -> None:
    exp_repo(repo)
    _queue("-S", "train.lr=0.1", "-n", "x")
    r = run("exp", "run", "--queue", "-S", "train.lr=0.2", "-n", "x")
    assert r.exit_code == 2
    assert "experiment 'x' already exists" in r.stderr
    forced = _queue("-S", "train.lr=0.2", "-n", "x", "-f")
    assert git(repo, "rev-parse", "refs/exps-queue/x").strip() == forced["rev"]
    assert _show(repo)["x"]["params"]["params.yaml"]["train.lr"] == 0.2
    r = run("exp", "run", "--queue", "-S", "novalue")
    assert r.exit_code == 2
    assert "bad parameter override" in r.stderr
    for args in (["-S", "train.lr=1"], ["-n", "y"], ["--queue"], ["train"]):
        r = run("exp", "run", "--run-all", *args)
        assert r.exit_code == 2, args
        assert "--run-all runs the queue as recorded" in r.stderr
    assert run("exp", "remove", "--all").exit_code == 0
    assert git(repo, "for-each-ref", "refs/exps-queue") == ""


READS_DATA = """\
stages:
  train:
    cmd: {py} train.py
    deps: [train.py, data.txt]
    params: [train.lr, train.epochs]
    outs: [model.bin]
    metrics: [scores.json]
"""


def test_run_all_below_the_git_root_reads_tracked_data_from_the_cache(tmp_path: Path) -> None:
    train = TRAIN + 'assert open("data.txt").read() == "tracked\\n"\n'
    files = {"dvlite.yaml": READS_DATA.format(py=PY), "train.py": train,
             "data.txt": "tracked\n", "params.yaml": "train:\n  lr: 0.25\n  epochs: 3\n"}
    with project_below_git_root(tmp_path, files) as (top, proj):
        assert run("add", "data.txt").exit_code == 0
        assert run("repro").exit_code == 0
        git(top, "add", "-A")
        git(top, "commit", "-qm", "baseline")
        _queue("-S", "train.lr=0.5", "-n", "half")
        assert git(top, "show", "refs/exps-queue/half:ml/params.yaml") == (
            "train:\n  lr: 0.5\n  epochs: 3\n")
        before = _workspace(top)
        r = run("exp", "run", "--run-all")
        assert r.exit_code == 0, r.stdout + r.stderr
        assert _workspace(top) == before
        assert _show(proj)["half"]["metrics"]["scores.json"]["acc"] == 0.5
        assert len(_worktrees(top)) == 1
        check_repo(proj)
