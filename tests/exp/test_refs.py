"""`exp list`, `exp remove`, `exp branch`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.exp.util import exp_repo, exp_run
from tests.helpers import git, run


def test_list_remove_and_branch(repo: Path) -> None:
    base = exp_repo(repo)
    assert run("exp", "list").stdout == "No experiments.\n"
    a = exp_run("-S", "train.lr=0.1", "-n", "a")
    b = exp_run("-S", "train.lr=0.2", "-n", "b")
    c = exp_run("-S", "train.lr=0.3", "-n", "c")
    listed = json.loads(run("exp", "list", "--json").stdout)
    assert [(e["name"], e["rev"], e["baseline"]) for e in listed] == [
        ("a", a["rev"], base), ("b", b["rev"], base), ("c", c["rev"], base)]
    text = run("exp", "list").stdout.splitlines()
    assert text[0] == f"a  {str(a['rev'])[:7]}  baseline {base[:7]}"

    r = run("exp", "branch", "b", "try-b")
    assert r.exit_code == 0, r.stderr
    assert git(repo, "rev-parse", "try-b").strip() == b["rev"]
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    again = run("exp", "branch", "b", "try-b")
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert run("exp", "branch", "nope", "x").exit_code == 2

    unknown = run("exp", "remove", "a", "nope")
    assert unknown.exit_code == 2
    assert "no experiment named 'nope'" in unknown.stderr
    assert len(json.loads(run("exp", "list", "--json").stdout)) == 3  # none removed
    r = run("exp", "remove", "a")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "Removed experiment 'a'\n"
    assert [e["name"] for e in json.loads(run("exp", "list", "--json").stdout)] == ["b", "c"]
    assert run("exp", "remove").exit_code == 2
    r = run("exp", "remove", "--all")
    assert r.exit_code == 0, r.stderr
    assert git(repo, "for-each-ref", "refs/exps") == ""
    assert git(repo, "rev-parse", "try-b").strip() == b["rev"]  # the branch stays
    assert c["rev"]
