"""The `checks:` section of `dvlite.yaml`: metric bounds a CI job gates on (pure: parsed
values in, `Check` records out).

Each entry is `{metric: FILE:KEY, min, max, max_drop, max_rise}`; FILE is relative to the
folder of its `dvlite.yaml`, KEY is dotted for nested values. `max_drop`/`max_rise` are a
number (absolute) or `N%` (relative to the baseline value). Every error names the file,
the line and the key.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Protocol

from dvlite.core.paths import check_relpath
from dvlite.errors import FormatError, UnsafePathError

CHECK_KEYS = ("metric", "min", "max", "max_drop", "max_rise")
RULES = CHECK_KEYS[1:]
_PERCENT = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%\s*")


class Where(Protocol):
    """What the pipeline parser knows about the file: a line for a key path, and errors."""

    def error(self, path: tuple[str, ...], msg: str, hint: str | None = None,
              kind: type[FormatError] = FormatError) -> FormatError: ...

    def line(self, path: tuple[str, ...]) -> int: ...


@dataclass(frozen=True, slots=True)
class Limit:
    """A bound on a change against the baseline: `amount` itself, or `amount` percent of
    the baseline value when `relative`."""

    amount: float
    relative: bool = False

    def allowed(self, baseline: float) -> float:
        return abs(baseline) * self.amount / 100 if self.relative else self.amount

    def __str__(self) -> str:
        return f"{self.amount:g}%" if self.relative else f"{self.amount:g}"


@dataclass(frozen=True, slots=True)
class Check:
    file: str  # repository-relative metrics file
    key: str  # dotted
    min: float | None = None
    max: float | None = None
    max_drop: Limit | None = None
    max_rise: Limit | None = None
    dvfile: str = ""
    line: int = 0

    @property
    def metric(self) -> str:
        return f"{self.file}:{self.key}"

    @property
    def needs_baseline(self) -> bool:
        return self.max_drop is not None or self.max_rise is not None

    def rules(self) -> dict[str, str]:
        """The rules given, as written (`{"min": "0.9", "max_rise": "5%"}`)."""
        found = {"min": self.min, "max": self.max, "max_drop": self.max_drop,
                 "max_rise": self.max_rise}
        return {k: f"{v:g}" if isinstance(v, (int, float)) else str(v)
                for k, v in found.items() if v is not None}


def _hint(word: str) -> str:
    close = difflib.get_close_matches(word, CHECK_KEYS, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_checks(raw: Any, where: Where, dvfile: str) -> tuple[Check, ...]:
    """The `checks:` value of `dvfile` (None when absent), validated."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise where.error(("checks",), "'checks' must be a list of {metric: FILE:KEY, ...}")
    return tuple(_check(item, ("checks", str(i)), where, dvfile) for i, item in enumerate(raw))


def _check(item: Any, path: tuple[str, ...], where: Where, dvfile: str) -> Check:
    if not isinstance(item, dict):
        raise where.error(path, "a check is a mapping with 'metric' and at least one of "
                          "'min', 'max', 'max_drop', 'max_rise'")
    metric = item.get("metric")
    name = f"check '{metric}'" if isinstance(metric, str) and metric else "check"
    for key in item:
        if key not in CHECK_KEYS:
            raise where.error((*path, str(key)), f"{name}: unknown key '{key}'{_hint(str(key))}")
    if "metric" not in item:
        raise where.error(path, "check: 'metric' (FILE:KEY) is missing")
    file, key = _metric(metric, (*path, "metric"), where, posixpath.dirname(dvfile))
    if not any(item.get(r) is not None for r in RULES):
        raise where.error(path, f"{name}: no rule; give at least one of 'min', 'max', "
                          "'max_drop', 'max_rise'")
    bounds = {r: _bound(item.get(r), (*path, r), where, name, r) for r in ("min", "max")}
    low, high = bounds["min"], bounds["max"]
    if low is not None and high is not None and low > high:
        raise where.error((*path, "max"), f"{name}: 'max' ({high:g}) is below 'min' ({low:g})")
    return Check(file, key, low, high,
                 _limit(item.get("max_drop"), (*path, "max_drop"), where, name, "max_drop"),
                 _limit(item.get("max_rise"), (*path, "max_rise"), where, name, "max_rise"),
                 dvfile, where.line(path))


def _metric(raw: Any, path: tuple[str, ...], where: Where, dvdir: str) -> tuple[str, str]:
    if not isinstance(raw, str) or ":" not in raw:
        raise where.error(path, f"check: 'metric' must be FILE:KEY (like "
                          f"metrics.json:accuracy), not {raw!r}")
    file, _, key = raw.rpartition(":")
    if not file or not key or any(not part for part in key.split(".")):
        raise where.error(path, f"check: 'metric' must be FILE:KEY with a dotted KEY, "
                          f"not {raw!r}")
    if file.startswith("/") or "\\" in file or "\0" in file or (len(file) > 1
                                                                and file[1] == ":"):
        raise where.error(path, f"check '{raw}': unsafe metrics file {file!r}: absolute or "
                          "non-POSIX path", kind=UnsafePathError)
    try:
        full = check_relpath(posixpath.normpath(posixpath.join(dvdir or ".", file)),
                             "metrics file")
    except FormatError as exc:
        raise where.error(path, f"check '{raw}': {exc.msg} (from {file!r})",
                          kind=UnsafePathError) from None
    return full, key


def _bound(value: Any, path: tuple[str, ...], where: Where, name: str,
           rule: str) -> float | None:
    if value is None:
        return None
    if not _number(value):
        raise where.error(path, f"{name}: '{rule}' must be a number, not {value!r}")
    return float(value)


def _limit(value: Any, path: tuple[str, ...], where: Where, name: str,
            rule: str) -> Limit | None:
    if value is None:
        return None
    if _number(value):
        if value < 0:
            raise where.error(path, f"{name}: '{rule}' must not be negative, not {value!r}")
        return Limit(float(value))
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value)
        if match:
            return Limit(float(match.group(1)), relative=True)
        raise where.error(path, f"{name}: '{rule}' must be a number or a percentage like "
                          f"'5%', not {value!r}")
    raise where.error(path, f"{name}: '{rule}' must be a number or a percentage like '5%', "
                      f"not {value!r}")
