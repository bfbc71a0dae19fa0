"""`exp run -S [FILE:]KEY=VALUE`: parameter overrides written into the params files.

VALUE is parsed as YAML (`0.1` is a number, `[1, 2]` a list); KEY is dotted for nested
values and may be new. The file keeps its other keys: YAML and JSON are rewritten in
their key order, TOML through tomlkit (comments kept). In YAML, a value that is already
there as a plain or quoted scalar or a flow collection is replaced in place, so the
file's comments and layout stay; the result is checked against the intended values
and the file is rewritten whole when they differ."""

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
    return apply_overrides_in(repo.root, overrides)


def apply_overrides_in(root: Path, overrides: list[Override]) -> list[str]:
    """`apply_overrides` on the params files under folder `root`."""
    docs: dict[str, Any] = {}
    for o in overrides:
        if o.file not in docs:
            docs[o.file] = _read(root / o.file, o.file)
        set_key(docs[o.file], o.key, o.value)
    for rel, doc in docs.items():
        mine = [o for o in overrides if o.file == rel]
        atomic_write(root / rel, _dump(root / rel, doc, mine))
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
    spliced = _splice_yaml(path.read_text(), overrides) if path.exists() else None
    if spliced is not None and _parses_to(spliced, doc, path.name):
        return spliced.encode()
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()


def _parses_to(text: str, doc: Any, name: str) -> bool:
    try:
        return bool(parse_values(text.encode(), name) == doc)
    except DvliteError:
        return False


def _splice_yaml(text: str, overrides: list[Override]) -> str | None:
    """`text` with each override's value written over the old one in place; None when
    one is new, or a block value (rewritten whole instead)."""
    for o in overrides:
        try:
            node = _value_node(yaml.compose(text), o.key)
        except yaml.YAMLError:
            return None
        flow = (isinstance(node, yaml.ScalarNode) and node.style in (None, "'", '"')) or (
            isinstance(node, yaml.CollectionNode) and node.flow_style)
        if node is None or not flow:
            return None
        new = yaml.safe_dump([o.value], default_flow_style=True, width=1 << 30,
                             allow_unicode=True).strip()[1:-1]
        text = text[: node.start_mark.index] + new + text[node.end_mark.index :]
    return text


def _value_node(node: Any, key: str) -> Any:
    """The value node at dotted `key` (a literal key first, as in reads), or None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    pairs = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    if key in pairs:
        return pairs[key]
    head, dot, rest = key.partition(".")
    return _value_node(pairs[head], rest) if dot and head in pairs else None
