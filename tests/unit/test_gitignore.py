"""`.gitignore` entries: anchored, escaped, one per path, other lines kept byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvlite.workspace.gitignore import add_entry, entry_for, remove_entry


@pytest.mark.parametrize("name,entry", [
    ("data", "/data"), ("a*b", "/a\\*b"), ("#x", "/\\#x"), ("!x", "/\\!x"),
    ("q?[1]", "/q\\?\\[1\\]"),
    ("trail ", "/trail\\ "), ("new\nline", "/new?line"), ("caf\u00e9", "/caf\u00e9"),
])
def test_entry_for(name: str, entry: str) -> None:
    assert entry_for(name) == entry


def test_add_and_remove_keep_other_lines_exactly(tmp_path: Path) -> None:
    gi = tmp_path / ".gitignore"
    original = b"# mine\r\n*.tmp\r\nlatin1-\xe9\n\x0cform-feed\n"
    gi.write_bytes(original)
    assert add_entry(tmp_path / "data") == gi
    assert gi.read_bytes() == original + b"/data\n"
    assert add_entry(tmp_path / "data") is None  # no duplicate
    assert remove_entry(tmp_path / "data") == gi
    assert gi.read_bytes() == original
    assert remove_entry(tmp_path / "data") is None


def test_crlf_entry_counts_as_present(tmp_path: Path) -> None:
    gi = tmp_path / ".gitignore"
    gi.write_bytes(b"/data\r\n")
    assert add_entry(tmp_path / "data") is None
    assert remove_entry(tmp_path / "data") == gi
    assert not gi.exists()  # left empty: deleted


def test_missing_final_newline(tmp_path: Path) -> None:
    gi = tmp_path / ".gitignore"
    gi.write_bytes(b"*.log")
    add_entry(tmp_path / "x")
    assert gi.read_bytes() == b"*.log\n/x\n"
