"""exp push / exp pull / exp list GIT_REMOTE: two clones of a bare origin sharing a folder
dvlite remote; the data goes before the refs, and a pulled experiment applies offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.exp.util import exp_repo, exp_run
from tests.helpers import git, run


@pytest.fixture
def team(repo: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(A, B, the dvlite remote folder): A is `repo` with a baseline pushed to a bare
    origin, B a clone of it; both use the folder remote committed in A's config."""
    store = tmp_path / "store"
    assert run("remote", "add", "store", str(store), "--default").exit_code == 0
    exp_repo(repo)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    other = tmp_path / "b"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(origin), str(other)], check=True)
    return repo, other, store


def remote_refs(repo: Path) -> str:
    return git(repo, "ls-remote", "origin", "refs/exps/*")


def test_push_list_pull_apply_offline(team: tuple[Path, Path, Path]) -> None:
    a, b, store = team
    exp_run("-S", "train.lr=0.5", "-n", "half")
    exp_run("-S", "train.lr=0.1", "-n", "tenth")
    r = run("exp", "push", "origin", "half")
    assert r.exit_code == 0, r.stderr
    assert "Pushed experiment 'half'" in r.stdout
    assert "refs/exps/half" in remote_refs(a) and "tenth" not in remote_refs(a)

    r = run("exp", "list", "origin", cwd=b)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.split()[0] == "half" and "tenth" not in r.stdout
    r = run("exp", "push", "origin")  # no names: every experiment
    assert r.exit_code == 0, r.stderr
    r = run("exp", "list", "origin", "--json", cwd=b)
    assert [e["name"] for e in json.loads(r.stdout)] == ["half", "tenth"]

    r = run("exp", "pull", "origin", "half", cwd=b)
    assert r.exit_code == 0, r.stderr
    assert git(b, "rev-parse", "refs/exps/half") == git(a, "rev-parse", "refs/exps/half")
    store.rename(store.with_name("gone"))  # B's cache must hold the data now
    r = run("exp", "apply", "half", cwd=b)
    assert r.exit_code == 0, r.stderr
    assert (b / "model.bin").read_text() == "model lr=0.5 epochs=3"
    assert "lr: 0.5" in (b / "params.yaml").read_text()


def test_unknown_names_are_errors(team: tuple[Path, Path, Path]) -> None:
    a, b, _ = team
    exp_run("-S", "train.lr=0.5", "-n", "half")
    r = run("exp", "push", "origin", "nope")
    assert r.exit_code != 0 and "nope" in r.stderr
    assert remote_refs(a) == ""
    assert run("exp", "push", "origin").exit_code == 0
    r = run("exp", "pull", "origin", "half", "missing", cwd=b)
    assert r.exit_code != 0 and "missing" in r.stderr
    assert git(b, "for-each-ref", "refs/exps/") == ""  # nothing fetched


def test_unreachable_dvlite_remote_pushes_no_ref(team: tuple[Path, Path, Path],
                                                 tmp_path: Path) -> None:
    a, _, _ = team
    exp_run("-S", "train.lr=0.5", "-n", "half")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the remote's parent folder should be")
    assert run("remote", "add", "broken", str(blocker / "store")).exit_code == 0
    r = run("exp", "push", "origin", "-r", "broken")
    assert r.exit_code != 0
    assert remote_refs(a) == ""
    assert run("exp", "push", "origin", "-r", "store").exit_code == 0
    assert "refs/exps/half" in remote_refs(a)


def test_replacing_a_shared_experiment_needs_force(team: tuple[Path, Path, Path]) -> None:
    a, b, _ = team
    exp_run("-S", "train.lr=0.5", "-n", "half")
    assert run("exp", "push", "origin").exit_code == 0
    assert run("exp", "pull", "origin", "half", cwd=b).exit_code == 0
    exp_run("-S", "train.lr=0.4", "-n", "half", "-f")
    new = git(a, "rev-parse", "refs/exps/half").strip()
    assert run("exp", "push", "origin", "half").exit_code != 0
    assert new not in remote_refs(a)
    assert run("exp", "push", "origin", "half", "-f").exit_code == 0
    assert new in remote_refs(a)
    assert run("exp", "pull", "origin", "half", cwd=b).exit_code != 0
    assert run("exp", "pull", "origin", "half", "-f", cwd=b).exit_code == 0
    assert git(b, "rev-parse", "refs/exps/half").strip() == new
    assert run("exp", "apply", "half", cwd=b).exit_code == 0
    assert (b / "model.bin").read_text() == "model lr=0.4 epochs=3"
