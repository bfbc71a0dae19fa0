"""What a remote is known to hold: existence checks that trust the local record first
and ask the remote only about the rest (push, status --remote, ls --remote); and the
freshening of what a push finds already there (see `storage.remote_fresh`)."""

from __future__ import annotations

import time
from collections.abc import Collection

from dvlite.core.oid import Oid
from dvlite.repo.sync.plan import trusted_record
from dvlite.storage.remote.base import Remote
from dvlite.storage.remote.fresh import write_marker
from dvlite.storage.remote.known import RemoteIndex
from dvlite.workspace.outputs import Target
from dvlite.workspace.repo import Repo


def skip_known_folders(repo: Repo, remote: Remote,
                        targets: list[Target]) -> tuple[list[Target], int]:
    """Drop the folders whose manifest the local record knows is on the remote: a
    manifest goes up only after every file it lists, so those are there too. A no-op
    push then reads no manifest and checks no file (O(folders), not O(files)). A folder
    due for freshening is not skipped: its files are freshened with it. Returns the rest
    and how many objects were skipped (counted from the pointers)."""
    dirs = {t.output.pointer.oid for t in targets if t.output.is_dir}
    if not dirs:
        return targets, 0
    index = trusted_record(repo, remote)
    try:
        known = index.known(remote.identity, dirs)
        known -= due_for_freshening(repo, remote, index, known)
    finally:
        index.close()
    if not known:
        return targets, 0
    keep: list[Target] = []
    counted: set[Oid] = set()
    skipped = 0
    for t in targets:
        oid = t.output.pointer.oid
        if not (t.output.is_dir and oid in known):
            keep.append(t)
        elif oid not in counted:
            counted.add(oid)
            skipped += 1 + (t.output.pointer.nfiles or 0)
    return keep, skipped


def present_on_remote(remote: Remote, index: RemoteIndex, oids: set[Oid]) -> set[Oid]:
    """Objects known (from the local record) or found to be on the remote."""
    known = index.known(remote.identity, oids)
    ask = oids - known
    found = remote.exists_many(ask) if ask else set()
    index.add(remote.identity, found)
    return known | found


def _fresh_window(repo: Repo) -> float | None:
    """How long an object this machine made young on a remote is left alone by its
    pushes: half of `gc.grace`, so an object a push references stays protected for at
    least half the grace after it. None without a grace (gc keeps nothing young)."""
    grace = repo.config.gc.grace
    return grace / 2 if grace > 0 else None


def due_for_freshening(repo: Repo, remote: Remote, index: RemoteIndex,
                       oids: Collection[Oid]) -> set[Oid]:
    """Those of `oids` (found on the remote, not uploaded now) that this machine has not
    made young there within the window: uploaded or freshened long ago, or only seen."""
    window = _fresh_window(repo)
    if window is None or not oids:
        return set()
    return set(oids) - index.fresh_since(remote.identity, oids, time.time() - window)


def freshen(remote: Remote, index: RemoteIndex, oids: Collection[Oid]) -> None:
    """Make `oids` as young as a new upload for the remote's gc: one marker file."""
    if oids:
        write_marker(remote.backend, oids)
        index.add(remote.identity, oids, fresh=time.time())
