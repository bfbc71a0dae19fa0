"""The workspace's pointers against a remote: `status --remote` (what is not pushed yet),
`fsck --remote` (present, right size, right hash) and `ls --remote`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dvlite.core.oid import Oid
from dvlite.repo.outputs import Target, collect_targets, tracked_outputs
from dvlite.repo.remote_known import present_on_remote, skip_known_folders
from dvlite.repo.repo import Repo
from dvlite.repo.sync_plan import (
    expand,
    manifest_loader,
    remote_index,
    repo_remote,
    trusted_record,
)
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote import Remote
from dvlite.storage.transfer import Item


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
    index = trusted_record(repo, remote)
    try:
        there = present_on_remote(remote, index, set(wanted))
    finally:
        index.close()
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
    wrong_size: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # bad copies deleted (--repair)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.wrong_size or self.corrupt)

    def to_dict(self) -> dict[str, object]:
        return {"remote": self.remote, "checked": self.checked, "missing": self.missing,
                "wrong_size": self.wrong_size, "corrupt": self.corrupt,
                "removed": self.removed}


def remote_fsck(repo: Repo, remote_name: str | None, jobs: int | None = None,
                progress: Progress = NULL_PROGRESS, *, repair: bool = False) -> RemoteFsck:
    """Read back every object the workspace's pointers need from the remote and hash it.
    Ignores the known-objects record (and corrects it). With `repair`, the corrupt and
    wrong-size copies found are deleted from the remote (as gc --remote deletes), so the
    next push from a machine that has the data uploads them again."""
    remote = repo_remote(repo, remote_name)
    per = _closures(repo, remote, [Target(o) for o in tracked_outputs(repo)])
    items = {oid: item for group in per.values() for oid, item in group.items()}
    result = RemoteFsck(remote.name, checked=len(items))
    progress.begin("Checking remote", len(items), sum(i.size or 0 for i in items.values()))

    hashed = remote.hash_many(set(items), max(1, jobs or remote.jobs), progress)
    good: list[Oid] = []
    for oid, item in items.items():
        verdict = _verdict(item, hashed.get(oid))
        if verdict is None:
            good.append(oid)
        else:
            getattr(result, verdict).append(f"{oid} ({item.path})")
    progress.end()
    if repair:
        result.removed = _remove_bad_copies(repo, remote, set(items) - set(good) - {
            oid for oid in items if hashed.get(oid) is None})
    index = remote_index(repo)
    try:
        index.add(remote.identity, good)
        bad = set(items) - set(good)
        # A known folder vouches for all its files (push skips it whole): an output with
        # a missing or bad object is forgotten whole, so the next push checks it again.
        stale = {oid for group in per.values() if bad & group.keys() for oid in group}
        index.forget(remote.identity, bad | stale)
    finally:
        index.close()
    return result


def _remove_bad_copies(repo: Repo, remote: Remote, bad: set[Oid]) -> list[str]:
    from dvlite.repo.gc import delete_from_remote

    entries = [e for e in (remote.stat(oid) for oid in sorted(bad)) if e is not None]
    if entries:
        delete_from_remote(repo, remote, entries, set())
    return [str(e.oid) for e in entries]


def _verdict(item: Item, hashed: tuple[Oid, int] | None) -> str | None:
    if hashed is None:
        return "missing"
    actual, size = hashed
    if item.size is not None and size != item.size:
        return "wrong_size"
    return None if actual == item.oid else "corrupt"


def on_remote(repo: Repo, remote_name: str | None, oids: dict[str, set[Oid] | None],
              ) -> dict[str, bool]:
    """For `ls --remote`: per path, whether all its objects are on the remote (record
    first, then one batched check for the rest)."""
    remote = repo_remote(repo, remote_name)
    wanted = {o for group in oids.values() if group for o in group}
    index = trusted_record(repo, remote)
    try:
        there = present_on_remote(remote, index, set(wanted))
    finally:
        index.close()
    return {path: group is not None and group <= there for path, group in oids.items()}
