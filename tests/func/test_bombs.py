"""Oversized files and parser bombs (RELIABILITY.md B3, B19): one `error:` line each,
read with a bound, parsed without expanding aliases or recursing without end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.func.test_bad_inputs import assert_one_error
from tests.helpers import gen, run

DEEP = 100_000  # far past Python's recursion limit
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True))


def test_b3_huge_pointer_is_read_with_a_bound(repo: Path) -> None:
    with (repo / "data.dvl").open("wb") as f:
        f.truncate(1 << 30)  # sparse: 1 GiB of NULs
    r = run("status")
    assert r.exit_code == 1
    # the size named is what was read (64 KiB), not the file's 1 GiB
    assert_one_error(r.stderr, "data.dvl: not a pointer file (65536 bytes, at most 4096)")


@pytest.mark.parametrize("name,text,expected", [
    ("config", "x = " + "[" * DEEP + "]" * DEEP + "\n", "invalid TOML (maximum recursion"),
    ("config", "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "invalid TOML"),
    ("config.local", "x = " + "[" * DEEP + "]" * DEEP + "\n", "invalid TOML"),
    ("config", "# padding\n" * 200_000, "too large for a config file"),
])
def test_b19_config_bombs(repo: Path, name: str, text: str, expected: str) -> None:
    path = repo / ".dvlite" / name
    path.write_text((path.read_text() if path.exists() else "") + text)
    for args in (("status",), ("config", "core.hash")):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert_one_error(r.stderr, f".dvlite/{name}: {expected}")


def test_b19_billion_laughs_in_a_pointer(repo: Path) -> None:
    gen(repo, {"data.dvl": LAUGHS + "path: data\n"})
    r = run("status")
    assert r.exit_code == 1
    assert_one_error(r.stderr, "data.dvl:2: aliases are not allowed")


STAGE = "stages:\n  s:\n    cmd: echo hi > o.txt\n    outs: [o.txt]\n"


@pytest.mark.parametrize("files,expected", [
    ({"dvlite.yaml": LAUGHS + STAGE}, "dvlite.yaml:2: aliases are not allowed"),
    ({"dvlite.yaml": STAGE + "    desc: " + "[" * DEEP + "]" * DEEP + "\n"},
     "dvlite.yaml:5: exceeded maximum nesting depth"),
    ({"dvlite.yaml": STAGE + "    params: [a]\n", "params.yaml": LAUGHS},
     "params.yaml:2: aliases are not allowed"),
    ({"dvlite.yaml": STAGE + "    params: [{p.json: [a]}]\n",
      "p.json": '{"a": ' + "[" * DEEP + "]" * DEEP + "}"}, "p.json: not valid JSON"),
    ({"dvlite.yaml": STAGE + "    params: [{p.toml: [a]}]\n",
      "p.toml": "a = " + "[" * DEEP + "]" * DEEP}, "p.toml: not valid TOML"),
])
def test_b19_bombs_in_pipeline_files(repo: Path, files: dict[str, str], expected: str) -> None:
    gen(repo, files)
    before = sorted(os.listdir(repo))
    r = run("repro")
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert_one_error(r.stderr, expected)
    assert sorted(os.listdir(repo)) == before  # the stage never ran
