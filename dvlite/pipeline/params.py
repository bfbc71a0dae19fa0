"""Parameter and metric files (YAML, JSON, TOML): parsing, dotted keys, flattening."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from dvlite.core import strictyaml
from dvlite.core.stages import Stage
from dvlite.errors import FormatError, PipelineError, storage_error

MAX_PARAMS_BYTES = 16 << 20
_MISSING = object()


def parse_values(data: bytes, source: str) -> Any:
    """Parse a params/metrics file by its extension (YAML when unknown)."""
    if len(data) > MAX_PARAMS_BYTES:
        raise FormatError(f"{source}: file too large ({len(data)} bytes)")
    suffix = Path(source).suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(data)
        if suffix == ".toml":
            return tomllib.loads(data.decode())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # nesting recurses
        raise FormatError(f"{source}: not valid {suffix[1:].upper()} ({exc})") from exc
    return strictyaml.load(data, source)


def read_values(root: Path, rel: str) -> Any:
    try:
        data = (root / rel).read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"params file '{rel}' does not exist") from None
    except OSError as exc:
        raise storage_error(exc, f"reading {rel}") from exc
    return parse_values(data, rel)


def lookup(doc: Any, key: str) -> Any:
    """The value at dotted `key`, or `_MISSING`. A key that exists literally wins."""
    if isinstance(doc, dict) and key in doc:
        return doc[key]
    head, dot, rest = key.partition(".")
    if dot and isinstance(doc, dict) and head in doc:
        return lookup(doc[head], rest)
    return _MISSING


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted key: scalar or list} of a nested mapping."""
    if not isinstance(doc, dict):
        return {prefix: doc} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat


def stage_params(root: Path, stage: Stage,
                 docs: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """{file: {key: value}} of the parameters `stage` reads, from the workspace."""
    docs = {} if docs is None else docs
    values: dict[str, dict[str, Any]] = {}
    for ref in stage.params:
        if ref.file not in docs:
            try:
                docs[ref.file] = read_values(root, ref.file)
            except PipelineError as exc:
                raise PipelineError(f"{stage.dvfile}:{ref.line}: stage '{stage.name}': "
                                    f"{exc.msg}") from None
        value = lookup(docs[ref.file], ref.key)
        if value is _MISSING:
            raise PipelineError(f"{stage.dvfile}:{ref.line}: stage '{stage.name}': parameter "
                                f"'{ref.key}' is not in '{ref.file}'")
        values.setdefault(ref.file, {})[ref.key] = value
    return values
