"""`dvlite commit`: record a stage whose command was run by hand, without running it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import check_repo, gen, git, run
from tests.pipeline.util import lock, ran, setup_steps, step

PIPELINE = f"""\
stages:
  prep:
    cmd: {step("prep", "prep.txt", "data.txt")}
    deps: [data.txt]
    outs: [prep.txt]
  train:
    cmd: {step("train", "model.txt", "prep.txt")}
    deps: [prep.txt]
    outs: [model.txt]
"""


def _by_hand(repo: Path, data: str) -> None:
    gen(repo, {"data.txt": data, "prep.txt": data + "prep\n", "model.txt": data + "model\n"})


def test_commit_records_hand_run_outputs_so_repro_has_nothing_to_do(repo: Path) -> None:
    setup_steps(repo, PIPELINE)
    _by_hand(repo, "d1\n")
    r = run("commit")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["Recorded stage 'prep' in dvlite.lock",
                                     "Recorded stage 'train' in dvlite.lock"]
    assert ran(repo) == []  # nothing ran
    entries = lock(repo)
    assert entries["train"]["outs"][0]["path"] == "model.txt"  # type: ignore[index]
    assert "/model.txt" in (repo / ".gitignore").read_text()
    assert {"dvlite.lock", ".gitignore"} <= set(git(repo, "diff", "--cached", "--name-only")
                                                .split())
    assert "nothing to run" in run("repro").stdout
    assert ran(repo) == []
    assert run("status", "--exit-code").exit_code == 0  # the outputs are tracked data
    check_repo(repo)


def test_commit_of_one_stage_after_a_hand_edit(repo: Path) -> None:
    setup_steps(repo, PIPELINE)
    _by_hand(repo, "d1\n")
    assert run("commit").exit_code == 0
    before = lock(repo)
    (repo / "model.txt").write_text("tuned by hand\n")
    r = run("commit", "train", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {"committed": ["train"], "frozen": []}
    after = lock(repo)
    assert after["prep"] == before["prep"]
    assert after["train"] != before["train"]
    assert "nothing to run" in run("repro").stdout
    (repo / "model.txt").unlink()
    assert run("checkout").exit_code == 0
    assert (repo / "model.txt").read_text() == "tuned by hand\n"


def test_commit_refuses_missing_dependencies_and_outputs(repo: Path) -> None:
    setup_steps(repo, PIPELINE)
    gen(repo, {"prep.txt": "p\n", "model.txt": "m\n"})
    r = run("commit")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: dvlite.yaml:")
    assert "dependency 'data.txt' does not exist" in r.stderr
    assert not (repo / "dvlite.lock").exists()
    gen(repo, {"data.txt": "d\n"})
    (repo / "model.txt").unlink()
    r = run("commit")
    assert r.exit_code == 1
    assert "output 'model.txt' does not exist: nothing to commit" in r.stderr
    assert not (repo / "dvlite.lock").exists()
    unknown = run("commit", "nope")
    assert unknown.exit_code == 1
    assert "unknown stage 'nope'" in unknown.stderr


def test_a_changed_command_needs_force(repo: Path) -> None:
    setup_steps(repo, PIPELINE)
    _by_hand(repo, "d1\n")
    assert run("commit").exit_code == 0
    before = (repo / "dvlite.lock").read_bytes()
    changed = PIPELINE.replace("step.py train model.txt", "step.py train2 model.txt")
    assert changed != PIPELINE
    (repo / "dvlite.yaml").write_text(changed)
    r = run("commit", "train")
    assert r.exit_code == 1
    assert "stage 'train': its command changed since it was last recorded" in r.stderr
    assert "hint: dvlite commit --force train" in r.stderr
    assert (repo / "dvlite.lock").read_bytes() == before
    assert run("commit", "--force", "train").exit_code == 0
    assert "nothing to run" in run("repro").stdout
