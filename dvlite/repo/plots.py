"""`dvlite plots show` and `plots diff`: the plots of `dvlite.yaml` read from the
workspace or from git revisions (experiment names included), charted, and written as
one HTML page or one image per plot."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvlite.core.dag import Pipeline
from dvlite.core.plots import PlotSpec, check_suffix
from dvlite.errors import UsageError, storage_error
from dvlite.pipeline.load import load_at, load_pipeline
from dvlite.pipeline.metrics import files_at
from dvlite.pipeline.plots.data import Record, load_records
from dvlite.pipeline.plots.render import html_page, image
from dvlite.pipeline.plots.vega import build_spec
from dvlite.storage.atomic import atomic_write
from dvlite.workspace.repo import Repo

Rev = str | None  # None: the workspace
WORKSPACE = "workspace"
DEFAULT_DIR = "dvlite_plots"


@dataclass(frozen=True, slots=True)
class Chart:
    plot: PlotSpec
    revisions: tuple[str, ...]  # the revisions whose file was found, in legend order
    spec: dict[str, Any]  # Vega-Lite, data inlined

    def to_dict(self) -> dict[str, Any]:
        return {**self.plot.to_dict(), "revisions": list(self.revisions), "spec": self.spec}


def label(rev: Rev) -> str:
    return WORKSPACE if rev is None else rev


def _ignore(msg: str) -> None:
    del msg


def _pipeline(repo: Repo, rev: Rev) -> Pipeline | None:
    if rev is None:
        return load_pipeline(repo, check_workspace=False)
    if repo.scm is None:
        raise UsageError("revisions need git; this repository was initialised with --no-scm")
    if rev == "HEAD" and not repo.scm.has_commits():
        return None  # nothing committed yet: every plot is missing there
    return load_at(repo, rev)


def _chosen(defined: dict[str, PlotSpec], targets: Sequence[str]) -> list[PlotSpec]:
    if not targets:
        return list(defined.values())
    chosen = []
    for target in targets:
        if target in defined:
            chosen.append(defined[target])
            continue
        why = check_suffix(target)  # a file no plots: entry names: charted with defaults
        if why:
            raise UsageError(f"{why} ('{target}' is not in a plots: section)")
        chosen.append(PlotSpec(target))
    return chosen


def charts(repo: Repo, revs: Sequence[Rev], targets: Sequence[str] = (),
           warn: Callable[[str], None] = _ignore) -> list[Chart]:
    """One chart per plot (every `plots:` entry, or the repository-relative `targets`)
    over the revisions `revs`, in that order. A plot's options come from the last
    revision that lists it (the workspace, by default). A file missing at a revision is
    left out there with a warning; one that does not parse raises `FormatError`."""
    pipelines = {rev: _pipeline(repo, rev) for rev in revs}
    defined: dict[str, PlotSpec] = {}
    for pipeline in pipelines.values():
        for plot in pipeline.plots if pipeline is not None else ():
            defined[plot.path] = plot
    chosen = _chosen(defined, targets)
    paths = sorted({p.path for p in chosen})
    found = {rev: files_at(repo, rev, paths, pipeline) if pipeline is not None or rev is None
             else {} for rev, pipeline in pipelines.items()}
    result = []
    for plot in chosen:
        data: dict[str, list[Record]] = {}
        missing = []
        for rev in revs:
            blob = found[rev].get(plot.path)
            if blob is None:
                missing.append(label(rev))
            else:
                data[label(rev)] = load_records(blob, plot.path, label(rev))
        if not data and plot.path not in defined:
            raise UsageError(f"no plot '{plot.path}': not in a plots: section, and no such "
                             "file")
        for where in missing:
            warn(f"{plot.path}: missing in {where}, skipped there")
        if not data:
            continue
        result.append(Chart(plot, tuple(data), build_spec(plot, data)))
    return result


def target_path(repo: Repo, raw: str, cwd: Path) -> str:
    """A TARGET as given on the command line (relative to `cwd`), repository-relative."""
    rel = repo.rel(Path(os.path.normpath(cwd / raw)))
    if rel == "." or rel.startswith("../"):
        raise UsageError(f"'{raw}' is outside the repository")
    return rel


def image_name(plot: PlotSpec, fmt: str) -> str:
    """`eval/roc.csv` -> `eval/roc.csv.svg`: below the output folder like the data file,
    so two plots never share an image."""
    return f"{plot.path}.{fmt}"


def write(repo: Repo, found: list[Chart], out_dir: Path, fmt: str = "html") -> list[Path]:
    """Write the charts into `out_dir`: `index.html` (one page), or one image per plot.
    Returns the files written (none when there are no charts)."""
    if not found:
        return []
    try:
        return _write(repo, found, out_dir, fmt)
    except OSError as exc:
        raise storage_error(exc, f"writing plots to {out_dir}") from exc


def _write(repo: Repo, found: list[Chart], out_dir: Path, fmt: str) -> list[Path]:
    if fmt == "html":
        page = html_page([c.spec for c in found], repo.dvlite_dir / "plots")
        target = out_dir / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, page.encode(), fsync=False)
        return [target]
    written = []
    for chart in found:
        target = out_dir / image_name(chart.plot, fmt)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, image(chart.spec, fmt), fsync=False)
        written.append(target)
    return written
