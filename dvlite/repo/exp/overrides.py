"""`exp run -S [FILE:]KEY=VALUE`: parameter overrides written into the params files.

VALUE is parsed as YAML (`0.1` is a number, `[1, 2]` a list); KEY is dotted for nested
values and may be new. The file keeps its other keys: YAML and JSON are rewritten in
their key order, TOML through tomlkit (comments kept)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dvlite.core import strictyaml
from dvlite.core.paths import check_relpath
from dvlite.core.stages import DEFAULT_PARAMS
from dvlite.errors import DvliteError, UsageError, storage_error
from dvlite.pipeline.params import parse_values
from dvlite.storage.atomic import atomic_write
from dvlite.workspace.repo import Repo


@dataclass(frozen=True, slots=True)
class Override:
    file: str  # repository-relative
    key: str  # dotted
    value: Any


def parse_override(text: str) -> Override:
    target, eq, raw = text.partition("=")
    file, colon, key = target.rpartition(":")
    if not eq or not key or (colon and not file):
        raise UsageError(f"bad parameter override '{text}'", hint="write [FILE:]KEY=VALUE")
    try:
        value = strictyaml.load(raw, f"-S {text}") if raw.strip() else raw
    except DvliteError as exc:
        raise UsageError(f"bad value in '{text}': {exc.msg}") from None
    return Override(check_relpath(file) if file else DEFAULT_PARAMS, key, value)


def set_key(doc: Any, key: str, value: Any) -> None:
    """Set dotted `key` in mapping `doc`; a key that exists literally wins, as in reads."""
    if key in doc:
        doc[key] = value
        return
    head, dot, rest = key.partition(".")
    if not dot:
        doc[key] = value
        return
    if head not in doc:
        doc[head] = {}
    if not isinstance(doc[head], dict):
        raise UsageError(f"cannot set '{key}': '{head}' is not a mapping")
    set_key(doc[head], rest, value)


def apply_overrides(repo: Repo, overrides: list[Override]) -> list[str]:
    """Write every override (all parsed and checked before any file is written);
    returns the files changed."""
    docs: dict[str, Any] = {}
    for o in overrides:
        if o.file not in docs:
            docs[o.file] = _read(repo.root / o.file, o.file)
        set_key(docs[o.file], o.key, o.value)
    for rel, doc in docs.items():
        atomic_write(repo.root / rel, _dump(repo.root / rel, doc, [o for o in overrides
                                                                   if o.file == rel]))
    return sorted(docs)


def _read(path: Path, rel: str) -> Any:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""  # a new params file
    except OSError as exc:
        raise storage_error(exc, f"reading {rel}") from exc
    doc = parse_values(data, rel) if data.strip() else {}
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise UsageError(f"{rel}: not a mapping of parameters")
    return doc


def _dump(path: Path, doc: Any, overrides: list[Override]) -> bytes:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return (json.dumps(doc, indent=2) + "\n").encode()
    if suffix == ".toml":
        import tomlkit

        text = path.read_text() if path.exists() else ""
        toml = tomlkit.parse(text)
        for o in overrides:
            set_key(toml, o.key, o.value)
        return tomlkit.dumps(toml).encode()
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()
