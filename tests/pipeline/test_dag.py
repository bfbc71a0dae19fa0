"""The stage graph: edges, order, upstream selection, cycles, scale."""

from __future__ import annotations

import itertools

import pytest

from dvlite.core.dag import PathMap, build_graph, parse_files
from dvlite.errors import CyclicGraphError, FormatError, PipelineError


def _graph(text: str):  # type: ignore[no-untyped-def]
    return parse_files({"dvlite.yaml": text.encode()}).graph


def test_edges_through_files_and_folders_and_order() -> None:
    g = _graph("""\
stages:
  report:
    cmd: r
    deps: [models/a/model.bin, data]
    outs: [report.md]
  train:
    cmd: t
    deps: [data/clean/x.csv]
    outs: [models]
  clean:
    cmd: c
    deps: [raw]
    outs: [data/clean]
""")
    assert g.upstream == {"report": ("clean", "train"), "train": ("clean",), "clean": ()}
    assert g.order() == ["clean", "train", "report"]
    assert g.order(["train"]) == ["clean", "train"]
    with pytest.raises(PipelineError, match="unknown stage 'nope'"):
        g.order(["nope"])


def test_cycle_is_named_in_data_flow_order() -> None:
    with pytest.raises(CyclicGraphError) as info:
        _graph("""\
stages:
  a:
    cmd: a
    deps: [c.txt]
    outs: [a.txt]
  b:
    cmd: b
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: c
    deps: [b.txt]
    outs: [c.txt]
""")
    msg = info.value.msg
    assert msg.startswith("dvlite.yaml:")
    cycle = msg.split("stages form a cycle: ")[1].split(" -> ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["a", "b", "c"]
    for x, y in itertools.pairwise(cycle):
        assert (x, y) in {("a", "b"), ("b", "c"), ("c", "a")}


def test_same_output_in_two_files_names_both() -> None:
    texts = {"dvlite.yaml": b"stages:\n  a:\n    cmd: a\n    outs: [sub/x]\n",
             "sub/dvlite.yaml": b"stages:\n  b:\n    cmd: b\n    outs: [x]\n"}
    with pytest.raises(PipelineError, match=r"sub/dvlite.yaml:4: stage 'b': output 'sub/x' "
                       r"is also written by stage 'a' \(dvlite.yaml:4\)"):
        parse_files(texts)
    texts["sub/dvlite.yaml"] = b"stages:\n  a:\n    cmd: b\n"
    with pytest.raises(FormatError, match=r"sub/dvlite\.yaml:2: stage 'a' is already defined "
                       r"at dvlite\.yaml:2"):
        parse_files(texts)


def test_path_map() -> None:
    paths = PathMap([("a/b", 1), ("a/bc", 2), ("a/b/c/d", 3), ("x", 4)])
    assert sorted(paths.overlapping("a/b")) == [1, 3]
    assert sorted(paths.overlapping("a")) == [1, 2, 3]
    assert paths.overlapping("a/b/c") == [1, 3]
    assert paths.overlapping("y") == []


def test_long_chain_and_wide_pipeline_need_no_recursion() -> None:
    n = 3000
    lines = ["stages:"]
    for i in range(n):
        lines += [f"  s{i}:", f"    cmd: c{i}", f"    deps: [f{i - 1 if i else 'in'}]",
                  f"    outs: [f{i}]"]
    g = _graph("\n".join(lines) + "\n")
    order = g.order()
    assert order == [f"s{i}" for i in range(n)]
    assert g.order([f"s{n - 1}"]) == order
    assert build_graph([]).order() == []
