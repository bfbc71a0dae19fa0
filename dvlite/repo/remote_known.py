"""What a remote is known to hold: existence checks that trust the local record first
and ask the remote only about the rest (push, status --remote, ls --remote)."""

from __future__ import annotations

from dvlite.core.oid import Oid
from dvlite.repo.outputs import Target
from dvlite.repo.repo import Repo
from dvlite.repo.sync_plan import trusted_record
from dvlite.storage.remote import Remote
from dvlite.storage.remote_index import RemoteIndex


def skip_known_folders(repo: Repo, remote: Remote,
                        targets: list[Target]) -> tuple[list[Target], int]:
    """Drop the folders whose manifest the local record knows is on the remote: a
    manifest goes up only after every file it lists, so those are there too. A no-op
    push then reads no manifest and checks no file (O(folders), not O(files)). Returns
    the rest and how many objects were skipped (counted from the pointers)."""
    dirs = {t.output.pointer.oid for t in targets if t.output.is_dir}
    if not dirs:
        return targets, 0
    index = trusted_record(repo, remote)
    try:
        known = index.known(remote.identity, dirs)
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
