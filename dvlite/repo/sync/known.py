"""What a remote is known to hold: existence checks that trust the known objects first
and ask the remote only about the rest (push, status --remote, ls --remote); and the
freshening of what a push finds already there (see `storage.remote.fresh`)."""

from __future__ import annotations

import time
from collections.abc import Collection

from dvlite.core.oid import Oid
from dvlite.repo.sync.plan import trusted_known
from dvlite.storage.remote.base import Remote
from dvlite.storage.remote.fresh import write_marker
from dvlite.storage.remote.known import KnownObjects
from dvlite.workspace.outputs import Target
from dvlite.workspace.repo import Repo


def skip_known_folders(repo: Repo, remote: Remote,
                        targets: list[Target]) -> tuple[list[Target], int]:
    """Drop the folders whose manifest is among the remote's known objects: a
    manifest goes up only after every file it lists, so those are there too. A no-op
    push then reads no manifest and checks no file (O(folders), not O(files)). A folder
    due for freshening is not skipped: its files are freshened with it. Returns the rest
    and how many objects were skipped (counted from the pointers)."""
    dirs = {t.output.pointer.oid for t in targets if t.output.is_dir}
    if not dirs:
        return targets, 0
    known = trusted_known(repo, remote)
    try:
        skip = known.among(remote.identity, dirs)
        skip -= due_for_freshening(repo, remote, known, skip)
    finally:
        known.close()
    if not skip:
        return targets, 0
    keep: list[Target] = []
    counted: set[Oid] = set()
    skipped = 0
    for t in targets:
        oid = t.output.pointer.oid
        if not (t.output.is_dir and oid in skip):
            keep.append(t)
        elif oid not in counted:
            counted.add(oid)
            skipped += 1 + (t.output.pointer.nfiles or 0)
    return keep, skipped


def present_on_remote(remote: Remote, known: KnownObjects, oids: set[Oid]) -> set[Oid]:
    """Those of `oids` among the known objects or found to be on the remote (and from
    then on known)."""
    there = known.among(remote.identity, oids)
    ask = oids - there
    found = remote.exists_many(ask) if ask else set()
    known.add(remote.identity, found)
    return there | found


def _fresh_window(repo: Repo) -> float | None:
    """How long an object this machine made young on a remote is left alone by its
    pushes: half of `gc.grace`, so an object a push references stays protected for at
    least half the grace after it. None without a grace (gc keeps nothing young)."""
    grace = repo.config.gc.grace
    return grace / 2 if grace > 0 else None


def due_for_freshening(repo: Repo, remote: Remote, known: KnownObjects,
                       oids: Collection[Oid]) -> set[Oid]:
    """Those of `oids` (found on the remote, not uploaded now) that this machine has not
    made young there within the window: uploaded or freshened long ago, or only seen."""
    window = _fresh_window(repo)
    if window is None or not oids:
        return set()
    return set(oids) - known.fresh_since(remote.identity, oids, time.time() - window)


def freshen(remote: Remote, known: KnownObjects, oids: Collection[Oid]) -> None:
    """Make `oids` as young as a new upload for the remote's gc: one marker file."""
    if oids:
        write_marker(remote.backend, oids)
        known.add(remote.identity, oids, fresh=time.time())
