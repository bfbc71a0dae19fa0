"""`dvlite ls`: tracked outputs (at the workspace or a revision) with hash, size, cached."""

from __future__ import annotations

from dataclasses import dataclass

from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.errors import FormatError, MissingObjectsError
from dvlite.workspace.outputs import Output, load_manifest, outputs_at, tracked_outputs
from dvlite.workspace.repo import Repo


@dataclass(frozen=True, slots=True)
class Listed:
    path: str
    type: str
    oid: Oid
    size: int
    nfiles: int | None
    cached: bool

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "type": self.type, "hash": str(self.oid), "size": self.size,
                "nfiles": self.nfiles, "cached": self.cached}


def object_closure(repo: Repo, out: Output, manifests: dict[Oid, Manifest]) -> set[Oid] | None:
    """Every object `out` needs, or None when its manifest is not in the cache."""
    if not out.is_dir:
        return {out.pointer.oid}
    try:
        manifest = load_manifest(repo, out.pointer.oid, manifests)
    except (MissingObjectsError, FormatError):
        return None
    return {out.pointer.oid, *(e.oid for e in manifest)}


def ls(repo: Repo, rev: str | None = None) -> list[Listed]:
    found = outputs_at(repo, rev) if rev else tracked_outputs(repo)
    manifests: dict[Oid, Manifest] = {}
    listed = []
    for out in sorted(found, key=lambda o: o.rel):
        needed = object_closure(repo, out, manifests)
        cached = needed is not None and len(repo.cache.exists_many(needed)) == len(needed)
        p = out.pointer
        listed.append(Listed(out.rel, p.type, p.oid, p.size, p.nfiles, cached))
    return listed
