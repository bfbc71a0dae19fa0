"""The strict YAML reader: safe types, no aliases, no duplicate keys, one-line errors."""

from __future__ import annotations

import time

import pytest

from dvlite.core import strictyaml
from dvlite.errors import FormatError


def test_loads_plain_yaml() -> None:
    assert strictyaml.load("a: 1\nb: [x, y]\n", "f.yaml") == {"a": 1, "b": ["x", "y"]}
    assert strictyaml.load(b"k: 'v*'\n", "f.yaml") == {"k": "v*"}  # '*' in a string is fine


@pytest.mark.parametrize("text,message", [
    ("a: 1\na: 2\n", "f.yaml:2: duplicate key 'a'"),
    ("a: &x 1\nb: *x\n", "f.yaml:2: aliases are not allowed"),
    ("a: [1\n", "f.yaml:2:"),
    ("a: !!python/object:os.system {}\n", "f.yaml:1:"),
    ("\x00", "f.yaml: not valid YAML"),
])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(FormatError) as info:
        strictyaml.load(text, "f.yaml")
    assert info.value.msg.startswith(message), info.value.msg
    assert "\n" not in info.value.msg


def test_billion_laughs_refused_fast() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    t0 = time.monotonic()
    with pytest.raises(FormatError, match="aliases are not allowed"):
        strictyaml.load("\n".join(lines), "bomb.yaml")
    assert time.monotonic() - t0 < 1


def test_size_limit() -> None:
    with pytest.raises(FormatError, match="file too large"):
        strictyaml.load("a: 1\n" * 100, "f.yaml", limit=10)


def test_node_lines() -> None:
    lines = strictyaml.node_lines("stages:\n  train:\n    cmd: x\n    deps:\n      - a\n", "f")
    assert lines[("stages",)] == 1
    assert lines[("stages", "train", "cmd")] == 3
    assert lines[("stages", "train", "deps", "0")] == 5
