"""Each bad dvlite.yaml under fixtures/ gives one clear `error:` line naming file and line.

A fixture's first line says what the error must contain: `# expect: <text>`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import gen, git, run, snapshot

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.yaml"))


def _files(root: Path) -> dict[str, bytes | str]:
    return {k: v for k, v in snapshot(root).items() if not k.startswith(".dvlite/state")}


def _expected(fixture: Path) -> str:
    first = fixture.read_text().splitlines()[0]
    assert first.startswith("# expect: "), fixture
    return first[len("# expect: "):]


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
@pytest.mark.parametrize("command", [("repro",), ("repro", "--dry-run")])
def test_bad_pipeline_one_clear_error(repo: Path, fixture: Path, command: tuple[str, ...]) -> None:
    gen(repo, {"data.csv": "a,b\n", "tracked.txt": "t\n",
               "params.yaml": "train:\n  lr: 0.1\n", "committed.txt": "in git\n"})
    git(repo, "add", "committed.txt")
    assert run("add", "tracked.txt").exit_code == 0
    (repo / "dvlite.yaml").write_text(fixture.read_text())
    before = _files(repo)
    r = run(*command)
    assert r.exit_code == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, r.stderr
    assert re.match(r"error: (at \S+: )?dvlite\.yaml:\d+: ", errors[0]), errors[0]
    assert _expected(fixture) in errors[0]
    assert "Traceback" not in r.stderr
    assert _files(repo) == before  # refused before anything was written or run


def test_every_fixture_is_also_refused_by_stage_add(repo: Path) -> None:
    gen(repo, {"data.csv": "a,b\n"})
    (repo / "dvlite.yaml").write_text((Path(__file__).parent / "fixtures" / "cycle.yaml")
                                      .read_text())
    r = run("stage", "add", "-n", "c", "-d", "data.csv", "-o", "c.txt", "cp data.csv c.txt")
    assert r.exit_code == 1
    assert "stages form a cycle" in r.stderr
    assert "stage 'c'" not in (repo / "dvlite.yaml").read_text()
