"""The `artifacts:` section of `dvlite.yaml`: the models and datasets the registry
versions (pure: parsed values in, `Artifact` records out).

Each entry is `NAME: {path, type, desc, labels}`; NAME follows GTO's name rule (so its
tags are GTO's), `path` is relative to the folder of its `dvlite.yaml`. Every error names
the file, the line and the key, like the `checks:` section's.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dvlite.core.checks import Where
from dvlite.core.paths import check_relpath
from dvlite.errors import FormatError, UnsafePathError

ARTIFACT_KEYS = ("path", "type", "desc", "labels")
TYPES = ("model", "dataset")
# GTO's `name` (gto/constants.py): letters, digits, '-', '_', '/'; starts and ends with
# a letter or digit. Tags are NAME@vX.Y.Z and NAME#STAGE#N, so '@', '#', '!' never appear.
NAME_RE = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?")


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    path: str  # repository-relative
    type: str = "model"
    desc: str = ""
    labels: tuple[str, ...] = ()
    dvfile: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.dvfile}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "type": self.type, "desc": self.desc,
                "labels": list(self.labels)}


def valid_name(name: str) -> bool:
    return NAME_RE.fullmatch(name) is not None


def parse_artifacts(raw: Any, where: Where, dvfile: str) -> tuple[Artifact, ...]:
    """The `artifacts:` value of `dvfile` (None when absent), validated."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise where.error(("artifacts",), "'artifacts' must be a mapping of artifact names "
                          "to {path, type, desc, labels}")
    return tuple(_artifact(str(name), body, ("artifacts", str(name)), where, dvfile)
                 for name, body in raw.items())


def _artifact(name: str, body: Any, path: tuple[str, ...], where: Where,
              dvfile: str) -> Artifact:
    if not valid_name(name):
        raise where.error(path, f"invalid artifact name '{name}': letters, digits, '-', '_' "
                          "and '/', starting and ending with a letter or digit")
    if not isinstance(body, dict):
        raise where.error(path, f"artifact '{name}' must be a mapping with at least 'path'")
    for key in body:
        if key not in ARTIFACT_KEYS:
            close = difflib.get_close_matches(str(key), ARTIFACT_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise where.error((*path, str(key)), f"artifact '{name}': unknown key "
                              f"'{key}'{hint}")
    if "path" not in body:
        raise where.error(path, f"artifact '{name}': 'path' is missing")
    kind = _text(body, "type", path, where, name) or "model"
    if kind not in TYPES:
        raise where.error((*path, "type"), f"artifact '{name}': 'type' must be one of "
                          f"{', '.join(TYPES)}, not {kind!r}")
    labels = body.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
        raise where.error((*path, "labels"), f"artifact '{name}': 'labels' must be a list "
                          f"of strings, not {labels!r}")
    return Artifact(name, _path(body.get("path"), (*path, "path"), where, name, dvfile),
                    kind, _text(body, "desc", path, where, name), tuple(labels), dvfile,
                    where.line(path))


def _text(body: dict[str, Any], key: str, path: tuple[str, ...], where: Where,
          name: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise where.error((*path, key), f"artifact '{name}': '{key}' must be a string, "
                          f"not {value!r}")
    return value


def _path(raw: Any, path: tuple[str, ...], where: Where, name: str, dvfile: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise where.error(path, f"artifact '{name}': 'path' must be a non-empty string, "
                          f"not {raw!r}")
    if raw.startswith("/") or "\\" in raw or "\0" in raw or (len(raw) > 1 and raw[1] == ":"):
        raise where.error(path, f"artifact '{name}': unsafe path {raw!r}: absolute or "
                          "non-POSIX path", kind=UnsafePathError)
    dvdir = posixpath.dirname(dvfile)
    try:
        return check_relpath(posixpath.normpath(posixpath.join(dvdir or ".", raw)),
                             "artifact path")
    except FormatError as exc:
        raise where.error(path, f"artifact '{name}': {exc.msg} (from {raw!r})",
                          kind=UnsafePathError) from None


def check_tracked(artifact: Artifact, outputs: Iterable[str], rev: str) -> None:
    """Refuse an artifact whose path is neither a tracked output nor inside a tracked
    folder (a stage's out or a `.dvl`) at `rev`."""
    for out in outputs:
        if artifact.path == out or artifact.path.startswith(out + "/"):
            return
    raise FormatError(f"{artifact.where}: artifact '{artifact.name}': path "
                      f"'{artifact.path}' is not a tracked output at {rev}",
                      hint="track it with `dvlite add` or make it a stage's output")


def merge(found: Iterable[Artifact]) -> dict[str, Artifact]:
    """Artifacts by name across several files; a name declared twice is an error."""
    by_name: dict[str, Artifact] = {}
    for art in found:
        if art.name in by_name:
            raise FormatError(f"{art.where}: artifact '{art.name}' is already declared at "
                              f"{by_name[art.name].where}")
        by_name[art.name] = art
    return by_name
