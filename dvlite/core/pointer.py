"""The pointer file codec (`PATH.dvl`): strict parse, canonical bytes.

Pointers live in git, so equal content must give byte-identical files; any difference
would be a spurious diff or merge conflict.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dvlite.core.oid import Oid
from dvlite.core.paths import check_relpath
from dvlite.errors import FormatError

POINTER_SUFFIX = ".dvl"
MAX_POINTER_BYTES = 4096
_KEYS = ("path", "type", "hash", "size", "nfiles")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})
_LINE = re.compile(r"(path|type|hash|size|nfiles): (.+)")


@dataclass(frozen=True, slots=True)
class Pointer:
    """What one `.dvl` file says: `path` (relative to the pointer's folder) has `oid`."""

    path: str
    type: str
    oid: Oid
    size: int
    nfiles: int | None = None

    def __post_init__(self) -> None:
        check_relpath(self.path, "pointer path")
        if self.type not in ("file", "dir"):
            raise FormatError(f"invalid type '{self.type}': expected 'file' or 'dir'")
        _check_count("size", self.size)
        if self.type == "dir":
            if self.nfiles is None:
                raise FormatError("a 'dir' pointer needs 'nfiles'")
            _check_count("nfiles", self.nfiles)
        elif self.nfiles is not None:
            raise FormatError("'nfiles' is only allowed for type 'dir'")

    @property
    def is_dir(self) -> bool:
        return self.type == "dir"

    def to_bytes(self) -> bytes:
        lines = [
            f"path: {_scalar(self.path)}",
            f"type: {self.type}",
            f"hash: {self.oid}",
            f"size: {self.size}",
        ]
        if self.nfiles is not None:
            lines.append(f"nfiles: {self.nfiles}")
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, source: str) -> Pointer:
        """Parse pointer bytes; every failure is a `FormatError` naming `source`."""
        if len(data) > MAX_POINTER_BYTES:
            raise FormatError(
                f"{source}: not a pointer file ({len(data)} bytes, at most {MAX_POINTER_BYTES})"
            )
        fields = _fast_parse(data)
        if fields is None:
            # Only hand-edited pointers get here: YAML's import cost stays off the fast path.
            from dvlite.core import strictyaml

            fields = strictyaml.load(data, source)
        try:
            return _from_fields(fields)
        except FormatError as exc:
            raise type(exc)(f"{source}: {exc.msg}") from None


# Bounds checked at parse time, so a hostile pointer or manifest cannot claim absurd
# sizes (2^53 - 1 bytes is 8 PiB, and exact in every JSON reader, which reads doubles;
# 2^32 - 1 files is more inodes than most filesystems hold).
MAX_SIZE = 2**53 - 1
MAX_FILES = 2**32 - 1
_LIMITS = {"size": MAX_SIZE, "nfiles": MAX_FILES}


def _check_count(name: str, value: object) -> None:
    if type(value) is not int or value < 0:
        raise FormatError(f"invalid {name} {value!r}: expected a non-negative integer")
    if value > _LIMITS[name]:
        raise FormatError(f"invalid {name} {value}: too large (at most {_LIMITS[name]})")


def _scalar(text: str) -> str:
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _fast_parse(data: bytes) -> dict[str, Any] | None:
    """Parse the canonical form without YAML; None means 'use the YAML parser'."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    if not text.endswith("\n"):
        return None
    fields: dict[str, Any] = {}
    for line in text[:-1].split("\n"):
        m = _LINE.fullmatch(line)
        if m is None or m[1] in fields:
            return None
        key, value = m[1], m[2]
        if key in ("size", "nfiles"):
            if not value.isdigit():
                return None
            fields[key] = int(value)
        elif value.startswith('"'):
            try:
                fields[key] = json.loads(value)
            except ValueError:
                return None
        elif _PLAIN.fullmatch(value) or key == "hash":
            fields[key] = value
        else:
            return None
    return fields


def _from_fields(fields: object) -> Pointer:
    if not isinstance(fields, dict):
        raise FormatError("not a pointer file (expected a mapping of path, type, hash, size)")
    unknown = sorted(str(k) for k in fields if k not in _KEYS)
    if unknown:
        raise FormatError(f"unknown key(s) {', '.join(unknown)}")
    for key in ("path", "type", "hash", "size"):
        if key not in fields:
            raise FormatError(f"missing '{key}'")
    for key in ("path", "type", "hash"):
        if not isinstance(fields[key], str):
            raise FormatError(f"invalid {key} {fields[key]!r}: expected a string")
    return Pointer(
        path=fields["path"],
        type=fields["type"],
        oid=Oid.parse(fields["hash"]),
        size=fields["size"],
        nfiles=fields.get("nfiles"),
    )
