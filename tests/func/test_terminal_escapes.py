"""Control sequences from outside are never printed raw (RELIABILITY.md H9).

File names, a remote's format file and error messages reach the terminal only escaped
(`\\x1b`, `\\x9b`, `\\u202e`); `--json` keeps the real names, in JSON's own escapes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dvlite.cli.ui import safe
from tests.func.test_bad_inputs import assert_one_error
from tests.helpers import gen, run

# What a terminal acts on: C0 but tab and newline, DEL, C1, bidi overrides and isolates.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
NAMES = {
    "osc": "osc\x1b]8;;http:evil\x07link",
    "osc-st": "title\x1b]0;pwned\x9c",  # ended by C1 ST (a backslash is no path)
    "csi": "csi\x1b[2Jwipe",
    "dcs": "dcs\x1bPq#0\x9c",
    "c1": "c1\x9b31mred",
    "bidi": "bidi\u202etxt.exe",
    "cr": "cr\rfake",
    "bell": "bell\x07",
}


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert not RAW.search(text), repr(text)


@pytest.fixture
def tracked(repo: Path) -> Path:
    """Every hostile name tracked as a file, and modified since."""
    gen(repo, {n: "v1" for n in NAMES.values()})
    r = run("add", *NAMES.values())
    assert r.exit_code == 0, r.stderr
    assert_clean(r.stdout, r.stderr)
    gen(repo, {n: "v2" for n in NAMES.values()})
    return repo


def test_status_escapes_names(tracked: Path) -> None:
    r = run("status")
    assert r.exit_code == 0
    assert_clean(r.stdout, r.stderr)
    for name in NAMES.values():
        assert safe(name) in r.stdout
    assert "osc\\x1b]8;;http:evil\\x07link" in r.stdout
    assert "c1\\x9b31mred" in r.stdout and "bidi\\u202etxt.exe" in r.stdout


def test_json_keeps_the_real_names(tracked: Path) -> None:
    r = run("status", "--json")
    assert_clean(r.stdout)
    assert {o["path"] for o in json.loads(r.stdout)["outputs"]} == set(NAMES.values())
    r = run("ls", "--json")
    assert_clean(r.stdout)
    assert "\\u009b" in r.stdout and "\\u202e" in r.stdout
    assert {i["path"] for i in json.loads(r.stdout)} == set(NAMES.values())


def test_ls_escapes_names(tracked: Path) -> None:
    r = run("ls")
    assert r.exit_code == 0
    assert_clean(r.stdout, r.stderr)
    assert len(r.stdout.splitlines()) == len(NAMES)  # no name splits a line
    assert "cr\\x0dfake" in r.stdout


def test_hostile_remote_format_file_is_escaped_in_the_error(tracked: Path,
                                                           tmp_path: Path) -> None:
    store = tmp_path / "store"
    gen(store, {"dvlite-format": "epoch x\ndvlite remote layout \x1b]0;pwned\x07\x9b2J\n"})
    assert run("remote", "add", "o", str(store), "--default").exit_code == 0
    r = run("push")
    assert r.exit_code == 1
    assert_clean(r.stdout, r.stderr)
    assert_one_error(r.stderr, "uses layout version '\\x1b]0;pwned\\x07\\x9b2J'")


def test_error_from_a_hostile_argument_stays_one_clean_line(repo: Path) -> None:
    r = run("remove", "gone\x1b]0;t\x07\nerror: fake second line")
    assert r.exit_code != 0
    assert_clean(r.stdout, r.stderr)
    assert_one_error(r.stderr, "gone\\x1b]0;t\\x07\\x0aerror: fake second line")


def test_safe_escapes_every_control_but_tab_and_newline() -> None:
    risky = [chr(c) for c in (*range(0x20), *range(0x7f, 0xa0)) if chr(c) not in "\t\n"]
    text = safe("".join(risky) + "\t\n\u2066\u2069")
    assert_clean(text)
    assert text.endswith("\t\n\\u2066\\u2069")
    assert safe("a\tb\nc", one_line=True) == "a\\x09b\\x0ac"
    assert safe("bad\udcff\udcfe") == "bad\\xff\\xfe"  # a non-UTF-8 name's bytes
    assert safe("caf\u00e9 \U0001f600") == "caf\u00e9 \U0001f600"


def test_git_message_about_a_hostile_revision_is_escaped(repo: Path) -> None:
    r = run("ls", "nope\x1b]0;pwned\x07")
    assert r.exit_code == 1
    assert_clean(r.stdout, r.stderr)
    assert_one_error(r.stderr, "nope\\x1b]0;pwned\\x07")
