"""`dvlite stage add`: append a stage to `dvlite.yaml`, keeping the user's comments and
layout, after validating the whole resulting pipeline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from dvlite.core import strictyaml
from dvlite.core.dag import parse_files
from dvlite.core.stages import PIPELINE_FILE, Stage
from dvlite.errors import PipelineError, UsageError
from dvlite.pipeline.load import check_against_workspace, pipeline_files, read_texts
from dvlite.storage.atomic import atomic_write
from dvlite.workspace.repo import Repo

_STAGES_LINE = re.compile(r"^stages:[ \t]*(#.*)?$", re.M)


@dataclass(frozen=True)
class StageSpec:
    name: str
    cmd: str
    deps: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)  # "key", or "file:key1,key2"
    outs_no_cache: list[str] = field(default_factory=list)
    wdir: str | None = None
    always_changed: bool = False

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"cmd": self.cmd}
        if self.wdir and self.wdir != ".":
            body["wdir"] = self.wdir
        if self.deps:
            body["deps"] = list(self.deps)
        if self.params:
            body["params"] = _params(self.params)
        outs: list[Any] = [*self.outs, *({o: {"cache": False}} for o in self.outs_no_cache)]
        if outs:
            body["outs"] = outs
        if self.metrics:
            body["metrics"] = list(self.metrics)
        if self.always_changed:
            body["always_changed"] = True
        return body


def _params(specs: list[str]) -> list[Any]:
    items: list[Any] = []
    for spec in specs:
        file, sep, keys = spec.rpartition(":")
        if not sep:
            items.extend(k for k in keys.split(",") if k)
            continue
        names = [k for k in keys.split(",") if k]
        if not file or not names:
            raise UsageError(f"invalid -p '{spec}': use KEY or FILE:KEY[,KEY...]")
        items.append({file: names})
    return items


def add_stage(repo: Repo, spec: StageSpec, folder: str = "", stage: bool = True) -> Stage:
    """Add `spec` to the dvlite.yaml of `folder` (repository-relative, "" for the root),
    like `dvc stage add` run there: its paths are relative to that folder. Refuses a
    duplicate name or an invalid result; a dependency need not exist yet (`repro` checks
    it). With `stage` (and `core.autostage`), `git add`s the file, as `add` does."""
    dvfile = f"{folder}/{PIPELINE_FILE}" if folder else PIPELINE_FILE
    path = repo.root / dvfile
    texts = read_texts(repo, pipeline_files(repo))
    if dvfile not in texts and path.is_file():  # e.g. not yet known to git
        texts.update(read_texts(repo, [dvfile]))
    text = texts.get(dvfile, b"").decode()
    for other in parse_files(texts).stages:
        if other.name == spec.name:
            raise PipelineError(f"stage '{spec.name}' already exists ({other.where})",
                                hint="choose another name, or edit dvlite.yaml")
    new_text = _append(text, spec.name, spec.body(), dvfile)
    texts[dvfile] = new_text.encode()
    pipeline = parse_files(texts)
    check_against_workspace(repo, pipeline.stages, deps=False)
    with repo.lock():
        atomic_write(path, new_text.encode(), locked=True)
        if stage and repo.scm is not None and repo.config.core.autostage:
            repo.scm.add([path])
    return pipeline.graph.stages[spec.name]


def _append(text: str, name: str, body: dict[str, Any], dvfile: str) -> str:
    doc = strictyaml.load(text, dvfile) if text.strip() else None
    stages = doc.get("stages") if isinstance(doc, dict) else None
    if not isinstance(stages, dict) or not stages or not _STAGES_LINE.search(text):
        # Nothing to keep (or a flow-style file): write the document out anew.
        merged = dict(doc) if isinstance(doc, dict) else {}
        merged["stages"] = {**(stages if isinstance(stages, dict) else {}), name: body}
        return _dump(merged, 2)
    first = next(iter(stages))
    lines = strictyaml.node_lines(text, dvfile)
    line = lines[("stages", str(first))]
    current = text.splitlines()[line - 1]
    indent = len(current) - len(current.lstrip(" ")) or 2
    added = _dump({name: body}, indent, prefix=" " * indent)
    after = sorted(n for k, n in lines.items() if len(k) == 1 and n > lines[("stages",)])
    if after:  # another section (e.g. `checks:`) follows: the stage goes before it
        head, tail = _split_before(text.splitlines(keepends=True), after[0] - 1)
        return "".join(head) + added + "".join(tail)
    sep = "" if text.endswith("\n") else "\n"
    return text + sep + added


def _split_before(lines: list[str], index: int) -> tuple[list[str], list[str]]:
    """Split before line `index`, keeping the blank and comment lines just above it with
    the section they introduce."""
    while index > 0 and (not lines[index - 1].strip()
                         or lines[index - 1].lstrip().startswith("#")):
        index -= 1
    head = lines[:index]
    if head and not head[-1].endswith("\n"):
        head[-1] += "\n"
    return head, lines[index:]


def _dump(doc: dict[str, Any], indent: int, prefix: str = "") -> str:
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, indent=indent,
                          allow_unicode=True, width=1 << 16)
    return "".join(f"{prefix}{line}\n" for line in text.splitlines())
