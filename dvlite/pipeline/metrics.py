"""Parameters and metrics across revisions: read from the workspace or from git (no
checkout), flattened to dotted keys, and compared with numeric deltas."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dvlite.core.dag import Pipeline
from dvlite.core.lockfile import LOCK_FILE, loads
from dvlite.core.oid import Oid
from dvlite.core.stages import DEFAULT_PARAMS
from dvlite.errors import DvliteError, MissingObjectsError, UsageError
from dvlite.pipeline.load import load_at, load_pipeline
from dvlite.pipeline.params import flatten, parse_values
from dvlite.workspace.repo import Repo

Values = dict[str, dict[str, Any]]  # file -> dotted key -> value


@dataclass(frozen=True, slots=True)
class Change:
    file: str
    key: str
    old: Any
    new: Any

    @property
    def delta(self) -> float | int | None:
        if _number(self.old) and _number(self.new):
            result: float | int = self.new - self.old
            # 0.3 - 0.1 is 0.19999999999999998 in binary; show what a person expects.
            return float(f"{result:.12g}") if isinstance(result, float) else result
        return None

    def to_dict(self) -> dict[str, Any]:
        d = {"old": self.old, "new": self.new}
        if self.delta is not None:
            d["diff"] = self.delta
        return d


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _pipeline(repo: Repo, rev: str | None) -> Pipeline:
    return load_pipeline(repo, check_workspace=False) if rev is None else load_at(repo, rev)


def _unborn(repo: Repo, rev: str | None) -> bool:
    """HEAD of a repository without commits: compared as empty, like `git diff` does."""
    return rev == "HEAD" and repo.scm is not None and not repo.scm.has_commits()


def _read(repo: Repo, rev: str | None, paths: list[str]) -> dict[str, bytes]:
    """Bytes of repository-relative `paths` in the workspace (rev None) or at `rev`."""
    if rev is None:
        found = {}
        for rel in paths:
            try:
                found[rel] = (repo.root / rel).read_bytes()
            except OSError:
                continue
        return found
    if repo.scm is None:
        raise UsageError("revisions need git; this repository was initialised with --no-scm")
    git_paths = {os.path.relpath(repo.root / p, repo.scm.root).replace(os.sep, "/"): p
                 for p in paths}
    blobs = repo.scm.files_at(rev, suffixes=(), names=list(git_paths))
    return {git_paths[g]: data for g, data in blobs.items() if g in git_paths}


def params_at(repo: Repo, rev: str | None) -> Values:
    """Every parameter of the files the pipeline's stages read (plus params.yaml)."""
    if _unborn(repo, rev):
        return {}
    pipeline = _pipeline(repo, rev)
    files = sorted({r.file for s in pipeline.stages for r in s.params} | {DEFAULT_PARAMS})
    return {path: flatten(parse_values(data, path))
            for path, data in sorted(_read(repo, rev, files).items())}


def _ignore(msg: str) -> None:
    del msg


def metrics_at(repo: Repo, rev: str | None,
               on_bad_file: Callable[[str], None] = _ignore) -> Values:
    """Values of every metrics file (stages' `metrics`); cached ones are read from the cache
    through the lock file when git does not hold them."""
    if _unborn(repo, rev):
        return {}
    pipeline = _pipeline(repo, rev)
    paths = sorted({o.path for s in pipeline.stages for o in s.outs if o.metric})
    values, bad = values_of(repo, rev, paths, pipeline)
    for msg in bad.values():
        # shown as absent, not fatal (one bad commit must not hide the others), but
        # the caller is told which file could not be read, and why
        on_bad_file(f"{'workspace' if rev is None else rev[:12]}: {msg}")
    return values


def values_of(repo: Repo, rev: str | None, paths: list[str],
              pipeline: Pipeline | None = None) -> tuple[Values, dict[str, str]]:
    """The flattened values of the JSON/YAML/TOML files `paths` in the workspace (rev None)
    or at `rev` (from git, else from the cache through that revision's lock files), and
    the reason each file that exists but does not parse was left out. A file found
    nowhere is simply absent."""
    found = files_at(repo, rev, paths, pipeline)
    values: Values = {}
    bad: dict[str, str] = {}
    for path, data in sorted(found.items()):
        try:
            values[path] = flatten(parse_values(data, path))
        except DvliteError as exc:
            bad[path] = exc.msg
    return values, bad


def files_at(repo: Repo, rev: str | None, paths: list[str],
             pipeline: Pipeline | None = None) -> dict[str, bytes]:
    """The bytes of the repository-relative `paths` found in the workspace (rev None) or
    at `rev`: from git, else from the cache through that revision's lock files. A path
    found nowhere is absent; a HEAD without commits holds nothing."""
    if _unborn(repo, rev):
        return {}
    found = _read(repo, rev, paths)
    missing = [p for p in paths if p not in found]
    if missing and rev is not None:
        found.update(_from_cache(repo, rev, pipeline or _pipeline(repo, rev), missing))
    return found


def _from_cache(repo: Repo, rev: str, pipeline: Pipeline, paths: list[str]) -> dict[str, bytes]:
    locks = [f.rsplit("/", 1)[0] + "/" + LOCK_FILE if "/" in f else LOCK_FILE
             for f in pipeline.files]
    oids: dict[str, Oid] = {}
    for rel, data in _read(repo, rev, locks).items():
        for entry in loads(data, rel).values():
            oids.update({h.path: h.oid for h in entry.outs if h.path in paths})
    found = {}
    for path, oid in oids.items():
        try:
            found[path] = repo.cache.read_bytes(oid)
        except MissingObjectsError:
            continue
    return found


def diff_values(old: Values, new: Values, all_keys: bool = False) -> list[Change]:
    changes = []
    for file in sorted(set(old) | set(new)):
        a, b = old.get(file, {}), new.get(file, {})
        for key in sorted(set(a) | set(b)):
            change = Change(file, key, a.get(key), b.get(key))
            if all_keys or change.old != change.new or key not in a or key not in b:
                changes.append(change)
    return changes
