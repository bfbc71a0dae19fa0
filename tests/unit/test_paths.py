"""Safe relative paths and the parent-inside check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dvlite.core.paths import check_parent_inside, check_relpath, is_within, to_posix
from dvlite.errors import UnsafePathError

SAFE = ["a", "a/b/c.txt", "with space", "caf\u00e9", "new\nline", ".hidden", "a..b", "...",
        "1:x", "\u00e9:x", "x" * 255, "d/.gitignore", ".gitx", "dvlite"]
UNSAFE = ["", "/etc/passwd", "..", "../x", "a/../../b", "a/..", "./a", "a/./b", "a//b", "a/",
          "C:\\x", "C:x", "..\\x", "a\\b", "a\0b", ".git", ".git/hooks/pre-commit", "x/.git/y",
          ".dvlite", ".dvlite/config", "//server/share"]


@pytest.mark.parametrize("path", SAFE)
def test_safe(path: str) -> None:
    assert check_relpath(path) == path


@pytest.mark.parametrize("path", UNSAFE)
def test_unsafe(path: str) -> None:
    with pytest.raises(UnsafePathError) as info:
        check_relpath(path, "pointer path")
    assert info.value.msg.startswith("unsafe pointer path")


def test_is_within(tmp_path: Path) -> None:
    assert is_within(tmp_path / "a", tmp_path)
    assert is_within(tmp_path, tmp_path)
    assert not is_within(tmp_path.parent, tmp_path)
    assert not is_within(Path(str(tmp_path) + "x"), tmp_path)


def test_parent_inside(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    (root / "real").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, root / "out")
    os.symlink(root / "real", root / "inner")
    (root / ".git").mkdir()
    os.symlink(root / ".git", root / "hooks")
    check_parent_inside(root, root / "real" / "f")
    check_parent_inside(root, root / "inner" / "f")
    check_parent_inside(root, root / "not" / "yet" / "made")
    with pytest.raises(UnsafePathError, match="outside the repository"):
        check_parent_inside(root, root / "out" / "f")
    with pytest.raises(UnsafePathError, match="outside the repository"):
        check_parent_inside(root, root / "out" / "deeper" / "f")
    with pytest.raises(UnsafePathError, match=r"inside \.git"):
        check_parent_inside(root, root / "hooks" / "pre-commit")


def test_to_posix() -> None:
    assert to_posix(Path("a") / "b") == "a/b"
