"""The experiments tutorial (docs/experiments.md) runs as written: its shell blocks, one
line at a time in one shell, on a copy of examples/digits (real scikit-learn), each
command's exit code the one its comment names (0 otherwise); the table it shows is the
one `exp show` prints, but for commits and times."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import git

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "experiments.md"
_EXIT = re.compile(r"#.*\bexit (\d+)")


def _section() -> str:
    text = DOC.read_text()
    start = text.index("## Tutorial:")
    return text[start:text.index("\n## ", start + 1)]


def _commands(section: str) -> list[tuple[str, int]]:
    """The sh blocks' commands with the exit code each expects."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            want = int(m.group(1)) if (m := _EXIT.search(line)) else 0
            cmd = re.sub(r"(^|\s)#\s.*", "", line).strip()
            if cmd:
                found.append((cmd, want))
    return found


def _script(commands: list[tuple[str, int]], outdir: Path) -> str:
    """One bash script that keeps each command's stdout in `outdir/N` and stops at the
    first unexpected exit code."""
    lines = ["set -u"]
    for n, (cmd, want) in enumerate(commands):
        lines.append(f"{{ {cmd}; }} > {outdir}/{n}; rc=$?; [ $rc -eq {want} ] || "
                     f"{{ cat {outdir}/{n}; echo \"exit $rc, not {want}: {cmd!r}\" >&2; "
                     "exit 99; }")
    return "\n".join(lines) + "\n"


def _table(text: str) -> list[list[str]]:
    """Rows of an `exp show` table without its commit and time columns."""
    return [[c for i, c in enumerate(line.split()) if i not in (1, 2)]
            for line in text.strip().splitlines()]


def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "digits", tmp_path / "examples" / "digits")
    bindir = str(Path(sys.executable).parent)  # dvlite and a python with scikit-learn
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"],
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    section = _section()
    commands = _commands(section)
    outdir = tmp_path / "out"
    outdir.mkdir()
    proc = subprocess.run(["bash", "-c", _script(commands, outdir)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    repo = tmp_path / "digits"
    sorted_show = next(n for n, (cmd, _) in enumerate(commands) if "--sort-by" in cmd)
    doc_table = re.search(r"```console\n(.*?)```", section, re.S)
    assert doc_table is not None
    assert _table((outdir / str(sorted_show)).read_text()) == _table(doc_table.group(1))
    metrics = json.loads((repo / "metrics.json").read_text())
    assert metrics["accuracy"] == 0.9867  # c10's, applied and committed
    assert "train:\n  C: 10\n" in git(repo, "show", "HEAD:params.yaml")
    page = repo / "dvlite_plots" / "index.html"
    assert page.is_file() and "c10" in page.read_text()
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""
