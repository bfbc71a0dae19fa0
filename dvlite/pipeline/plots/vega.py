"""Vega-Lite specs for plots: the data of every revision inlined, one chart per plot.

The data goes in as one record per series (`rev`, `field`, and the lists `x` and `y`)
that a `flatten` transform turns into one row per point: the page carries each number
once instead of a record per point, and the fixed column names mean a field named like
`loss.val` or `a[0]` is never read as a nested access by Vega-Lite. One revision's
several `y` fields get one colour each; several revisions get one colour each (a legend
naming them) and the fields a dash pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dvlite.core.plots import STEP, PlotSpec
from dvlite.errors import FormatError
from dvlite.pipeline.plots.data import Record

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH, HEIGHT = 520, 300
MARKS = {"linear": "line", "scatter": "point", "bar": "bar"}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numeric_fields(records: list[Record]) -> list[str]:
    """Fields whose every present value is a number, in the order they first appear."""
    seen: dict[str, bool] = {}
    for record in records:
        for key, value in record.items():
            if value is None:
                continue
            seen[key] = seen.get(key, True) and _number(value)
    return [k for k, ok in seen.items() if ok]


def _check_fields(plot: PlotSpec, label: str, records: list[Record],
                  fields: tuple[str, ...]) -> None:
    have: set[str] = set()
    for record in records:
        have.update(record)
    for field in fields:
        if records and field not in have:
            raise FormatError(f"{plot.path} ({label}): no field '{field}' (fields: "
                              f"{', '.join(sorted(have)) or 'none'})")


def y_fields(plot: PlotSpec, data: Mapping[str, list[Record]]) -> tuple[str, ...]:
    if plot.y:
        return plot.y
    found: dict[str, None] = {}
    for records in data.values():
        found.update(dict.fromkeys(f for f in numeric_fields(records) if f != plot.x))
    return tuple(found)


def build_spec(plot: PlotSpec, data: Mapping[str, list[Record]]) -> dict[str, Any]:
    """The Vega-Lite spec of `plot` over `data` ({revision label: records}, in legend
    order); raises `FormatError` when a named field is in none of a file's records."""
    ys = y_fields(plot, data)
    for label, records in data.items():
        # only the fields the user named must be there; found ones may vary by revision
        _check_fields(plot, label, records, (*(() if plot.x is None else (plot.x,)), *plot.y))
    if plot.template == "confusion":
        return _confusion(plot, data)
    x_name = plot.x or STEP
    series: list[dict[str, Any]] = []
    for label, records in data.items():
        xs = list(range(len(records))) if plot.x is None else [r.get(plot.x) for r in records]
        for y in ys:
            points = [(x, r.get(y)) for x, r in zip(xs, records, strict=True)]
            points = [(x, v) for x, v in points if v is not None]
            series.append({"rev": label, "field": y, "x": [x for x, _ in points],
                           "y": [v for _, v in points]})
    numeric_x = all(_number(x) for s in series for x in s["x"])
    x_type = "quantitative" if numeric_x and plot.template != "bar" else (
        "ordinal" if numeric_x else "nominal")
    encoding: dict[str, Any] = {
        "x": {"field": "x", "type": x_type, "title": x_name},
        "y": {"field": "y", "type": "quantitative",
              "title": ys[0] if len(ys) == 1 else "value"},
        "tooltip": [{"field": "rev", "title": "revision"}, {"field": "field"},
                    {"field": "x", "title": x_name}, {"field": "y", "title": "value"}],
    }
    encoding.update(_series(plot.template, list(data), ys))
    mark: dict[str, Any] = {"type": MARKS[plot.template], "tooltip": True}
    return {"$schema": SCHEMA, "title": plot.title or plot.path, "width": WIDTH,
            "height": HEIGHT, "data": {"values": series},
            "transform": [{"flatten": ["x", "y"]}], "mark": mark, "encoding": encoding}


def _series(template: str, labels: list[str], ys: tuple[str, ...]) -> dict[str, Any]:
    """How the series are told apart: colour by revision when there are several (the
    fields then by dash or shape), else colour by field."""
    enc: dict[str, Any] = {}
    if len(labels) > 1:
        enc["color"] = {"field": "rev", "type": "nominal", "title": "revision",
                        "scale": {"domain": labels}, "sort": labels}
        if len(ys) > 1:
            other = "shape" if template == "scatter" else "strokeDash"
            enc[other] = {"field": "field", "type": "nominal", "title": "field"}
    elif len(ys) > 1:
        enc["color"] = {"field": "field", "type": "nominal", "title": "field",
                        "sort": list(ys)}
    if template == "bar" and "color" in enc:
        enc["xOffset"] = {"field": enc["color"]["field"], "sort": enc["color"]["sort"]}
    if template == "linear" and len(labels) > 1 and len(ys) > 1:
        enc["detail"] = {"field": "field"}
    return enc


def _confusion(plot: PlotSpec, data: Mapping[str, list[Record]]) -> dict[str, Any]:
    """A heatmap of counts: actual class across, predicted class down; one panel per
    revision when there are several."""
    assert plot.x is not None
    predicted = plot.y[0]
    series = [{"rev": label, "actual": [_text(r.get(plot.x)) for r in records],
               "predicted": [_text(r.get(predicted)) for r in records]}
              for label, records in data.items()]
    x = {"field": "actual", "type": "nominal", "title": plot.x}
    y = {"field": "predicted", "type": "nominal", "title": predicted}
    layer = [
        {"mark": {"type": "rect", "tooltip": True},
         "encoding": {"x": x, "y": y, "color": {"aggregate": "count", "type": "quantitative",
                                                "title": "count"}}},
        {"mark": {"type": "text"},
         "encoding": {"x": x, "y": y, "text": {"aggregate": "count", "type": "quantitative"}}},
    ]
    inner: dict[str, Any] = {"width": {"step": 40}, "height": {"step": 40}, "layer": layer}
    spec: dict[str, Any] = {"$schema": SCHEMA, "title": plot.title or plot.path,
                            "data": {"values": series},
                            "transform": [{"flatten": ["actual", "predicted"]}]}
    if len(data) > 1:
        labels = list(data)
        spec["facet"] = {"column": {"field": "rev", "type": "nominal", "title": "revision",
                                    "sort": labels}}
        spec["spec"] = inner
    else:
        spec.update(inner)
    return spec


def _text(value: Any) -> str:
    return "" if value is None else str(value)
