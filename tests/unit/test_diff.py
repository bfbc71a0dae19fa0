"""The one comparison used by status, diff and checkout."""

from __future__ import annotations

from dvlite.core.diff import Changes, compare
from dvlite.core.oid import Oid

A, B, C = (Oid("xxh128", c * 32) for c in "abc")


def test_compare() -> None:
    ch = compare({"x": A, "y": B, "gone": C}, {"y": A, "x": A, "new": C})
    assert ch == Changes(added=("new",), modified=("y",), deleted=("gone",), unchanged=("x",))
    assert not ch.clean


def test_clean_and_empty() -> None:
    assert compare({}, {}).clean
    assert compare({"a": A}, {"a": A}).clean
    assert compare({}, {"b": A, "a": B}).added == ("a", "b")
    assert compare({"b": A, "a": B}, {}).deleted == ("a", "b")
