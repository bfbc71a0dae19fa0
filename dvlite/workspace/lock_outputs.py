"""Stage outputs recorded in `dvlite.lock` files: tracked data, like a `.dvl`'s.

An output counts as the stage's data when `dvlite.yaml` declares it cached; a `cache:
false` output (metrics, by default) is a file git keeps, so nothing restores it from the
cache (its bytes are in the cache only for the run cache). Pure over file contents, so a
repository's workspace, one of its revisions, and `get`'s foreign repository share it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from dvlite.core.pointer import Pointer
from dvlite.errors import DvliteError

LOCK_FILE = "dvlite.lock"
PIPELINE_FILE = "dvlite.yaml"
PIPELINE_NAMES = (LOCK_FILE, PIPELINE_FILE)


@dataclass(frozen=True, slots=True)
class StageOut:
    rel: str  # relative to the root the file names are relative to
    pointer: Pointer
    stage: str
    lockfile: str
    cached: bool  # the stage caches it (False: git's file, e.g. a metrics file)


def is_pipeline_file(path: str) -> bool:
    return posixpath.basename(path) in PIPELINE_NAMES


def stage_outs(texts: Mapping[str, bytes], *, strict: bool = True) -> list[StageOut]:
    """The outputs the lock files among `texts` record ({path: bytes}, the `dvlite.yaml`
    files beside them included). A pipeline that does not parse is an error when
    `strict`; otherwise (a past revision) each of its outputs counts as cached, so that
    nothing a commit may need is dropped or left out."""
    locks = {p: d for p, d in texts.items() if posixpath.basename(p) == LOCK_FILE}
    if not locks:
        return []  # no pipeline: the YAML stack is not even imported
    from dvlite.core.dag import parse_files
    from dvlite.core.lockfile import loads, lock_path_for

    pipelines = {p: d for p, d in texts.items() if posixpath.basename(p) == PIPELINE_FILE}
    cached: set[tuple[str, str, str]] | None  # (lock file, stage, output path)
    try:
        stages = parse_files(pipelines).stages
        cached = {(lock_path_for(s.dvfile), s.name, o.path)
                  for s in stages for o in s.outs if o.cache}
    except DvliteError:
        if strict:
            raise
        cached = None
    found = []
    for lockfile, data in sorted(locks.items()):
        for entry in loads(data, lockfile).values():
            for h in entry.outs:
                known = cached is None or (lockfile, entry.name, h.path) in cached
                found.append(StageOut(h.path, h.to_pointer(), entry.name, lockfile, known))
    return found
