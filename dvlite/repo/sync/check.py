"""The workspace's pointers against a remote: `status --remote` (what is not pushed yet),
`fsck --remote` (present, right size, right hash) and `ls --remote`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dvlite.core.oid import Oid
from dvlite.repo.sync.known import present_on_remote, skip_known_folders
from dvlite.repo.sync.plan import (
    expand,
    known_objects,
    manifest_loader,
    repo_remote,
    trusted_known,
)
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote.base import CopyHash, Remote, RemoteEntry
from dvlite.storage.transfer import Item
from dvlite.workspace.outputs import Target, collect_targets, tracked_outputs
from dvlite.workspace.repo import Repo


@dataclass
class RemoteStatus:
    remote: str
    not_pushed: dict[str, int] = field(default_factory=dict)  # output path -> objects

    @property
    def clean(self) -> bool:
        return not self.not_pushed

    def to_dict(self) -> dict[str, object]:
        return {"remote": self.remote, "clean": self.clean,
                "outputs": [{"path": p, "not_on_remote": n}
                            for p, n in sorted(self.not_pushed.items())]}


def _closures(repo: Repo, remote: Remote, targets: list[Target]) -> dict[str, dict[Oid, Item]]:
    """Per output path, the objects it needs (manifests read from the cache or, verified,
    from the remote; an unreadable manifest counts as just itself)."""
    load = manifest_loader(repo, remote, targets, remote.jobs, {})
    per: dict[str, dict[Oid, Item]] = {}
    for target in targets:
        plan = expand([target], load)
        items = {oid: plan.item(oid) for oid in plan.all_oids()}
        items.update({f.item.oid: f.item for f in plan.failed})
        per.setdefault(target.output.rel, {}).update(items)
    return per


def remote_status(repo: Repo, targets: list[str], remote_name: str | None,
                  cwd: Path | None = None) -> RemoteStatus:
    """What the workspace's pointers (and, without targets, its pipeline outputs) need
    that the remote lacks."""
    remote = repo_remote(repo, remote_name)
    chosen = collect_targets(repo, targets, cwd)
    chosen = skip_known_folders(repo, remote, chosen)[0]  # pushed whole: nothing missing
    per = _closures(repo, remote, chosen)
    wanted = {oid for items in per.values() for oid in items}
    known = trusted_known(repo, remote)
    try:
        there = present_on_remote(remote, known, set(wanted))
    finally:
        known.close()
    result = RemoteStatus(remote.name)
    for path, items in per.items():
        missing = sum(1 for oid in items if oid not in there)
        if missing:
            result.not_pushed[path] = missing
    return result


@dataclass
class RemoteFsck:
    remote: str
    checked: int = 0
    missing: list[str] = field(default_factory=list)  # "oid (path)"
    wrong_size: list[str] = field(default_factory=list)  # no intact copy; a bad one's size
    corrupt: list[str] = field(default_factory=list)  # no intact copy
    bad_copies: list[str] = field(default_factory=list)  # bad copies of intact objects
    bad_pointers: list[str] = field(default_factory=list)  # pointers wrong about a size
    unreadable: list[str] = field(default_factory=list)  # pack indexes skipped
    removed: list[str] = field(default_factory=list)  # objects with copies deleted (--repair)
    removed_indexes: list[str] = field(default_factory=list)  # unusable ones deleted

    @property
    def ok(self) -> bool:
        return not (self.missing or self.wrong_size or self.corrupt or self.bad_copies
                    or self.bad_pointers or self.unreadable)

    def to_dict(self) -> dict[str, object]:
        return {"remote": self.remote, "checked": self.checked, "missing": self.missing,
                "wrong_size": self.wrong_size, "corrupt": self.corrupt,
                "bad_copies": self.bad_copies, "bad_pointers": self.bad_pointers,
                "unreadable_indexes": self.unreadable, "removed": self.removed,
                "removed_indexes": self.removed_indexes}


def remote_fsck(repo: Repo, remote_name: str | None, jobs: int | None = None,
                progress: Progress = NULL_PROGRESS, *, repair: bool = False) -> RemoteFsck:
    """Read back every object the workspace's pointers need from the remote and hash it
    (a copy that is not intact gives way to the object's other copies). Ignores the
    known objects (and corrects them). A size a pointer gets wrong is the pointer's
    error, reported as such. With `repair`, a bad copy read bad a second time, on its
    own, is deleted from the remote (as gc --remote deletes), and so is an index still
    unusable when read again, so the next push from a machine that has the data uploads
    their objects again."""
    remote = repo_remote(repo, remote_name)
    targets = [Target(o) for o in tracked_outputs(repo)]
    per = _closures(repo, remote, targets)
    items = {oid: item for group in per.values() for oid, item in group.items()}
    result = RemoteFsck(remote.name, checked=len(items))
    progress.begin("Checking remote", len(items), sum(i.size or 0 for i in items.values()))
    hashed = _confirm(remote, remote.hash_many(set(items), max(1, jobs or remote.jobs),
                                               progress))
    progress.end()
    good = _judge(result, items, hashed)
    result.bad_pointers = _bad_pointers(repo, targets, per, hashed)
    result.unreadable = sorted(remote.skipped_indexes())
    if repair:
        bad = [c.entry for copies in hashed.values() for c in copies if not c.intact]
        result.removed = _remove_bad_copies(repo, remote, bad)
        result.removed_indexes = [n for n in result.unreadable if remote.drop_index(n)]
    known = known_objects(repo)
    try:
        known.add(remote.identity, good)
        bad_oids = set(items) - set(good)
        # A known folder vouches for all its files (push skips it whole): an output with
        # a missing or bad object is forgotten whole, so the next push checks it again.
        stale = {oid for group in per.values() if bad_oids & group.keys() for oid in group}
        known.forget(remote.identity, bad_oids | stale)
    finally:
        known.close()
    return result


def _confirm(remote: Remote, hashed: dict[Oid, list[CopyHash]]) -> dict[Oid, list[CopyHash]]:
    """Read every copy that read bad once again, on its own: a copy is bad only when two
    independent reads say so (one damaged read, a flaky network or proxy, never costs
    a good object)."""
    confirmed: dict[Oid, list[CopyHash]] = {}
    for oid, copies in hashed.items():
        again = [c if c.intact else remote.hash_copy(c.entry) for c in copies]
        confirmed[oid] = [c for c in again if c is not None]
    return confirmed


def _judge(result: RemoteFsck, items: dict[Oid, Item],
           hashed: dict[Oid, list[CopyHash]]) -> list[Oid]:
    """Sort each object into `result`'s lists; returns the objects with an intact copy."""
    good: list[Oid] = []
    for oid, item in items.items():
        copies = hashed.get(oid, [])
        label = f"{oid} ({item.path})"
        if any(c.intact for c in copies):
            good.append(oid)
            result.bad_copies.extend(f"{label} in {_where(c.entry)}"
                                     for c in copies if not c.intact)
        elif not copies:
            result.missing.append(label)
        elif item.size is not None and copies[0].size not in (0, item.size):
            result.wrong_size.append(label)
        else:
            result.corrupt.append(label)
    return good


def _where(entry: RemoteEntry) -> str:
    return "a loose file" if entry.pack is None else f"pack {entry.pack}"


def _bad_pointers(repo: Repo, targets: list[Target], per: dict[str, dict[Oid, Item]],
                  hashed: dict[Oid, list[CopyHash]]) -> list[str]:
    """Pointers (or the folder manifests they name) that give an intact object a size
    other than its own: the pointer is wrong, the object is not."""
    files = {t.output.rel: t.output.pointer_file for t in targets}
    found = []
    for rel, group in sorted(per.items()):
        for oid, item in group.items():
            intact = next((c for c in hashed.get(oid, []) if c.intact), None)
            if intact is not None and item.size not in (None, intact.size):
                file = files[rel]  # a pipeline output's pointer is in dvlite.lock
                pointer = file.relative_to(repo.root).as_posix() if file.exists() \
                    else "dvlite.lock"
                found.append(f"{pointer}: {item.path} says {item.size} bytes, object "
                             f"{oid} has {intact.size}")
    return found


def _remove_bad_copies(repo: Repo, remote: Remote, doomed: list[RemoteEntry]) -> list[str]:
    from dvlite.repo.gc import delete_from_remote

    if doomed:
        delete_from_remote(repo, remote, doomed, set())
    return sorted({str(e.oid) for e in doomed})


def on_remote(repo: Repo, remote_name: str | None, oids: dict[str, set[Oid] | None],
              ) -> dict[str, bool]:
    """For `ls --remote`: per path, whether all its objects are on the remote (known
    objects first, then one batched check for the rest)."""
    remote = repo_remote(repo, remote_name)
    wanted = {o for group in oids.values() if group for o in group}
    known = trusted_known(repo, remote)
    try:
        there = present_on_remote(remote, known, set(wanted))
    finally:
        known.close()
    return {path: group is not None and group <= there for path, group in oids.items()}
