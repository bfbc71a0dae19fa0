"""The pure-Python example of docs/pipelines.md, run as the page tells a user to."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tests.helpers import check_repo, gen, git, run

DOC = Path(__file__).parents[2] / "docs" / "pipelines.md"
_FILE = re.compile(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", re.S)


def example_files() -> dict[str, str]:
    section = DOC.read_text().split("## Example: pure Python")[1]
    files = dict(_FILE.findall(section))
    # the page says `python`; the tests run the interpreter that runs them
    files["dvlite.yaml"] = files["dvlite.yaml"].replace("cmd: python ", f"cmd: {sys.executable} ")
    return files


def _ran(stdout: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", stdout)


def test_pure_python_example_from_the_docs(repo: Path) -> None:
    files = example_files()
    assert sorted(files) == ["data/points.csv", "dvlite.yaml", "evaluate.py", "params.yaml",
                             "prepare.py", "train.py"]
    gen(repo, files)
    first = run("repro")
    assert first.exit_code == 0, first.stderr
    assert _ran(first.stdout) == ["prepare", "train", "evaluate"]
    again = run("repro")
    assert again.exit_code == 0
    assert _ran(again.stdout) == []
    assert "nothing to run" in again.stdout
    shown = json.loads(run("metrics", "show", "--json").stdout)["workspace"]["metrics.json"]
    assert shown["mse"] < 0.5
    assert 1.5 < shown["slope"] < 2.5
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "line fit")
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("epochs: 500", "epochs: 50"))
    dry = run("repro", "--dry-run")
    assert "would run 'train': parameter 'train.epochs' changed (500 -> 50)" in dry.stdout
    assert "would run 'prepare'" not in dry.stdout
    second = run("repro")
    assert _ran(second.stdout) == ["train", "evaluate"]
    diff = json.loads(run("metrics", "diff", "--json").stdout)["metrics.json"]
    assert diff["mse"]["diff"] > 0
    git(repo, "checkout", "params.yaml")
    back = run("repro")
    assert _ran(back.stdout) == []
    assert "restored train from run cache" in back.stdout
    assert "restored evaluate from run cache" in back.stdout
    assert git(repo, "status", "--porcelain") == ""  # lock and metrics exactly as committed
    check_repo(repo)
