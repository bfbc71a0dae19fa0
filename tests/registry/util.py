"""A registry repository: the experiment repository's stage writing model.bin, declared
as the artifact `clf`, with helpers to make versions of it."""

from __future__ import annotations

from pathlib import Path

from tests.exp.util import PIPELINE, exp_repo, head
from tests.helpers import gen, git, run

ARTIFACTS = """\
artifacts:
  clf:
    path: model.bin
    type: model
    desc: Digits classifier
    labels: [sklearn, digits]
"""


def registry_repo(repo: Path) -> str:
    """The experiment baseline with `clf` declared, committed; returns its commit."""
    exp_repo(repo)
    gen(repo, {"dvlite.yaml": PIPELINE + ARTIFACTS})
    git(repo, "commit", "-qam", "declare clf")
    return head(repo)


def new_model(repo: Path, lr: float) -> str:
    """Retrain with another learning rate and commit; returns the commit."""
    text = (repo / "params.yaml").read_text()
    import re

    (repo / "params.yaml").write_text(re.sub(r"lr: [0-9.]+", f"lr: {lr}", text))
    r = run("repro")
    assert r.exit_code == 0, r.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"lr {lr}")
    return head(repo)


def tags(repo: Path) -> list[str]:
    return git(repo, "tag", "--list").split()


def ok(*args: str) -> str:
    r = run(*args)
    assert r.exit_code == 0, r.stderr
    return r.stdout
