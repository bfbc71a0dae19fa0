"""`foreach`/`do`: one stage definition generating `NAME@item` stages.

`foreach` is a list (`${item}`, or `${item.field}` for mappings) or a mapping (`${key}`
and `${item}` / `${item.field}` for its values). Interpolation applies to every string
in `do`; a string that is exactly one `${...}` takes the value's own type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

from dvlite.errors import FormatError

_VAR = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_\-]+)*)\s*\}")
_SAFE_SUFFIX = re.compile(r"[A-Za-z0-9_.\-]+")


class ErrorFn(Protocol):
    def __call__(self, path: tuple[str, ...], msg: str, hint: str | None = None,
                 kind: type[FormatError] = FormatError) -> FormatError: ...


def expand(name: str, body: Any, path: tuple[str, ...],
           error: ErrorFn) -> Iterator[tuple[str, Any, tuple[str, ...]]]:
    """Yield (stage name, stage body, key path of the body) for a plain or foreach stage."""
    if not (isinstance(body, dict) and "foreach" in body):
        yield name, body, path
        return
    extra = sorted(str(k) for k in body if k not in ("foreach", "do"))
    if extra:
        raise error((*path, extra[0]), f"stage '{name}': a foreach stage takes only "
                    f"'foreach' and 'do', not '{extra[0]}'")
    items = body["foreach"]
    do = body.get("do")
    do_path = (*path, "do")
    if not isinstance(do, dict):
        raise error(do_path if "do" in body else path,
                    f"stage '{name}': foreach needs a 'do' mapping")
    if isinstance(items, list):
        pairs = [(_suffix(item, i), {"item": item}) for i, item in enumerate(items)]
    elif isinstance(items, dict):
        pairs = [(str(k), {"key": k, "item": v}) for k, v in items.items()]
    else:
        raise error((*path, "foreach"), f"stage '{name}': foreach must be a list or a mapping")
    seen: set[str] = set()
    for suffix, scope in pairs:
        if not _SAFE_SUFFIX.fullmatch(suffix):
            raise error((*path, "foreach"), f"stage '{name}': foreach item '{suffix}' cannot "
                        "be part of a stage name")
        if suffix in seen:
            raise error((*path, "foreach"), f"stage '{name}': foreach item '{suffix}' repeats")
        seen.add(suffix)
        yield f"{name}@{suffix}", _interpolate(do, scope, do_path, error), do_path


def _suffix(item: Any, index: int) -> str:
    if isinstance(item, (str, int, float)) and not isinstance(item, bool):
        return str(item)
    return str(index)


def _interpolate(value: Any, scope: dict[str, Any], path: tuple[str, ...],
                 error: ErrorFn) -> Any:
    if isinstance(value, str):
        return _substitute(value, scope, path, error)
    if isinstance(value, list):
        return [_interpolate(v, scope, (*path, str(i)), error) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {_substitute(str(k), scope, path, error) if isinstance(k, str) else k:
                _interpolate(v, scope, (*path, str(k)), error) for k, v in value.items()}
    return value


def _substitute(text: str, scope: dict[str, Any], path: tuple[str, ...],
                error: ErrorFn) -> Any:
    whole = _VAR.fullmatch(text)
    if whole:
        return _lookup(whole[1], scope, path, error)

    def one(m: re.Match[str]) -> str:
        value = _lookup(m[1], scope, path, error)
        if isinstance(value, (dict, list)):
            raise error(path, f"'${{{m[1]}}}' is a {type(value).__name__}, not a scalar")
        return str(value).lower() if isinstance(value, bool) else str(value)

    return _VAR.sub(one, text)


def _lookup(name: str, scope: dict[str, Any], path: tuple[str, ...], error: ErrorFn) -> Any:
    head, *rest = name.split(".")
    if head not in scope:
        known = ", ".join(f"${{{k}}}" for k in scope)
        raise error(path, f"unknown variable '${{{name}}}' (known here: {known})")
    value = scope[head]
    for part in rest:
        if not isinstance(value, dict) or part not in value:
            raise error(path, f"'${{{name}}}': no field '{part}'")
        value = value[part]
    return value
