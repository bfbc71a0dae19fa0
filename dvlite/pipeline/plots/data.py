"""Reading a plot's data file: CSV, TSV, JSON or YAML bytes in, a list of records out.

JSON and YAML hold a list of records, or a mapping holding exactly one such list (like
`{"roc": [{"fpr": 0, "tpr": 0}, ...]}`). CSV and TSV cells that read as numbers become
numbers. Anything else is a `FormatError` naming the file, on one line.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from dvlite.core import strictyaml
from dvlite.core.plots import check_suffix
from dvlite.errors import FormatError

Record = dict[str, Any]
MAX_PLOT_BYTES = 256 << 20


def load_records(data: bytes, path: str, where: str) -> list[Record]:
    """The records of plot file `path`; `where` (a revision or "workspace") goes in
    every error so a reader knows which version did not parse."""
    why = check_suffix(path)
    if why:
        raise FormatError(why)
    name = f"{path} ({where})"
    if len(data) > MAX_PLOT_BYTES:
        raise FormatError(f"{name}: file too large ({len(data)} bytes, at most "
                          f"{MAX_PLOT_BYTES})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormatError(f"{name}: not UTF-8 text") from None
    lower = path.lower()
    if lower.endswith((".csv", ".tsv")):
        return _delimited(text, "\t" if lower.endswith(".tsv") else ",", name)
    if lower.endswith(".json"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise FormatError(f"{name}: not valid JSON ({exc})") from None
    else:
        try:
            doc = strictyaml.load(text, name)
        except FormatError as exc:  # "NAME:LINE: why" -> like the other formats' errors
            raise FormatError(f"{name}: not valid YAML (line "
                              f"{exc.msg.removeprefix(name).lstrip(':')})") from None
    return _records(doc, name)


def _delimited(text: str, sep: str, name: str) -> list[Record]:
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=sep, strict=True))
    except csv.Error as exc:
        raise FormatError(f"{name}: not valid {kind} ({exc})") from None
    rows = [r for r in rows if r]  # blank lines carry nothing
    if not rows:
        raise FormatError(f"{name}: not valid {kind} (empty: no header row)")
    header = rows[0]
    if len(set(header)) != len(header) or not all(header):
        raise FormatError(f"{name}: not valid {kind} (the header has an empty or repeated "
                          "column name)")
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise FormatError(f"{name}: not valid {kind} (row {i} has {len(row)} fields, "
                              f"the header {len(header)})")
    # column by column: one conversion per column is several times faster than a try
    # per cell, and a column is usually all numbers or all text
    columns = [_column(list(col)) for col in zip(*rows[1:], strict=True)]
    return [dict(zip(header, values, strict=True)) for values in zip(*columns, strict=True)]


def _column(cells: list[str]) -> list[Any]:
    for kind in (int, float):
        try:
            values: list[Any] = [kind(c) for c in cells]
        except ValueError:
            continue
        if kind is float and not all(map(math.isfinite, values)):
            break
        return values
    return [_cell(c) for c in cells]


def _cell(text: str) -> Any:
    """A cell as a number when it reads as one (non-finite numbers become empty)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else None


def _records(doc: Any, name: str) -> list[Record]:
    if isinstance(doc, dict):
        lists = [k for k, v in doc.items() if isinstance(v, list)]
        if len(lists) != 1:
            raise FormatError(f"{name}: expected a list of records, or a mapping holding "
                              f"one list (found {len(lists)} lists)")
        doc = doc[lists[0]]
    if not isinstance(doc, list):
        raise FormatError(f"{name}: expected a list of records, not {type(doc).__name__}")
    for i, item in enumerate(doc):
        if not isinstance(item, dict):
            raise FormatError(f"{name}: record {i} is not a mapping of fields")
    return [{str(k): _finite(v) for k, v in item.items()} for item in doc]


def _finite(value: Any) -> Any:
    # NaN and infinity are not JSON: a chart shows them as gaps
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
