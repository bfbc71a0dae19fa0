"""What a new user sees: the progress bar's units, unknown options, hints, help layout,
shell completion."""

from __future__ import annotations

import io
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer.main
from rich.console import Console
from typer.testing import CliRunner

from dvlite.cli.complete import remote_names, stage_names
from dvlite.cli.main import app
from dvlite.cli.ui import RichProgress, speed_column
from tests.helpers import gen, run


def test_progress_bar_counts_in_binary_units() -> None:
    screen = io.StringIO()
    bar = RichProgress(Console(file=screen, force_terminal=True, width=150))
    bar.begin("Pushing", 1, 419 << 20)
    bar.advance(nbytes=5 << 20)
    bar.end()
    frames = screen.getvalue()
    assert "0.0/419.0 MiB" in frames and "5.0/419.0 MiB" in frames
    assert " MB" not in frames
    rate = speed_column().render(SimpleNamespace(finished_speed=None, speed=3.5 * (1 << 20)))
    assert rate.plain == "3.5 MiB/s"


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from _command_paths(sub, (*prefix, name))


def _text_start(line: str) -> int:
    body = line.strip("│╭╮╰╯")
    return len(body) - len(body.lstrip()) if body.strip() else -1


def test_every_help_page_reads_well_at_80_columns() -> None:
    """No line wider than the terminal, and no sentence broken off early: a short line
    whose text goes on, at the same indent, in lowercase on the next line (the source
    docstring's own line break, kept by typer)."""
    paths = list(_command_paths(typer.main.get_command(app)))
    assert ("remote", "upgrade") in paths and ("install",) in paths
    broken = []
    for path in paths:
        r = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert r.exit_code == 0, (path, r.stdout)
        lines = r.stdout.splitlines()
        assert all(len(line) <= 80 for line in lines), path
        for line, nxt in itertools.pairwise(lines):
            start = _text_start(line)
            text = line.strip("│ ")
            if (start >= 0 and start == _text_start(nxt) and len(line.rstrip(" │")) < 60
                    and re.match(r"[a-z]", nxt.strip("│ ")) and not text.endswith((".", ":"))):
                broken.append((" ".join(path), text))
    assert broken == []


@pytest.mark.parametrize(("args", "said"), [
    (["push", "--bogus"], "error: no such option: --bogus (see --help)"),
    (["push", "--jbos", "2"], "error: no such option: --jbos (did you mean --jobs?)"),
    (["remote", "add", "--forse", "x", "y"],
     "error: no such option: --forse (did you mean --force?)"),
])
def test_unknown_option_names_it_and_only_close_matches(repo: Path, args: list[str],
                                                        said: str) -> None:
    r = run(*args)
    assert r.exit_code == 2
    assert len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith(said)
    assert "Possible options" not in r.stderr


def test_checkout_of_a_path_that_does_not_exist(repo: Path) -> None:
    r = run("checkout", "nonexistent")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "error: 'nonexistent' is not tracked by dvlite and does not exist",
        "hint: `dvlite ls` lists the tracked files and folders"]
    gen(repo, {"untracked.csv": "1"})  # an existing, untracked file: add is the hint
    r = run("checkout", "untracked.csv")
    assert r.exit_code == 2 and r.stderr.splitlines()[1] == "hint: dvlite add untracked.csv"


def _complete(repo: Path, line: str) -> list[str]:
    """What bash gets on Tab after `line`, through typer's completion protocol."""
    words = line.split(" ")
    env = {**os.environ, "_DVLITE_COMPLETE": "complete_bash", "COMP_WORDS": line,
           "COMP_CWORD": str(len(words) - 1)}
    script = Path(sys.executable).parent / "dvlite"
    done = subprocess.run([str(script)], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.split()


def test_completion_of_remote_and_stage_names(repo: Path, tmp_path: Path) -> None:
    for name in ("storage", "backup"):
        assert run("remote", "add", name, str(tmp_path / name)).exit_code == 0
    (repo / "dvlite.yaml").write_text(
        "stages:\n  prepare:\n    cmd: echo p\n  train:\n    cmd: echo t\n"
        "  eval:\n    foreach: [a, b]\n    do:\n      cmd: echo ${item}\n")
    old = Path.cwd()
    os.chdir(repo)
    try:
        assert remote_names("") == ["backup", "storage"]
        assert remote_names("st") == ["storage"]
        assert stage_names("") == ["eval@a", "eval@b", "prepare", "train"]
        assert stage_names("e") == ["eval@a", "eval@b"]
    finally:
        os.chdir(old)
    assert _complete(repo, "dvlite push -r ") == ["backup", "storage"]
    assert _complete(repo, "dvlite remote default b") == ["backup"]
    assert _complete(repo, "dvlite repro tr") == ["train"]
    assert _complete(tmp_path, "dvlite push -r ") == []  # not a repository: nothing
    (repo / "dvlite.yaml").write_text("stages: [broken\n")
    assert _complete(repo, "dvlite repro ") == []
