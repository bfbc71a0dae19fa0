"""`dvlite get REPO NAME@vX.Y.Z | NAME@latest | NAME#STAGE`: a registered model, verified,
from a git URL or a local repository.

From a URL the registry is read with one `git ls-remote` (tag names and their commits;
assignments ordered by their counters) and only the one commit is fetched, shallow
(`workspace/git_url.py`); the artifact's path comes from `dvlite.yaml` at that commit and
the bytes from that repository's remote, through `get`'s own export.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvlite.core.dag import parse_files
from dvlite.core.registry import ArtifactState, Ref, build
from dvlite.core.stages import PIPELINE_FILE
from dvlite.errors import DvliteError, UsageError
from dvlite.repo.get import GetResult, export, work_folder
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.workspace import git_url
from dvlite.workspace.objects import SourceObjects
from dvlite.workspace.source import (
    Source,
    cache_dir,
    config_at,
    find_output,
    local_source,
    outputs_at,
)


@dataclass(frozen=True, slots=True)
class ModelGet:
    result: GetResult
    artifact: str
    version: str
    commit: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {"artifact": self.artifact, "version": self.version, "commit": self.commit,
                "hash": self.hash, "path": str(r.dest), "files": r.files, "bytes": r.nbytes,
                **r.transfer.to_dict()}


def _open(repo: str, ref: Ref, cwd: Path) -> tuple[Source, str, dict[str, ArtifactState]]:
    if git_url.is_url(repo):
        found = git_url.resolve_registry(repo, str(ref))
        assert found is not None
        commit, states = found
        src, commit = git_url.fetch(repo, commit)  # a full id: no second ls-remote
        return src, commit, states
    src = local_source(Path(cwd, repo), repo)
    return src, src.git.resolve(str(ref)), build(src.git.registry_tags())


def get_model(repo: str, ref: Ref, out: Path | None = None, *, cwd: Path | None = None,
              progress: Progress = NULL_PROGRESS) -> ModelGet:
    cwd = cwd or Path.cwd()
    src, commit, states = _open(repo, ref, cwd)
    state = states.get(ref.artifact)
    held = state.at_commit(commit) if state else None
    version = held.version if held else ref.version
    texts = src.git.files_at(commit, suffixes=(), names=[PIPELINE_FILE])
    art = next((a for a in parse_files(texts).artifacts if a.name == ref.artifact), None)
    if art is None:
        raise DvliteError(f"artifact '{ref.artifact}' is not declared in dvlite.yaml at "
                          f"{ref} ({commit[:7]})")
    dest = Path(os.path.abspath(cwd / out)) if out else cwd / posixpath.basename(art.path)
    if os.path.lexists(dest):
        raise UsageError(f"'{dest}' already exists", hint="choose another path with -o")
    _, pointer, sub = find_output(outputs_at(src, commit), art.path, f"{ref}")
    with work_folder(dest.parent) as work:
        config = config_at(src, commit, work)
        objects = SourceObjects(config, src.base, work / "objects", cache_dir(src, config))
        result = export(objects, pointer, sub, dest, progress)
    oid = str(pointer.oid) if sub is None else ""
    return ModelGet(result, ref.artifact, version, commit, oid)
