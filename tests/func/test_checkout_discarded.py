"""`checkout --force` says where the bytes it discards went, and gc keeps them for
`gc.grace` (until `gc --now`, or until the record is older than that)."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from dvlite.config import edit
from dvlite.storage.hashing import hash_file
from tests.helpers import check_repo, gen, object_path, run


@pytest.fixture
def edited(repo: Path) -> Path:
    gen(repo, {"model.bin": "committed", "data": {"a": "1"}})
    assert run("add", "model.bin", "data").exit_code == 0
    (repo / "model.bin").write_text("my only copy")
    (repo / "data" / "a").write_text("edited a")
    return repo


def _records(repo: Path) -> list[Path]:
    folder = repo / ".dvlite" / "discarded"
    return sorted(folder.glob("*.tsv")) if folder.exists() else []


def test_force_says_where_each_discarded_file_went(edited: Path) -> None:
    r = run("checkout", "--force")
    assert r.exit_code == 0, r.stderr
    saved = dict(re.findall(r"discarded your changes to (\S+); the old bytes are in (\S+)",
                            r.stderr))
    assert sorted(saved) == ["data/a", "model.bin"]
    assert (edited / saved["model.bin"]).read_text() == "my only copy"
    assert (edited / saved["data/a"]).read_text() == "edited a"
    [record] = _records(edited)
    assert f"listed in .dvlite/discarded/{record.name}" in r.stderr
    lines = [line.split("\t") for line in record.read_text().splitlines()]
    assert sorted(line[2] for line in lines) == ["data/a", "model.bin"]
    assert (edited / "model.bin").read_text() == "committed"
    check_repo(edited)


def test_gc_keeps_discarded_bytes_until_now(edited: Path) -> None:
    mine, _ = hash_file(edited / "model.bin", "xxh128")
    assert run("checkout", "--force").exit_code == 0
    r = run("gc", "--workspace", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["kept_discarded"] == 2
    assert object_path(edited, mine).read_text() == "my only copy"  # still recoverable
    shutil.copyfile(object_path(edited, mine), edited / "recovered")
    assert (edited / "recovered").read_text() == "my only copy"
    assert run("gc", "--workspace", "--dry-run").exit_code == 0
    assert len(_records(edited)) == 1
    assert run("gc", "--workspace", "--now").exit_code == 0
    assert not object_path(edited, mine).exists()
    assert _records(edited) == []
    check_repo(edited)


def test_gc_drops_discarded_bytes_after_the_grace_period(edited: Path) -> None:
    mine, _ = hash_file(edited / "model.bin", "xxh128")
    assert run("checkout", "--force").exit_code == 0
    edit(edited / ".dvlite" / "config", "gc.grace", "1d")
    [record] = _records(edited)
    two_days_ago = f"{time.time() - 2 * 86400:.0f}"
    record.write_text("".join(two_days_ago + line[line.index("\t"):] + "\n"
                              for line in record.read_text().splitlines()))
    assert run("gc", "--workspace").exit_code == 0
    assert not object_path(edited, mine).exists()
    assert _records(edited) == []


def test_force_over_a_wrong_type_lists_the_folder_files(edited: Path) -> None:
    (edited / "model.bin").unlink()
    gen(edited, {"model.bin": {"notes.txt": "precious notes"}})
    r = run("checkout", "--force")
    assert r.exit_code == 0, r.stderr
    assert "discarded your changes to model.bin/notes.txt" in r.stderr
    assert run("gc", "--workspace").exit_code == 0
    [saved] = re.findall(r"to model.bin/notes.txt; the old bytes are in (\S+)", r.stderr)
    assert (edited / saved).read_text() == "precious notes"


def test_checkout_without_discards_writes_no_record(edited: Path) -> None:
    assert run("add", "model.bin", "data").exit_code == 0
    (edited / "model.bin").unlink()
    r = run("checkout", "--force")
    assert r.exit_code == 0
    assert "discarded" not in r.stderr
    assert _records(edited) == []
