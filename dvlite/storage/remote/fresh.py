"""Freshen markers: objects a push found already on a remote, noted as referenced again.

A push never sends an object the remote already has, so that object keeps its old age
(its file's, or its pack's). An old unreferenced object that a new commit uses again
would then look old to a `gc --remote` on a clone that has not fetched the commit yet,
and be deleted. Git freshens the mtime of every object it would have written; here an
mtime cannot be touched on S3 without rewriting the object, and a pack's mtime is
shared by many objects. So a push writes one small create-only file,
``fresh/<32 hex>``, listing the objects it would have written (a folder's files with
its manifest). gc keeps every object a marker younger than the grace lists, and deletes
markers older than the grace (they protect nothing any more).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from dvlite.core.oid import Oid
from dvlite.errors import FormatError, MissingObjectsError
from dvlite.storage.remote.base import Backend, Blob

FRESH_DIR = "fresh"
_HEADER = "dvlite fresh 1"
_NAME = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class Markers:
    """The freshen markers on a remote, as listed once by gc."""

    blobs: tuple[Blob, ...]

    def young(self, cutoff: float) -> tuple[Blob, ...]:
        return tuple(b for b in self.blobs if b.mtime > cutoff)

    def old(self, cutoff: float) -> tuple[Blob, ...]:
        return tuple(b for b in self.blobs if b.mtime <= cutoff)


def write_marker(backend: Backend, oids: Collection[Oid]) -> None:
    """One file naming `oids`: from now on they are as young as a new upload."""
    text = "".join(f"{oid}\n" for oid in sorted(oids))
    backend.put_blob(f"{FRESH_DIR}/{uuid.uuid4().hex}", f"{_HEADER}\n{text}".encode())


def list_markers(backend: Backend) -> Markers:
    return Markers(tuple(b for b in backend.list_blobs(FRESH_DIR) if _NAME.fullmatch(b.name)))


def fresh_oids(backend: Backend, markers: Markers, cutoff: float) -> set[Oid]:
    """Every object that a marker younger than `cutoff` lists. A line that is not an
    object id is skipped (it can name nothing to keep); a marker gone meanwhile counts
    as empty (it was old)."""
    found: set[Oid] = set()
    for blob in markers.young(cutoff):
        try:
            lines = backend.get_range(f"{FRESH_DIR}/{blob.name}").decode(
                errors="replace").splitlines()
        except MissingObjectsError:
            continue
        for line in lines[1:] if lines[:1] == [_HEADER] else []:
            try:
                found.add(Oid.parse(line.strip()))
            except FormatError:
                continue
    return found


def drop_old_markers(backend: Backend, markers: Markers, cutoff: float) -> int:
    """Delete the markers older than `cutoff`; returns how many."""
    old = markers.old(cutoff)
    for blob in old:
        backend.delete_blob(f"{FRESH_DIR}/{blob.name}")
    return len(old)
