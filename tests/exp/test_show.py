"""`exp show`: one row per baseline and experiment, params and metrics from git."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.exp.util import exp_repo, exp_run
from tests.helpers import git, run


def _three(repo: Path) -> tuple[str, list[dict[str, object]]]:
    base = exp_repo(repo)
    docs = [exp_run("-S", f"train.lr={lr}", "-n", name)
            for name, lr in (("e1", 0.5), ("e2", 0.125), ("e3", 0.75))]
    return base, docs


def test_show_json_has_every_param_and_metric(repo: Path) -> None:
    base, docs = _three(repo)
    r = run("exp", "show", "--json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["name"] for row in rows] == ["main", "e1", "e2", "e3"]
    assert rows[0]["rev"] == rows[0]["baseline"] == base
    assert [row["rev"] for row in rows[1:]] == [d["rev"] for d in docs]
    assert {row["baseline"] for row in rows} == {base}
    assert {row["state"] for row in rows} == {"success"}
    assert rows[0]["params"] == {"params.yaml": {"train.lr": 0.25, "train.epochs": 3,
                                                 "other": "keep"}}
    assert rows[0]["metrics"] == {"scores.json": {"acc": 0.75, "loss.val": 0.5}}
    assert [row["params"]["params.yaml"]["train.lr"] for row in rows] == [0.25, 0.5, 0.125, 0.75]
    assert [row["metrics"]["scores.json"]["acc"] for row in rows] == [0.75, 0.5, 0.875, 0.25]
    created = git(repo, "log", "-1", "--format=%cI", str(docs[0]["rev"])).strip()
    assert rows[1]["created"] == created


def test_show_table_csv_and_sort(repo: Path) -> None:
    base, _ = _three(repo)
    lines = run("exp", "show").stdout.splitlines()
    assert lines[0].split() == ["Experiment", "rev", "Created", "State", "other",
                                "train.epochs", "train.lr", "acc", "loss.val"]
    assert lines[1].split()[:2] == ["main", base[:7]]
    assert lines[2].startswith("  e1 ")
    assert lines[2].split()[3:] == ["success", "keep", "3", "0.5", "0.5", "1.0"]

    rows = list(csv.DictReader(io.StringIO(run("exp", "show", "--csv").stdout)))
    assert [r["name"] for r in rows] == ["main", "e1", "e2", "e3"]
    assert rows[3]["scores.json:acc"] == "0.25"
    assert rows[3]["baseline"] == base

    def names(*args: str) -> list[str]:
        r = run("exp", "show", "--json", *args)
        assert r.exit_code == 0, r.stderr
        return [row["name"] for row in json.loads(r.stdout)]

    assert names("--sort-by", "acc") == ["main", "e3", "e1", "e2"]
    assert names("--sort-by", "scores.json:acc", "--sort-order", "desc") == [
        "main", "e2", "e1", "e3"]
    assert names("--sort-by", "train.lr") == ["main", "e2", "e1", "e3"]
    assert names("--sort-by", "name", "--sort-order", "desc") == ["main", "e3", "e2", "e1"]
    bad = run("exp", "show", "--sort-by", "nope")
    assert bad.exit_code == 2
    assert "no column 'nope'" in bad.stderr


def test_show_last_commits_groups_experiments_by_baseline(repo: Path) -> None:
    first = exp_repo(repo)
    exp_run("-S", "train.lr=0.5", "-n", "on-first")
    git(repo, "commit", "-qam", "second")
    second = git(repo, "rev-parse", "HEAD").strip()
    exp_run("-S", "train.lr=0.125", "-n", "on-second")
    rows = json.loads(run("exp", "show", "--json").stdout)
    assert [r["name"] for r in rows] == ["main", "on-second"]
    rows = json.loads(run("exp", "show", "--json", "-n", "2").stdout)
    assert [(r["name"], r["baseline"]) for r in rows] == [
        ("main", second), ("on-second", second), (first[:7], first), ("on-first", first)]
    assert rows[2]["params"]["params.yaml"]["train.lr"] == 0.25


def test_show_reads_cached_metrics_from_the_cache(repo: Path) -> None:
    exp_repo(repo)
    text = (repo / "dvlite.yaml").read_text().replace(
        "metrics: [scores.json]", "metrics:\n      - scores.json: {cache: true}")
    (repo / "dvlite.yaml").write_text(text)
    git(repo, "rm", "-q", "--cached", "scores.json")
    assert run("repro", "--force").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "cached metrics")
    exp_run("-S", "train.lr=0.5", "-n", "c")
    rows = json.loads(run("exp", "show", "--json").stdout)
    assert [r["metrics"]["scores.json"]["acc"] for r in rows] == [0.75, 0.5]


def test_show_all_commits_takes_every_branch_and_tag(repo: Path) -> None:
    first = exp_repo(repo)
    git(repo, "tag", "v1")
    git(repo, "checkout", "-qb", "side")
    git(repo, "commit", "-q", "--allow-empty", "-m", "side work")
    side = git(repo, "rev-parse", "HEAD").strip()
    exp_run("-S", "train.lr=0.5", "-n", "on-side")
    git(repo, "checkout", "-q", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "main work")
    main = git(repo, "rev-parse", "HEAD").strip()
    assert [r["name"] for r in json.loads(run("exp", "show", "--json").stdout)] == ["main"]
    rows = json.loads(run("exp", "show", "--json", "--all-commits").stdout)
    by_rev = {r["rev"]: r["name"] for r in rows}
    assert by_rev[main] == "main" and by_rev[side] == "side" and by_rev[first] == "v1"
    commits = git(repo, "rev-list", "--branches", "--tags").split()
    assert len(rows) == len(commits) + 1  # every commit once, and the side's experiment
    on_side = next(r for r in rows if r["name"] == "on-side")
    assert on_side["baseline"] == side
    assert rows.index(on_side) == rows.index(next(r for r in rows if r["rev"] == side)) + 1
    assert on_side["params"]["params.yaml"]["train.lr"] == 0.5
