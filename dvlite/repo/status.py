"""`dvlite status`: which tracked outputs are modified, missing, or not in the cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace.compare import missing_objects, output_state
from dvlite.workspace.outputs import collect_targets
from dvlite.workspace.repo import Repo


@dataclass
class OutputStatus:
    path: str
    modified: list[str] = field(default_factory=list)  # files inside a folder, or [path]
    missing: bool = False
    not_in_cache: int = 0  # objects
    # Files edited in place through a hardlink or symlink: their cache object changed
    # with them, so the previous version is gone from the cache (not a new version).
    corrupt: list[str] = field(default_factory=list)
    stage: str | None = None  # the stage whose dvlite.lock entry records it

    @property
    def clean(self) -> bool:
        return not (self.modified or self.missing or self.not_in_cache or self.corrupt)

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "modified": self.modified, "missing": self.missing,
                "not_in_cache": self.not_in_cache, "corrupt": self.corrupt}


def status(repo: Repo, targets: list[str], cwd: Path | None = None,
           progress: Progress = NULL_PROGRESS) -> list[OutputStatus]:
    manifests: dict[Oid, Manifest] = {}
    report = []
    for target in collect_targets(repo, targets, cwd):
        st = output_state(repo, target.output, manifests, progress, quick=True)
        item = OutputStatus(target.output.rel, missing=st.missing, stage=target.output.stage)
        if st.modified:
            ch = st.changes
            changed = [*ch.added, *ch.modified, *ch.deleted] if st.exists else []
            item.corrupt = [_name(st.output.rel, p) for p in st.edited]
            names = sorted(_name(st.output.rel, p) for p in changed if p not in st.edited)
            item.modified = names or ([] if item.corrupt else [st.output.rel])
        item.not_in_cache = len(missing_objects(repo, st))
        report.append(item)
    return report


def _name(rel: str, sub: str) -> str:
    return f"{rel}/{sub}" if sub else rel
