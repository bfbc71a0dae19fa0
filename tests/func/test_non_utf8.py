"""Names that are not UTF-8, and binary files where text is expected (RELIABILITY.md H10).

Pointers and manifests are UTF-8, so a file name that is not cannot be recorded: `add`
refuses it with one `error:` naming the file (its bytes shown as `\\xNN`) before anything
is hashed or written. Elsewhere such a name is shown, escaped, never a crash. A binary
config, pointer, pipeline, lock or params file is one `error:` line naming it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.func.test_bad_inputs import assert_one_error
from tests.func.util import user_snapshot
from tests.helpers import gen, git, run

BAD = os.fsdecode(b"bad\xff\xfeutf8")
BINARY = b"\xff\xfe\x00\x01\x80garbage\x00"


def test_add_refuses_a_non_utf8_name_in_a_folder(repo: Path) -> None:
    gen(repo, {"d": {"ok.txt": "fine", BAD: "bytes"}})
    before = user_snapshot(repo)
    r = run("add", "d")
    assert r.exit_code == 1
    assert_one_error(r.stderr, "unsupported file name 'd/bad\\xff\\xfeutf8': not valid UTF-8")
    assert "hint: rename it" in r.stderr
    assert user_snapshot(repo) == before  # no object, pointer or .gitignore line
    assert not (repo / ".dvlite" / "cache").exists()


def test_add_refuses_a_non_utf8_file_name(repo: Path) -> None:
    gen(repo, {BAD: "bytes"})
    before = user_snapshot(repo)
    r = run("add", BAD)
    assert r.exit_code == 1
    assert_one_error(r.stderr, "unsupported path 'bad\\xff\\xfeutf8': not valid UTF-8")
    assert user_snapshot(repo) == before


def test_non_utf8_name_in_a_tracked_folder_is_shown_escaped(repo: Path) -> None:
    gen(repo, {"d": {"ok.txt": "fine"}})
    assert run("add", "d").exit_code == 0
    gen(repo, {"d": {BAD: "new"}})
    r = run("status")
    assert r.exit_code == 0, r.stderr
    assert "d/bad\\xff\\xfeutf8" in r.stdout
    r = run("status", "--json")
    assert r.exit_code == 0, r.stderr
    (changed,) = json.loads(r.stdout)["outputs"][0]["modified"]
    assert os.fsencode(changed) == b"d/bad\xff\xfeutf8"  # the real bytes, JSON-escaped
    r = run("diff")
    assert r.exit_code == 0 and "added:     d/bad\\xff\\xfeutf8" in r.stdout
    r = run("add", "d")
    assert r.exit_code == 1
    assert_one_error(r.stderr, "'d/bad\\xff\\xfeutf8': not valid UTF-8")


@pytest.mark.parametrize("name", ["config", "config.local"])
def test_binary_config_is_one_error(repo: Path, name: str) -> None:
    (repo / ".dvlite" / name).write_bytes(BINARY)
    for args in (("status",), ("config", "core.remote"), ("remote", "list"),
                 ("config", "core.autostage", "false")):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert_one_error(r.stderr, f".dvlite/{name}: not a text file (TOML must be UTF-8)")
    assert (repo / ".dvlite" / name).read_bytes() == BINARY


def test_binary_pointer_is_one_error(repo: Path) -> None:
    (repo / "data.dvl").write_bytes(BINARY)
    for args in (("status",), ("checkout",), ("ls",)):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert_one_error(r.stderr, "data.dvl: ")


@pytest.mark.parametrize("name", ["dvlite.yaml", "dvlite.lock", "params.yaml"])
def test_binary_pipeline_file_is_one_error(repo: Path, name: str) -> None:
    gen(repo, {"dvlite.yaml": "stages:\n  s:\n    cmd: echo hi > o.txt\n    params: [a]\n"
                              "    outs: [o.txt]\n", "params.yaml": "a: 1\n"})
    assert run("repro").exit_code == 0
    git(repo, "add", "-A")
    (repo / name).write_bytes(BINARY)
    for args in (("repro",), ("repro", "--dry-run")):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stdout, r.stderr)
        assert_one_error(r.stderr, f"{name}: not valid YAML")
