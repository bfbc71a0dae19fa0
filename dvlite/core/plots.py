"""The `plots:` section of `dvlite.yaml`: which data files to chart and how (pure: parsed
values in, `PlotSpec` records out).

Each entry is a path, or `{PATH: {x, y, template, title}}`; PATH is relative to the folder
of its `dvlite.yaml` and must stay inside it. `y` is a field or a list of fields. Every
error names the file, the line and the key, like the `checks:` section's.
"""

from __future__ import annotations

import difflib
import posixpath
from dataclasses import dataclass
from typing import Any

from dvlite.core.checks import Where
from dvlite.core.paths import check_relpath
from dvlite.errors import FormatError, UnsafePathError

PLOT_KEYS = ("x", "y", "template", "title")
TEMPLATES = ("linear", "scatter", "bar", "confusion")
SUFFIXES = (".csv", ".tsv", ".json", ".yaml", ".yml")
STEP = "step"  # the x field when none is given: the row number


@dataclass(frozen=True, slots=True)
class PlotSpec:
    path: str  # repository-relative data file
    x: str | None = None  # None: the row number
    y: tuple[str, ...] = ()  # empty: every numeric field
    template: str = "linear"
    title: str = ""
    dvfile: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "x": self.x, "y": list(self.y),
                "template": self.template, "title": self.title or self.path}


def _hint(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_suffix(path: str) -> str | None:
    """Why `path` cannot be a plot file (None when its name says a known format)."""
    if path.lower().endswith(SUFFIXES):
        return None
    return f"plot file '{path}' must end in {', '.join(SUFFIXES)}"


def parse_plots(raw: Any, where: Where, dvfile: str) -> tuple[PlotSpec, ...]:
    """The `plots:` value of `dvfile` (None when absent), validated."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise where.error(("plots",), "'plots' must be a list of paths or "
                          "{PATH: {x, y, template, title}}")
    plots: list[PlotSpec] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        plot = _plot(item, ("plots", str(i)), where, dvfile)
        if plot.path in seen:
            raise where.error(("plots", str(i)), f"plot '{plot.path}' is already listed at "
                              f"line {seen[plot.path]}")
        seen[plot.path] = plot.line
        plots.append(plot)
    return tuple(plots)


def _plot(item: Any, path: tuple[str, ...], where: Where, dvfile: str) -> PlotSpec:
    opts: Any = {}
    raw = item
    if isinstance(item, dict):
        if len(item) != 1:
            raise where.error(path, "a plot is a path or {PATH: {x, y, template, title}}")
        raw, opts = next(iter(item.items()))
        opts = {} if opts is None else opts
        if not isinstance(opts, dict):
            raise where.error((*path, str(raw)), f"plot '{raw}': its options must be a "
                              "mapping of x, y, template, title")
    elif not isinstance(item, str):
        raise where.error(path, f"a plot is a path or {{PATH: {{x, y, template, title}}}}, "
                          f"not {item!r}")
    full = _path(raw, path, where, posixpath.dirname(dvfile))
    at = (*path, str(raw))
    name = f"plot '{raw}'"
    for key in opts:
        if key not in PLOT_KEYS:
            raise where.error((*at, str(key)), f"{name}: unknown key '{key}'"
                              f"{_hint(str(key), PLOT_KEYS)}")
    x = _field(opts.get("x"), (*at, "x"), where, name)
    y = _fields(opts.get("y"), (*at, "y"), where, name)
    template = _template(opts.get("template"), (*at, "template"), where, name)
    title = opts.get("title")
    if title is not None and not isinstance(title, str):
        raise where.error((*at, "title"), f"{name}: 'title' must be a string, not {title!r}")
    if template == "confusion" and (x is None or len(y) != 1):
        raise where.error(at, f"{name}: template 'confusion' needs 'x' (the actual class) "
                          "and one 'y' field (the predicted class)")
    return PlotSpec(full, x, y, template, title or "", dvfile, where.line(path))


def _path(raw: Any, path: tuple[str, ...], where: Where, dvdir: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise where.error(path, f"a plot's path must be a non-empty string, not {raw!r}")
    if raw.startswith("/") or "\\" in raw or "\0" in raw or (len(raw) > 1 and raw[1] == ":"):
        raise where.error(path, f"unsafe plot file {raw!r}: absolute or non-POSIX path",
                          kind=UnsafePathError)
    # A plot lies below its dvlite.yaml: a '..' anywhere is refused, not resolved.
    if ".." in raw.split("/"):
        raise where.error(path, f"unsafe plot file {raw!r}: '..' is not allowed",
                          kind=UnsafePathError)
    try:
        full = check_relpath(posixpath.normpath(posixpath.join(dvdir or ".", raw)),
                             "plot file")
    except FormatError as exc:
        raise where.error(path, f"{exc.msg} (from {raw!r})", kind=UnsafePathError) from None
    why = check_suffix(full)
    if why:
        raise where.error(path, why)
    return full


def _field(value: Any, path: tuple[str, ...], where: Where, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise where.error(path, f"{name}: '{path[-1]}' must be a field name, not {value!r}")
    return value


def _fields(value: Any, path: tuple[str, ...], where: Where, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise where.error(path, f"{name}: 'y' must be a field name or a list of field names, "
                          f"not {value!r}")
    if len(set(items)) != len(items):
        raise where.error(path, f"{name}: 'y' lists a field twice")
    return tuple(items)


def _template(value: Any, path: tuple[str, ...], where: Where, name: str) -> str:
    if value is None:
        return "linear"
    if not isinstance(value, str) or value not in TEMPLATES:
        hint = _hint(value, TEMPLATES) if isinstance(value, str) else ""
        raise where.error(path, f"{name}: 'template' must be one of {', '.join(TEMPLATES)}, "
                          f"not {value!r}{hint}")
    return value
