"""docs/ci.md: the GitHub Actions steps, run as written in fresh clones, pass on a
reproducible commit and fail when data was not pushed or dvlite.lock is stale; the
Jenkinsfile runs the same commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import run
from tests.hooks.conftest import World, sh

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"


def fenced(lang: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    return blocks[0]


def workflow_steps() -> list[tuple[str, str]]:
    doc = yaml.safe_load(fenced("yaml"))
    steps = doc["jobs"]["data"]["steps"]
    return [(s["name"], s["run"]) for s in steps if "run" in s and "pip install" not in s["run"]]


def commands(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip()]


def run_ci(clone: Path) -> tuple[int, str]:
    """Run the workflow's steps in order like the runner does (bash -e per step)."""
    env = {**os.environ, "DVLITE_SKIP_HOOKS": "1",
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    for name, script in workflow_steps():
        proc = subprocess.run(["bash", "-e", "-c", script], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            return proc.returncode, f"{name}: {proc.stdout}{proc.stderr}"
    return 0, ""


@pytest.fixture
def pipeline(world: World) -> World:
    a = world.a
    (a / "data.txt").write_text("hello\n")
    assert run("add", "data.txt", cwd=a).exit_code == 0
    r = run("stage", "add", "-n", "double", "-d", "data.txt", "-o", "out.txt",
            "cat data.txt data.txt > out.txt", cwd=a)
    assert r.exit_code == 0, r.stderr
    assert run("repro", cwd=a).exit_code == 0
    sh(a, "add", "dvlite.yaml", "dvlite.lock", ".gitignore")
    sh(a, "commit", "-q", "-m", "pipeline")
    sh(a, "push", "-q", "origin", "main")  # the pre-push hook uploads the data
    return world


@pytest.mark.e2e
def test_reproducible_commit_passes(pipeline: World) -> None:
    b = pipeline.clone("ci", install=False)
    code, log = run_ci(b)
    assert code == 0, log
    assert (b / "out.txt").read_text() == "hello\n" * 2


@pytest.mark.e2e
def test_stale_lockfile_fails(pipeline: World) -> None:
    a = pipeline.a
    yml = a / "dvlite.yaml"
    yml.write_text(yml.read_text().replace("cat data.txt data.txt", "cat data.txt"))
    sh(a, "commit", "-q", "-am", "changed the command, forgot repro")
    sh(a, "push", "-q", "origin", "main")
    code, log = run_ci(pipeline.clone("ci", install=False))
    assert code == 1
    assert log.startswith("Data, pointers and dvlite.lock are what was committed")


@pytest.mark.e2e
def test_unpushed_data_fails(pipeline: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a = pipeline.a
    (a / "more.txt").write_text("never pushed")
    assert run("add", "more.txt", cwd=a).exit_code == 0
    sh(a, "commit", "-q", "-m", "more")
    monkeypatch.setenv("DVLITE_SKIP_HOOKS", "1")
    sh(a, "push", "-q", "origin", "main")
    code, log = run_ci(pipeline.clone("ci", install=False))
    assert code == 1
    assert log.startswith("Every pointer's data is on the remote")
    assert "more.txt" in log


def test_jenkinsfile_runs_the_same_commands() -> None:
    groovy = fenced("groovy")
    jenkins = re.findall(r"sh '([^']*)'", groovy)
    actions = [c for _, script in workflow_steps() for c in commands(script)]
    assert jenkins == actions
    assert "when { branch 'main' }" in groovy
    installed = re.search(r'pip install (".+")', fenced("yaml"))  # the same dvlite
    assert installed and f"pip install --no-cache-dir {installed[1]}" in fenced("dockerfile")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert f"{name}" in groovy
        assert f"${{{{ secrets.{name} }}}}" in fenced("yaml")


def test_main_only_push_condition() -> None:
    doc = yaml.safe_load(fenced("yaml"))
    push = [s for s in doc["jobs"]["data"]["steps"] if s.get("run") == "dvlite push"]
    assert len(push) == 1
    assert "refs/heads/main" in push[0]["if"]
