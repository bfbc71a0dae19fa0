"""Loading plot files (CSV, TSV, JSON, YAML) into records, and the Vega-Lite specs built
from them: defaults, series, templates, and the errors that name the file."""

from __future__ import annotations

import pytest

from dvlite.core.plots import PlotSpec
from dvlite.errors import FormatError
from dvlite.pipeline.plots.data import load_records
from dvlite.pipeline.plots.vega import build_spec, numeric_fields
from tests.plots.util import flat

RECORDS = [{"epoch": 1, "loss": 0.5, "tag": "a"}, {"epoch": 2, "loss": 0.25, "tag": "b"}]


@pytest.mark.parametrize(("name", "text"), [
    ("m.csv", "epoch,loss,tag\n1,0.5,a\n2,0.25,b\n"),
    ("m.csv", "\ufeffepoch,loss,tag\r\n1,0.5,a\r\n\r\n2,0.25,b\r\n"),  # BOM, CRLF, blank line
    ("m.tsv", "epoch\tloss\ttag\n1\t0.5\ta\n2\t0.25\tb\n"),
    ("m.json", '[{"epoch": 1, "loss": 0.5, "tag": "a"}, {"epoch": 2, "loss": 0.25, "tag": "b"}]'),
    ("m.json", '{"train": [{"epoch": 1, "loss": 0.5, "tag": "a"}, '
               '{"epoch": 2, "loss": 0.25, "tag": "b"}], "name": "x"}'),
    ("m.yaml", "- {epoch: 1, loss: 0.5, tag: a}\n- {epoch: 2, loss: 0.25, tag: b}\n"),
    ("M.YML", "rows:\n  - {epoch: 1, loss: 0.5, tag: a}\n  - {epoch: 2, loss: 0.25, tag: b}\n"),
])
def test_every_format_gives_the_same_records(name: str, text: str) -> None:
    assert load_records(text.encode(), name, "workspace") == RECORDS


def test_cells_that_are_not_finite_numbers_become_gaps() -> None:
    assert load_records(b"a,b\nnan,inf\n1e3,x\n", "m.csv", "HEAD") == [
        {"a": None, "b": None}, {"a": 1000.0, "b": "x"}]
    assert load_records(b'[{"a": NaN}]', "m.json", "HEAD") == [{"a": None}]


@pytest.mark.parametrize(("name", "data", "why"), [
    ("m.json", b"{oops", "not valid JSON"),
    ("m.json", b'{"a": [], "b": []}', "mapping holding one list (found 2 lists)"),
    ("m.json", b'"text"', "expected a list of records, not str"),
    ("m.json", b"[1, 2]", "record 0 is not a mapping of fields"),
    ("m.yaml", b"a: [1\n", "not valid YAML (line 2:"),
    ("m.csv", b"", "empty: no header row"),
    ("m.csv", b"a,b\n1\n", "row 2 has 1 fields, the header 2"),
    ("m.csv", b"a,a\n1,2\n", "empty or repeated column name"),
    ("m.tsv", b'a\n"x\n', "not valid TSV"),
    ("m.csv", b"\xff\xfe", "not UTF-8 text"),
    ("m.txt", b"a\n", "must end in .csv"),
])
def test_a_file_that_does_not_parse_names_itself(name: str, data: bytes, why: str) -> None:
    with pytest.raises(FormatError) as info:
        load_records(data, name, "HEAD")
    assert info.value.msg.startswith(f"{name} (HEAD): ") or "must end in" in why
    assert why in info.value.msg
    assert "\n" not in info.value.msg


def test_numeric_fields_skip_text_and_gaps() -> None:
    assert numeric_fields([{"a": 1, "b": "x", "c": None}, {"a": 2.5, "c": 3, "d": True}]) == [
        "a", "c"]


def test_fields_with_dots_are_carried_under_fixed_names() -> None:
    spec = build_spec(PlotSpec("m.json", x="a.b", y=("c[0]",)),
                      {"workspace": [{"a.b": 1, "c[0]": 2}]})
    assert spec["data"]["values"] == [{"rev": "workspace", "field": "c[0]", "x": [1], "y": [2]}]
    assert flat(spec) == [{"rev": "workspace", "field": "c[0]", "x": 1, "y": 2}]
    assert spec["encoding"]["x"] == {"field": "x", "type": "quantitative", "title": "a.b"}
    assert spec["encoding"]["y"]["title"] == "c[0]"
    assert "color" not in spec["encoding"]  # one revision, one field: one series


def test_a_named_field_must_be_in_the_file() -> None:
    with pytest.raises(FormatError) as info:
        build_spec(PlotSpec("m.csv", y=("acc",)), {"HEAD": RECORDS})
    assert info.value.msg == "m.csv (HEAD): no field 'acc' (fields: epoch, loss, tag)"


def test_series_and_templates() -> None:
    two = {"HEAD": RECORDS, "exp": RECORDS[:1]}
    scatter = build_spec(PlotSpec("m.csv", y=("epoch", "loss"), template="scatter"), two)
    assert scatter["mark"]["type"] == "point"
    assert scatter["encoding"]["color"]["scale"]["domain"] == ["HEAD", "exp"]
    assert scatter["encoding"]["shape"]["field"] == "field"
    bar = build_spec(PlotSpec("m.csv", x="tag", template="bar"), {"HEAD": RECORDS})
    assert bar["encoding"]["x"]["type"] == "nominal"
    assert bar["encoding"]["color"]["field"] == "field"  # epoch and loss
    assert bar["encoding"]["xOffset"]["field"] == "field"
    conf = build_spec(PlotSpec("m.csv", x="tag", y=("epoch",), template="confusion",
                               title="Confusion"), {"HEAD": RECORDS})
    assert conf["title"] == "Confusion"
    assert flat(conf)[0] == {"rev": "HEAD", "actual": "a", "predicted": "1"}
    assert "facet" not in conf
