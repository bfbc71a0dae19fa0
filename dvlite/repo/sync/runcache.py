"""Run-cache records on a remote (`push/fetch/pull --run-cache`).

A record is pushed only after every object it lists is on the remote, so a record seen
on a remote can always be restored from it. Records fetched are validated before they
are stored; their objects are fetched best effort.
"""

from __future__ import annotations

from dvlite.core.oid import Oid
from dvlite.errors import FormatError
from dvlite.repo.sync.plan import ObjectPlan, expand
from dvlite.storage.remote.base import Remote
from dvlite.storage.transfer import TransferResult
from dvlite.workspace.outputs import Target, load_manifest, stage_output
from dvlite.workspace.repo import Repo


def _targets(repo: Repo, key: str) -> list[Target]:
    from dvlite.pipeline import runcache

    return [Target(stage_output(repo, h.path, h.to_pointer()))
            for h in runcache.lookup(repo, key) or []]


def local_records(repo: Repo, plan: ObjectPlan) -> dict[str, set[Oid]]:
    """Records whose objects are all in the cache ({key: objects}); their objects join
    `plan` (best effort), so a push sends them before the records."""
    from dvlite.pipeline import runcache

    records: dict[str, set[Oid]] = {}
    for path in runcache.record_files(repo):
        sub = expand(_targets(repo, path.name), lambda oid: load_manifest(repo, oid))
        oids = sub.all_oids()
        if sub.failed or len(repo.cache.exists_many(oids)) != len(oids):
            continue
        plan.add_optional(sub, lambda _: True)
        records[path.name] = oids
    return records


def push_records(repo: Repo, remote: Remote, records: dict[str, set[Oid]],
                 there: set[Oid], result: TransferResult) -> None:
    from dvlite.pipeline import runcache

    folder = runcache.runs_dir(repo)
    for key, oids in sorted(records.items()):
        if oids <= there and remote.upload_record(key, (folder / key).read_bytes()):
            result.records += 1


def remote_records(repo: Repo, remote: Remote) -> tuple[list[Target], int]:
    """Fetch the remote's records this repository lacks; returns the outputs every
    record lists and how many records were new."""
    from dvlite.pipeline import runcache

    have = {p.name for p in runcache.record_files(repo)}
    targets: list[Target] = []
    new = 0
    for key in remote.list_records():
        if key in have:
            continue
        try:
            runcache.import_records(repo, {key: remote.read_record(key)})
        except FormatError:
            continue  # a bad record is skipped, never stored
        new += 1
        targets.extend(_targets(repo, key))
    for key in have:
        targets.extend(_targets(repo, key))
    return targets, new
