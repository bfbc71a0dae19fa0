"""`dvlite diff`: data changes between two revisions, or a revision and the workspace,
down to files inside tracked folders."""

from __future__ import annotations

from dataclasses import dataclass

from dvlite.core.diff import Changes, compare
from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.errors import FormatError, MissingObjectsError
from dvlite.workspace.compare import output_state
from dvlite.workspace.outputs import Output, load_manifest, outputs_at, tracked_outputs
from dvlite.workspace.repo import Repo


@dataclass(frozen=True, slots=True)
class DiffResult:
    old: dict[str, Oid]
    new: dict[str, Oid]
    changes: Changes

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        ch = self.changes
        return {
            "added": [{"path": p, "hash": str(self.new[p])} for p in ch.added],
            "modified": [{"path": p, "old": str(self.old[p]), "new": str(self.new[p])}
                         for p in ch.modified],
            "deleted": [{"path": p, "hash": str(self.old[p])} for p in ch.deleted],
        }


def _expand(repo: Repo, outputs: list[Output], manifests: dict[Oid, Manifest]) -> dict[str, Oid]:
    files: dict[str, Oid] = {}
    for out in outputs:
        if not out.is_dir:
            files[out.rel] = out.pointer.oid
            continue
        try:
            manifest = load_manifest(repo, out.pointer.oid, manifests)
        except (MissingObjectsError, FormatError):
            files[out.rel + "/"] = out.pointer.oid  # compared as a whole
            continue
        files.update({f"{out.rel}/{e.relpath}": e.oid for e in manifest})
    return files


def _workspace(repo: Repo, manifests: dict[Oid, Manifest]) -> dict[str, Oid]:
    files: dict[str, Oid] = {}
    for out in tracked_outputs(repo):
        st = output_state(repo, out, manifests)
        if not st.exists or st.obstacle is not None:
            continue
        if st.expected is None and st.workspace_oid is not None:
            files[out.rel + "/"] = st.workspace_oid
            continue
        for rel, oid in st.actual.items():
            files[f"{out.rel}/{rel}" if rel else out.rel] = oid
    return files


def diff(repo: Repo, a: str | None = None, b: str | None = None) -> DiffResult:
    manifests: dict[Oid, Manifest] = {}
    if a is None and repo.scm is not None and not repo.scm.has_commits():
        old: dict[str, Oid] = {}  # before the first commit everything is new, as in git
    else:
        old = _expand(repo, outputs_at(repo, a or "HEAD"), manifests)
    if b is None:
        new = _workspace(repo, manifests)
    else:
        new = _expand(repo, outputs_at(repo, b), manifests)
    return DiffResult(old, new, compare(old, new))
