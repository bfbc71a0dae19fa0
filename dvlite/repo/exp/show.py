"""`dvlite exp show`: baselines (HEAD or the last N commits) and their experiments, with
every parameter and metric, read from git objects without a checkout.

Cost: one `git log`, one `git for-each-ref` (and a look at the run claims when some
are queued), then two `git cat-file --batch` calls for all the commits together (their
pipeline files first, then their params, metrics and lock files); a cached metrics file
is read from the cache through its lock entry."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dvlite.core.dag import Pipeline, parse_files
from dvlite.core.lockfile import loads, lock_path_for
from dvlite.core.stages import DEFAULT_PARAMS, PIPELINE_FILE
from dvlite.errors import DvliteError, UsageError
from dvlite.pipeline.load import pipeline_files
from dvlite.pipeline.metrics import Values
from dvlite.pipeline.params import flatten, parse_values
from dvlite.repo.exp.refs import ExpRef, git_of, list_all
from dvlite.repo.exp.running import running
from dvlite.scm import Git
from dvlite.workspace.repo import Repo

FIXED_COLUMNS = ("name", "rev", "created", "state")


@dataclass
class ExpRow:
    name: str
    rev: str
    baseline: str  # the baseline commit (a baseline's own rev)
    created: str  # commit time, ISO 8601
    state: str = "success"
    params: Values = field(default_factory=dict)
    metrics: Values = field(default_factory=dict)

    @property
    def is_baseline(self) -> bool:
        return self.rev == self.baseline

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rev": self.rev, "baseline": self.baseline,
                "created": self.created, "state": self.state, "params": self.params,
                "metrics": self.metrics}


def _ignore(msg: str) -> None:
    del msg


def exp_show(repo: Repo, num: int = 1, on_bad_file: Callable[[str], None] = _ignore,
             rev: str = "HEAD", all_commits: bool = False) -> list[ExpRow]:
    """Rows in order: each baseline (newest first: the last `num` commits from `rev`, or
    with `all_commits` every commit of every branch and tag), then its experiments
    (oldest first, by name within one second); queued, running and failed ones
    included, without metrics."""
    if num < 1:
        raise UsageError("-n must be at least 1")
    git = git_of(repo)
    by_baseline: dict[str, list[ExpRef]] = {}
    exps = list_all(git)
    for exp in exps:
        by_baseline.setdefault(exp.baseline, []).append(exp)
    now = running(git) if any(e.state == "queued" for e in exps) else set()
    rows: list[ExpRow] = []
    start = "HEAD" if rev == "HEAD" else git.resolve(rev)
    for commit, created, name in _baselines(git, num, start, all_commits):
        rows.append(ExpRow(name, commit, commit, created))
        mine = sorted(by_baseline.get(commit, []), key=lambda e: (e.created, e.name))
        rows += [ExpRow(e.name, e.rev, commit, e.created,
                        "running" if e.state == "queued" and e.name in now else e.state)
                 for e in mine]
    _fill_values(repo, git, rows, on_bad_file)
    for row in rows:
        if row.state in ("queued", "running", "failed"):
            row.metrics = {}  # its commit holds the baseline's: it has none of its own
    return rows


def _baselines(git: Git, num: int, start: str, all_commits: bool
               ) -> list[tuple[str, str, str]]:
    scope = [start, "--branches", "--tags"] if all_commits else [f"-n{num}", start]
    out = git.run("log", "--format=%H%x00%cI%x00%D", *scope)
    found = []
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        rev, created, decoration = line.split("\0")
        found.append((rev, created, _ref_name(decoration) or rev[:7]))
    return found


def _ref_name(decoration: str) -> str | None:
    """A branch pointing at the commit (HEAD's first), else a tag."""
    names = [d.strip() for d in decoration.split(",") if d.strip()]
    for d in names:
        if d.startswith("HEAD -> "):
            return d.removeprefix("HEAD -> ")
    plain = [d for d in names if d != "HEAD" and not d.startswith(("tag: ", "refs/"))]
    tags = [d.removeprefix("tag: ") for d in names if d.startswith("tag: ")]
    return next(iter(plain + tags), None)


def _fill_values(repo: Repo, git: Git, rows: list[ExpRow],
                 on_bad_file: Callable[[str], None]) -> None:
    prefix = os.path.relpath(repo.root, git.root).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix + "/"
    candidates = sorted({PIPELINE_FILE, *pipeline_files(repo)})
    texts = _read(git, [r.rev for r in rows], candidates, prefix)
    pipelines = {}
    for row in rows:
        try:
            pipelines[row.rev] = parse_files(texts[row.rev])
        except DvliteError as exc:
            on_bad_file(f"{row.rev[:12]}: {exc.msg}")
            pipelines[row.rev] = parse_files({})
    wanted = {rev: _value_files(p) for rev, p in pipelines.items()}
    every = sorted({f for files in wanted.values() for group in files for f in group})
    blobs = _read(git, list(wanted), every, prefix)
    for row in rows:
        params, metrics, locks = wanted[row.rev]
        found = blobs[row.rev]
        row.params = _parse(found, params, row.rev, on_bad_file)
        cached = _from_cache(repo, found, locks, [m for m in metrics if m not in found])
        row.metrics = _parse({**found, **cached}, metrics, row.rev, on_bad_file)


def _value_files(pipeline: Pipeline) -> tuple[list[str], list[str], list[str]]:
    """(params files, metrics files, lock files) of a pipeline, repository-relative."""
    params = sorted({r.file for s in pipeline.stages for r in s.params} | {DEFAULT_PARAMS})
    metrics = sorted({o.path for s in pipeline.stages for o in s.outs if o.metric})
    return params, metrics, sorted({lock_path_for(f) for f in pipeline.files})


def _read(git: Git, revs: list[str], files: list[str], prefix: str
          ) -> dict[str, dict[str, bytes]]:
    """{rev: {file: bytes}} of `files` at every rev, in one `git cat-file --batch`."""
    pairs = [(rev, f) for rev in revs for f in files if "\n" not in f]
    blobs = git.cat_paths([f"{rev}:{prefix}{f}" for rev, f in pairs])
    found: dict[str, dict[str, bytes]] = {rev: {} for rev in revs}
    for (rev, f), data in zip(pairs, blobs, strict=True):
        if data is not None:
            found[rev][f] = data
    return found


def _from_cache(repo: Repo, found: dict[str, bytes], locks: list[str],
                paths: list[str]) -> dict[str, bytes]:
    if not paths:
        return {}
    cached = {}
    for rel in locks:
        if rel not in found:
            continue
        try:
            entries = loads(found[rel], rel)
        except DvliteError:
            continue
        for entry in entries.values():
            for out in entry.outs:
                if out.path in paths and repo.cache.exists(out.oid):
                    cached[out.path] = repo.cache.read_bytes(out.oid)
    return cached


def _parse(found: dict[str, bytes], files: list[str], rev: str,
           on_bad_file: Callable[[str], None]) -> Values:
    values: Values = {}
    for rel in files:
        if rel not in found:
            continue
        try:
            values[rel] = flatten(parse_values(found[rel], rel))
        except DvliteError as exc:
            on_bad_file(f"{rev[:12]}: {exc.msg}")
    return values


@dataclass(frozen=True, slots=True)
class Column:
    kind: str  # "params" or "metrics"
    file: str
    key: str

    def value(self, row: ExpRow) -> Any:
        return getattr(row, self.kind).get(self.file, {}).get(self.key)


def columns(rows: list[ExpRow]) -> list[Column]:
    """Every parameter, then every metric, that any row has, by file and key."""
    found: list[Column] = []
    for kind in ("params", "metrics"):
        keys = {(f, k) for r in rows for f, kv in getattr(r, kind).items() for k in kv}
        found += [Column(kind, f, k) for f, k in sorted(keys)]
    return found


def find_column(cols: list[Column], name: str) -> Column | str:
    """A column by `FILE:KEY` or by a KEY only one file has; or a fixed column's name."""
    if name in FIXED_COLUMNS:
        return name
    exact = [c for c in cols if f"{c.file}:{c.key}" == name]
    by_key = exact or [c for c in cols if c.key == name]
    if len(by_key) == 1:
        return by_key[0]
    if not by_key:
        raise UsageError(f"no column '{name}' in exp show",
                         hint="name a parameter or metric as KEY or FILE:KEY")
    raise UsageError(f"column '{name}' is in several files: "
                     + ", ".join(f"{c.file}:{c.key}" for c in by_key))


def sort_rows(rows: list[ExpRow], column: str, descending: bool = False) -> list[ExpRow]:
    """Experiments sorted by `column` within their baseline (missing values last); each
    baseline stays first in its group."""
    col = find_column(columns(rows), column)

    def value(row: ExpRow) -> Any:
        return getattr(row, col) if isinstance(col, str) else col.value(row)

    result: list[ExpRow] = []
    for row in rows:
        if not row.is_baseline:
            continue
        group = [r for r in rows if r.baseline == row.rev and not r.is_baseline]
        present = [r for r in group if value(r) is not None]
        numeric = all(isinstance(value(r), (int, float)) for r in present)
        present.sort(key=lambda r: value(r) if numeric else str(value(r)), reverse=descending)
        result += [row, *present, *(r for r in group if value(r) is None)]
    return result
