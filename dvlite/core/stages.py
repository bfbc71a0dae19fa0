"""Stage records and the parser of one `dvlite.yaml` (pure: text in, stages out).

Every error names the file and the line (`dvlite.yaml:12: ...`). Paths in the file are
relative to the stage's `wdir`, itself relative to the file's folder; here they become
repository-relative and are checked with `check_relpath` before anything uses them.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dvlite.core import strictyaml
from dvlite.core.artifacts import Artifact, parse_artifacts
from dvlite.core.checks import Check, parse_checks
from dvlite.core.foreach import expand
from dvlite.core.paths import check_relpath
from dvlite.core.plots import PlotSpec, parse_plots
from dvlite.errors import FormatError, UnsafePathError

PIPELINE_FILE = "dvlite.yaml"
DEFAULT_PARAMS = "params.yaml"
MAX_PIPELINE_BYTES = 8 << 20
STAGE_KEYS = ("cmd", "wdir", "deps", "outs", "params", "metrics", "frozen", "always_changed",
              "desc")
OUT_KEYS = ("cache", "persist")
TOP_KEYS = ("stages", "checks", "plots", "artifacts")
_RESERVED_OUTS = frozenset({PIPELINE_FILE, "dvlite.lock", ".gitignore"})
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(@[A-Za-z0-9_.\-]+)?")

Lines = dict[tuple[str, ...], int]


@dataclass(frozen=True, slots=True)
class Out:
    path: str  # repository-relative
    cache: bool = True
    persist: bool = False
    metric: bool = False
    line: int = 0


@dataclass(frozen=True, slots=True)
class ParamRef:
    file: str  # repository-relative
    key: str  # dotted
    line: int = 0


@dataclass(frozen=True, slots=True)
class Dep:
    path: str  # repository-relative
    line: int = 0


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    cmd: str
    wdir: str  # repository-relative folder the command runs in ("" = the root)
    deps: tuple[Dep, ...]
    outs: tuple[Out, ...]
    params: tuple[ParamRef, ...]
    dvfile: str  # repository-relative path of the dvlite.yaml that defines it
    line: int
    frozen: bool = False
    always_changed: bool = False
    desc: str = ""

    @property
    def where(self) -> str:
        return f"{self.dvfile}:{self.line}"

    @property
    def dvdir(self) -> str:
        return posixpath.dirname(self.dvfile)


class _Ctx:
    """Where we are in the file, to put a line number on every message."""

    def __init__(self, source: str, lines: Lines) -> None:
        self.source = source
        self.lines = lines

    def line(self, path: tuple[str, ...]) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def error(self, path: tuple[str, ...], msg: str, hint: str | None = None,
              kind: type[FormatError] = FormatError) -> FormatError:
        # SPEC: validation errors name the file and the stage; the line alone is not enough
        # for a reader who sees the message in a CI log without the file at hand.
        if len(path) > 1 and path[0] == "stages" and f"'{path[1]}'" not in msg:
            msg = f"{msg} (stage '{path[1]}')"
        return kind(f"{self.source}:{self.line(path)}: {msg}", hint=hint)


def did_you_mean(word: str, choices: tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean '{close[0]}'?" if close else None


def parse_pipeline(text: str | bytes, dvfile: str) -> list[Stage]:
    """Parse one pipeline file's stages; `dvfile` is its repository-relative path."""
    return parse_file(text, dvfile)[0]


@dataclass(frozen=True, slots=True)
class Sections:
    """One pipeline file's top-level sections, parsed."""

    stages: list[Stage]
    checks: tuple[Check, ...] = ()
    plots: tuple[PlotSpec, ...] = ()
    artifacts: tuple[Artifact, ...] = ()


def parse_file(text: str | bytes, dvfile: str) -> tuple[list[Stage], tuple[Check, ...]]:
    """Parse one pipeline file: its stages and its metric checks."""
    sections = parse_sections(text, dvfile)
    return sections.stages, sections.checks


def parse_sections(text: str | bytes, dvfile: str) -> Sections:
    """Parse one pipeline file: every top-level section."""
    doc = strictyaml.load(text, dvfile, limit=MAX_PIPELINE_BYTES)
    raw = text.decode() if isinstance(text, bytes) else text
    ctx = _Ctx(dvfile, strictyaml.node_lines(raw, dvfile) if doc is not None else {})
    if doc is None:
        return Sections([])
    if not isinstance(doc, dict):
        raise ctx.error((), "expected a mapping with a 'stages' key")
    for key in doc:
        if key not in TOP_KEYS:
            hint = did_you_mean(str(key), TOP_KEYS)
            raise ctx.error((str(key),), f"unknown key '{key}'" + (f"; {hint}" if hint else ""))
    stages_doc = doc.get("stages") or {}
    if not isinstance(stages_doc, dict):
        raise ctx.error(("stages",), "'stages' must be a mapping of stage names")
    stages: list[Stage] = []
    for name, body in stages_doc.items():
        path = ("stages", str(name))
        for gen_name, gen_body, body_path in expand(str(name), body, path, ctx.error):
            stages.append(_parse_stage(ctx, gen_name, gen_body, body_path, dvfile))
    return Sections(stages, parse_checks(doc.get("checks"), ctx, dvfile),
                    parse_plots(doc.get("plots"), ctx, dvfile),
                    parse_artifacts(doc.get("artifacts"), ctx, dvfile))


def _parse_stage(ctx: _Ctx, name: str, body: Any, path: tuple[str, ...], dvfile: str) -> Stage:
    if not _NAME.fullmatch(name):
        raise ctx.error(path, f"invalid stage name '{name}' (letters, digits, '_', '.', '-')")
    if not isinstance(body, dict):
        raise ctx.error(path, f"stage '{name}' must be a mapping with at least 'cmd'")
    for key in body:
        if key not in STAGE_KEYS:
            hint = did_you_mean(str(key), STAGE_KEYS)
            raise ctx.error((*path, str(key)), f"stage '{name}': unknown key '{key}'"
                            + (f"; {hint}" if hint else ""))
    cmd = body.get("cmd")
    if isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd):
        cmd = " && ".join(cmd)
    if not isinstance(cmd, str) or not cmd.strip():
        raise ctx.error((*path, "cmd"), f"stage '{name}': 'cmd' must be a non-empty string")
    dvdir = posixpath.dirname(dvfile)
    wdir_raw = _typed(ctx, body, path, "wdir", kind=str, default=".")
    wdir = _resolve(ctx, (*path, "wdir"), dvdir, wdir_raw, "wdir", allow_root=True)
    outs = [*_outs(ctx, body, path, wdir, "outs", metric=False),
            *_outs(ctx, body, path, wdir, "metrics", metric=True)]
    return Stage(
        name=name, cmd=cmd, wdir=wdir,
        deps=tuple(_deps(ctx, body, path, wdir)),
        outs=tuple(outs),
        params=tuple(_params(ctx, body, path, wdir)),
        dvfile=dvfile, line=ctx.line(path),
        frozen=_typed(ctx, body, path, "frozen", kind=bool, default=False),
        always_changed=_typed(ctx, body, path, "always_changed", kind=bool, default=False),
        desc=_typed(ctx, body, path, "desc", kind=str, default=""),
    )


def _typed(ctx: _Ctx, body: Mapping[str, Any], path: tuple[str, ...], key: str, *,
           kind: type[Any], default: Any) -> Any:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise ctx.error((*path, key), f"'{key}' must be a {kind.__name__}, not {value!r}")
    return value


def _resolve(ctx: _Ctx, where: tuple[str, ...], base: str, raw: str, what: str, *,
             allow_root: bool = False) -> str:
    """Join `raw` (relative to `base`) into a safe repository-relative path."""
    if not isinstance(raw, str) or not raw:
        raise ctx.error(where, f"{what} must be a non-empty string, not {raw!r}")
    if raw.startswith("/") or "\\" in raw or "\0" in raw or (len(raw) > 1 and raw[1] == ":"):
        raise ctx.error(where, f"unsafe {what} {raw!r}: absolute or non-POSIX path",
                        kind=UnsafePathError)
    full = posixpath.normpath(posixpath.join(base or ".", raw))
    if full == "." and allow_root:
        return ""
    try:
        return check_relpath(full, what)
    except FormatError as exc:
        raise ctx.error(where, f"{exc.msg} (from {raw!r})", kind=UnsafePathError) from None


def _list(ctx: _Ctx, body: Mapping[str, Any], path: tuple[str, ...], key: str) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.error((*path, key), f"'{key}' must be a list")
    return value


def _deps(ctx: _Ctx, body: Mapping[str, Any], path: tuple[str, ...], wdir: str) -> list[Dep]:
    deps = []
    for i, raw in enumerate(_list(ctx, body, path, "deps")):
        where = (*path, "deps", str(i))
        deps.append(Dep(_resolve(ctx, where, wdir, raw, "dependency"), ctx.line(where)))
    return deps


def _outs(ctx: _Ctx, body: Mapping[str, Any], path: tuple[str, ...], wdir: str, key: str, *,
          metric: bool) -> list[Out]:
    outs = []
    for i, item in enumerate(_list(ctx, body, path, key)):
        where = (*path, key, str(i))
        opts: Any = {}
        raw = item
        if isinstance(item, dict):
            if len(item) != 1:
                raise ctx.error(where, f"an entry of '{key}' is a path or {{PATH: {{options}}}}")
            raw, opts = next(iter(item.items()))
            opts = opts or {}
            if not isinstance(opts, dict):
                raise ctx.error(where, f"options of '{raw}' must be a mapping")
            for opt in opts:
                if opt not in OUT_KEYS:
                    hint = did_you_mean(str(opt), OUT_KEYS)
                    raise ctx.error((*where, str(raw), str(opt)), f"unknown output option "
                                    f"'{opt}'" + (f"; {hint}" if hint else ""))
        cache = _typed(ctx, opts, (*where, str(raw)), "cache", kind=bool, default=not metric)
        persist = _typed(ctx, opts, (*where, str(raw)), "persist", kind=bool, default=False)
        full = _resolve(ctx, where, wdir, raw, "output")
        base = posixpath.basename(full)
        if base in _RESERVED_OUTS or base.endswith(".dvl"):
            raise ctx.error(where, f"output '{full}' would overwrite a dvlite file")
        outs.append(Out(full, cache, persist, metric, ctx.line(where)))
    return outs


def _params(ctx: _Ctx, body: Mapping[str, Any], path: tuple[str, ...],
            wdir: str) -> list[ParamRef]:
    refs = []
    for i, raw in enumerate(_list(ctx, body, path, "params")):
        where = (*path, "params", str(i))
        line = ctx.line(where)
        if isinstance(raw, str) and raw:
            refs.append(ParamRef(_resolve(ctx, where, wdir, DEFAULT_PARAMS, "params file"),
                                 raw, line))
            continue
        if not isinstance(raw, dict):
            raise ctx.error(where, "a params entry is a dotted key or {FILE: [keys]}")
        for file, keys in raw.items():
            fpath = _resolve(ctx, where, wdir, file, "params file")
            if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
                raise ctx.error(where, f"params of '{file}' must be a list of dotted keys")
            refs.extend(ParamRef(fpath, k, line) for k in keys)
    return refs
