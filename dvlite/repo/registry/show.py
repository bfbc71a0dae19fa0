"""`dvlite model list` and `dvlite model show NAME`: the registry's state from one `git
for-each-ref`, and each version's lineage from `dvlite.lock` at its commit.

Lineage for every version is read in two `git cat-file --batch` calls whatever the number
of versions (first the pipeline, lock and pointer files at every commit, then the metrics
files those name), never one git call per version.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import Any

from dvlite.core.dag import parse_files
from dvlite.core.lockfile import LOCK_FILE, LockEntry, loads
from dvlite.core.pointer import POINTER_SUFFIX, Pointer
from dvlite.core.registry import ArtifactState, Version, build
from dvlite.core.stages import PIPELINE_FILE
from dvlite.errors import DvliteError, FormatError
from dvlite.pipeline.params import flatten, parse_values
from dvlite.repo.registry.tags import git_of
from dvlite.scm import Git
from dvlite.workspace.repo import Repo


@dataclass
class VersionInfo:
    version: str
    commit: str
    date: str
    author: str
    author_email: str
    message: str
    tag: str
    deregistered: bool
    stages: list[str]
    path: str | None = None
    hash: str | None = None
    size: int | None = None
    lineage: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _date(when: int) -> str:
    return datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat() if when else ""


def list_artifacts(repo: Repo) -> list[dict[str, Any]]:
    """Every artifact declared at HEAD or named by tags: latest version, stage versions."""
    git = git_of(repo)
    states = build(git.registry_tags())
    declared = {}
    if git.has_commits():
        from dvlite.pipeline.load import load_at

        declared = {a.name: a for a in load_at(repo, "HEAD").artifacts}
    rows = []
    for name in sorted(set(states) | set(declared)):
        state = states.get(name) or ArtifactState(name)
        art = declared.get(name)
        latest = state.latest
        rows.append({"name": name, "type": art.type if art else None,
                     "path": art.path if art else None, "desc": art.desc if art else "",
                     "labels": list(art.labels) if art else [],
                     "latest": latest.version if latest else None,
                     "stages": dict(state.stages), "deprecated": state.deprecated})
    return rows


def show(repo: Repo, name: str) -> list[VersionInfo]:
    """Each registered version of `name`, newest first, with its lineage."""
    git = git_of(repo)
    state = build(git.registry_tags()).get(name)
    if state is None or not state.versions:
        raise DvliteError(f"artifact '{name}' has no registered version")
    prefix = os.path.relpath(repo.root, git.root).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix + "/"
    versions = list(reversed(state.versions))
    infos = [_info(state, v) for v in versions]
    _lineage(git, prefix, name, versions, infos)
    return infos


def _info(state: ArtifactState, v: Version) -> VersionInfo:
    r = v.record
    return VersionInfo(v.version, v.commit, _date(r.time), r.tagger, r.email, r.message,
                       r.tag, v.deregistered, state.stages_of(v.version))


def _lineage(git: Git, prefix: str, name: str, versions: list[Version],
             infos: list[VersionInfo]) -> None:
    first = git.cat_paths([f"{v.commit}:{prefix}{f}" for v in versions
                           for f in (PIPELINE_FILE, LOCK_FILE)])
    wanted: list[tuple[int, str]] = []  # (index of the version, file) for the second read
    parsed: list[tuple[dict[str, LockEntry], list[str]] | None] = []
    for i, info in enumerate(infos):
        pipe_text, lock_text = first[2 * i], first[2 * i + 1]
        try:
            pipeline = parse_files({PIPELINE_FILE: pipe_text} if pipe_text else {})
            lock = loads(lock_text, LOCK_FILE) if lock_text else {}
        except FormatError as exc:
            info.lineage = {"error": exc.msg}
            parsed.append(None)
            continue
        art = next((a for a in pipeline.artifacts if a.name == name), None)
        info.path = art.path if art else None
        metrics = sorted({o.path for s in pipeline.stages for o in s.outs if o.metric})
        parsed.append((lock, metrics))
        wanted += [(i, m) for m in metrics]
        if info.path is not None:
            wanted.append((i, info.path + POINTER_SUFFIX))
    second = git.cat_paths([f"{versions[i].commit}:{prefix}{f}" for i, f in wanted])
    found: dict[int, dict[str, bytes]] = {}
    for (i, f), data in zip(wanted, second, strict=True):
        if data is not None:
            found.setdefault(i, {})[f] = data
    for i, info in enumerate(infos):
        entry = parsed[i]
        if entry is not None:
            _fill(info, entry[0], entry[1], found.get(i, {}))


def _fill(info: VersionInfo, lock: dict[str, LockEntry], metrics: list[str],
          files: dict[str, bytes]) -> None:
    values: dict[str, Any] = {}
    for m in metrics:
        if m in files:
            try:
                values[m] = flatten(parse_values(files[m], m))
            except FormatError:
                continue
    lineage: dict[str, Any] = {"stage": None, "cmd": None, "deps": [], "params": {},
                               "metrics": values}
    path = info.path
    if path is not None and path + POINTER_SUFFIX in files:
        try:
            ptr = Pointer.from_bytes(files[path + POINTER_SUFFIX], path + POINTER_SUFFIX)
            info.hash, info.size = str(ptr.oid), ptr.size
        except FormatError:
            pass
    for entry in lock.values():
        out = next((o for o in entry.outs if path is not None and (
            path == o.path or path.startswith(o.path + "/"))), None)
        if out is None:
            continue
        if info.hash is None and out.path == path:
            info.hash, info.size = str(out.oid), out.size
        lineage.update(stage=entry.name, cmd=entry.cmd, params=entry.params,
                       deps=[{"path": d.path, "hash": str(d.oid)} for d in entry.deps])
        break
    info.lineage = lineage


