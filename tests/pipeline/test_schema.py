"""Parsing dvlite.yaml: the accepted forms, resolved to repository-relative paths."""

from __future__ import annotations

import pytest

from dvlite.core.stages import Dep, Out, ParamRef, parse_pipeline
from dvlite.errors import FormatError
from dvlite.pipeline.params import flatten, lookup, parse_values

FULL = """\
stages:
  train:
    cmd: [python prep.py, python train.py]
    wdir: src
    deps: [train.py, ../data]
    params:
      - train.lr
      - ../conf/model.toml: [model.depth]
    outs:
      - model.bin
      - logs: {cache: false, persist: true}
    metrics:
      - scores.json
      - big.json: {cache: true}
    frozen: false
    always_changed: true
    desc: train the model
"""


def test_every_key_in_a_subfolder_pipeline() -> None:
    (stage,) = parse_pipeline(FULL, "proj/dvlite.yaml")
    assert stage.name == "train"
    assert stage.cmd == "python prep.py && python train.py"
    assert stage.wdir == "proj/src"
    assert stage.deps == (Dep("proj/src/train.py", 5), Dep("proj/data", 5))
    assert stage.params == (ParamRef("proj/src/params.yaml", "train.lr", 7),
                            ParamRef("proj/conf/model.toml", "model.depth", 8))
    assert stage.outs == (
        Out("proj/src/model.bin", cache=True, persist=False, metric=False, line=10),
        Out("proj/src/logs", cache=False, persist=True, metric=False, line=11),
        Out("proj/src/scores.json", cache=False, persist=False, metric=True, line=13),
        Out("proj/src/big.json", cache=True, persist=False, metric=True, line=14),
    )
    assert stage.always_changed and not stage.frozen
    assert stage.desc == "train the model"
    assert stage.where == "proj/dvlite.yaml:2"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "stages:\n", "stages: {}\n"])
def test_empty_pipelines(text: str) -> None:
    assert parse_pipeline(text, "dvlite.yaml") == []


@pytest.mark.parametrize(("text", "message"), [
    ("stages: [a, b]\n", "dvlite.yaml:1: 'stages' must be a mapping"),
    ("stages:\n  a: echo hi\n", "dvlite.yaml:2: stage 'a' must be a mapping"),
    ("stages:\n  a:\n    cmd: x\n    deps: data\n", "dvlite.yaml:4: 'deps' must be a list"),
    ("stages:\n  a:\n    cmd: x\n    outs:\n      - {a: {}, b: {}}\n",
     "dvlite.yaml:5: an entry of 'outs' is a path"),
    ("stages:\n  a:\n    cmd: x\n    params:\n      - {p.json: k}\n",
     "dvlite.yaml:5: params of 'p.json' must be a list"),
    ("stages:\n  a:\n    cmd: x\n    deps: ['a\\\\b']\n", "unsafe dependency"),
    ("stages:\n  a:\n    foreach: 3\n    do: {cmd: x}\n", "foreach must be a list or a mapping"),
    ("stages:\n  a:\n    foreach: [x]\n    cmd: y\n", "takes only 'foreach' and 'do'"),
    ("stages:\n  a:\n    foreach: [x, x]\n    do: {cmd: y}\n", "foreach item 'x' repeats"),
    ("stages:\n  a:\n    foreach: ['a b']\n    do: {cmd: y}\n", "cannot be part of a stage name"),
    ("stages:\n  a:\n    foreach: [{n: 1}]\n    do:\n      cmd: echo ${item}x\n",
     "'${item}' is a dict, not a scalar"),
    ("stages:\n  a:\n    foreach: [{n: 1}]\n    do:\n      cmd: echo ${item.m}\n",
     "no field 'm'"),
    ("x: &a [1]\ny: *a\n", "aliases are not allowed"),
])
def test_invalid_forms(text: str, message: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_pipeline(text, "dvlite.yaml")
    assert message in info.value.msg
    assert info.value.msg.startswith("dvlite.yaml:")


def test_parameter_files_and_dotted_keys() -> None:
    assert parse_values(b'{"a": {"b": 1}}', "p.json") == {"a": {"b": 1}}
    assert parse_values(b"[a]\nb = 2\n", "p.toml") == {"a": {"b": 2}}
    assert parse_values(b"a:\n  b: 3\n", "p.yml") == {"a": {"b": 3}}
    with pytest.raises(FormatError, match=r"p\.json: not valid JSON"):
        parse_values(b"{", "p.json")
    with pytest.raises(FormatError, match=r"p\.toml: not valid TOML"):
        parse_values(b"a = ", "p.toml")
    doc = {"a": {"b": {"c": 1}}, "x.y": 2, "l": [1, 2], "e": {}}
    assert lookup(doc, "a.b.c") == 1
    assert lookup(doc, "a.b") == {"c": 1}
    assert lookup(doc, "x.y") == 2
    assert flatten(doc) == {"a.b.c": 1, "x.y": 2, "l": [1, 2], "e": {}}
