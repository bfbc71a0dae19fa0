"""A strict, bounded YAML reader: safe types only, no aliases, no duplicate keys."""

from __future__ import annotations

from typing import Any

import yaml

from dvlite.errors import FormatError

try:
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # libyaml not compiled in
    _Base = yaml.SafeLoader


class _StrictLoader(_Base):  # type: ignore[valid-type,misc]
    """Refuses duplicate keys, which PyYAML accepts silently (aliases: see `_no_aliases`)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.MarkedYAMLError(
                    "while constructing a mapping", None, f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return result


def _no_aliases(text: str | bytes) -> None:
    """Refuse aliases (billion laughs). The C composer never calls a Python hook, so scan
    the event stream instead, only when an alias could be present at all."""
    star = "*" in text if isinstance(text, str) else b"*" in text
    if not star:
        return
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.AliasEvent):
            mark: Any = event.start_mark
            raise yaml.MarkedYAMLError("while composing", None, "aliases are not allowed", mark)


def load(text: str | bytes, source: str, limit: int | None = None) -> Any:
    """Parse YAML `text`; errors name `source` and the line, as `FormatError`."""
    if limit is not None and len(text) > limit:
        raise FormatError(f"{source}: file too large ({len(text)} bytes, at most {limit})")
    try:
        _no_aliases(text)
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise FormatError(f"{source}{line}: {' '.join(str(exc.problem or exc.context).split())}"
                          ) from exc
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"{source}: not valid YAML ({_one_line(exc)})") from exc


def _one_line(exc: Exception) -> str:
    """PyYAML's messages span lines; an `error:` line must not."""
    return " ".join(str(exc).split())


def node_lines(text: str, source: str) -> dict[tuple[str, ...], int]:
    """Map each mapping key path (tuple of keys) to its 1-based line, for error messages."""
    try:
        _no_aliases(text)
        root = yaml.compose(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise FormatError(f"{source}: not valid YAML ({_one_line(exc)})") from exc
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: Any, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = (*prefix, str(key.value))
                lines[path] = key.start_mark.line + 1
                walk(value, path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                path = (*prefix, str(i))
                lines[path] = item.start_mark.line + 1
                walk(item, path)

    walk(root, ())
    return lines
