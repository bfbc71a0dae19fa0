"""`dvlite gc`: delete objects that nothing in the chosen scope references.

Scope: the workspace, plus every branch, tag and experiment (`refs/exps/`, the
default) or every commit; `.dvl`
pointers and every output `dvlite.lock` records. Folder manifests are expanded so their
files count as used. Run-cache records of runs nothing in scope uses are deleted first,
so they do not pin old outputs. Deletion order is manifests first,
then files, so a crash never leaves a manifest whose files are gone. On a remote, an
object younger than `gc.grace` (default 14 days) is kept: another machine may have
pushed it for a commit that has not reached git here yet, and so is one that a recent
push found already there and freshened (see `storage.remote.fresh`). Likewise in the
cache, the bytes a forced checkout discarded (listed in `.dvlite/discarded/`) are kept
for `gc.grace`. gc also removes temp files of killed transfers and aborts stale
multipart uploads.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from dvlite._fault import faultpoint
from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.errors import MissingObjectsError, UsageError, WorkspaceConflictError
from dvlite.repo.sync.plan import expand, known_objects, repo_remote
from dvlite.scm import EXP_REFS
from dvlite.storage.remote.base import Remote, RemoteEntry
from dvlite.storage.remote.fresh import drop_old_markers, fresh_oids, list_markers
from dvlite.workspace import discarded, shared_cache
from dvlite.workspace.outputs import (
    Target,
    load_manifest,
    outputs_at,
    pointer_outputs,
    stage_outputs,
)
from dvlite.workspace.repo import Repo

SCOPES = ("workspace", "refs", "all")
_MANIFEST_HEAD = b'{"format": '
TEMP_AGE = 3600.0  # cache temp files younger than this may belong to a running fetch
STALE_UPLOAD_AGE = 86400.0


@dataclass(frozen=True, slots=True)
class GcOptions:
    scope: str = "refs"
    remote: bool = False
    remote_name: str | None = None
    now: bool = False
    dry_run: bool = False
    force: bool = False  # even on a cache other repositories use


@dataclass
class GcResult:
    dry_run: bool
    local: list[tuple[Oid, int]] = field(default_factory=list)
    remote: list[tuple[Oid, int]] = field(default_factory=list)
    remote_name: str | None = None
    kept_young: int = 0
    kept_discarded: int = 0  # cache objects a forced checkout discarded, within gc.grace
    temp_removed: int = 0
    remote_temp_removed: int = 0
    uploads_aborted: int = 0
    warnings: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)  # run-cache records deleted

    def to_dict(self) -> dict[str, object]:
        def objs(items: list[tuple[Oid, int]]) -> list[dict[str, object]]:
            return [{"hash": str(o), "size": s} for o, s in items]

        return {"dry_run": self.dry_run, "cache": objs(self.local),
                "remote": objs(self.remote), "remote_name": self.remote_name,
                "kept_younger_than_grace": self.kept_young,
                "kept_discarded": self.kept_discarded,
                "temp_files_removed": self.temp_removed,
                "remote_temp_files_removed": self.remote_temp_removed,
                "stale_uploads_aborted": self.uploads_aborted, "warnings": self.warnings,
                "run_cache_records": self.records}


def _commits(repo: Repo, scope: str) -> list[str]:
    if scope == "workspace":
        return []
    if repo.scm is None:
        raise UsageError("gc outside git can only use --workspace")
    if not repo.scm.has_commits():
        return []
    if scope == "all":
        return repo.scm.all_commits()
    # experiments too: their outputs are only in the cache until one is applied
    pinned = repo.scm.run("for-each-ref", "--format=%(objectname)", "refs/stash",
                         EXP_REFS.rstrip("/")).split()
    # HEAD too: on a detached HEAD (or mid-rebase) it may be on no branch
    head = repo.scm.resolve("HEAD")
    return sorted({*repo.scm.refs(), *(s.decode() for s in pinned), head})


def used_objects(repo: Repo, scope: str, remote: Remote | None) -> set[Oid]:
    """Every object referenced in `scope`, manifests expanded (read from the cache, or
    from the remote when gc touches it: its deletions must know every folder's files)."""
    # every stage output, the uncached ones too: the run cache restores them
    found = pointer_outputs(repo) + stage_outputs(repo)
    for sha in _commits(repo, scope):
        found += outputs_at(repo, sha) + stage_outputs(repo, sha)
    targets = [Target(o) for o in found]
    cache: dict[Oid, Manifest] = {}

    def load(oid: Oid) -> Manifest:
        try:
            return load_manifest(repo, oid, cache)
        except MissingObjectsError:
            if remote is None:
                raise
            manifest = Manifest.from_bytes(remote.read_bytes(oid), f"manifest {oid}")
            cache[oid] = manifest
            return manifest

    unique = {(t.output.rel, t.output.pointer.oid): t for t in targets}
    plan = expand(list(unique.values()), load)
    for failure in plan.failed:
        if not isinstance(failure.error, MissingObjectsError):
            raise failure.error  # e.g. an unreachable remote: never guess what is used
    return plan.all_oids() | {f.item.oid for f in plan.failed}


def _prune_run_cache(repo: Repo, used: set[Oid], dry_run: bool) -> list[str]:
    from dvlite.pipeline.runcache import prune_records

    return prune_records(repo, used, dry_run)


def _is_manifest(path: os.PathLike[str] | str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(_MANIFEST_HEAD)) == _MANIFEST_HEAD
    except OSError:
        return False


def gc(repo: Repo, opts: GcOptions) -> GcResult:
    if opts.scope not in SCOPES:
        raise UsageError(f"unknown gc scope '{opts.scope}'")
    result = GcResult(opts.dry_run)
    if opts.remote and repo.scm is not None and repo.scm.is_shallow():
        # what it lacks (older commits, other branches) may reference remote objects
        raise UsageError("gc --remote cannot run in a shallow clone: it would not see the "
                         "data of the commits and branches the clone lacks",
                         hint="git fetch --unshallow, or run it from a full clone")
    if not opts.dry_run and not opts.force:
        _refuse_shared(repo)
    remote = repo_remote(repo, opts.remote_name) if opts.remote else None
    with repo.lock():
        used = used_objects(repo, opts.scope, remote)
        discards = discarded.read(repo, None if opts.now else repo.config.gc.grace)
        result.kept_discarded = len(discards.kept - used)
        result.records = _prune_run_cache(repo, used, opts.dry_run)
        manifests = _gc_cache(repo, used | discards.kept, opts, result)
        if not opts.dry_run:
            discarded.drop(discards.expired)
            result.temp_removed = repo.cache.clean_temp(TEMP_AGE)
    if remote is not None:
        _gc_remote(repo, remote, used, manifests, opts=opts, result=result)
    return result


def _refuse_shared(repo: Repo) -> None:
    """An object this repository does not reference may be one another repository on
    the same cache needs: deleting it there is data loss, so it takes `--force`."""
    others = shared_cache.other_users(repo.cache.root, repo.root)
    if others:
        names = ", ".join(str(o) for o in others[:3]) + (" ..." if len(others) > 3 else "")
        raise WorkspaceConflictError(
            f"the cache {repo.cache.root} is shared with {len(others)} other "
            f"repositor{'y' if len(others) == 1 else 'ies'} ({names}); gc here would delete "
            "objects they may need", [str(o) for o in others],
            hint="preview with --dry-run; --force deletes what this repository does not "
                 "use, whoever needs it")


def _gc_cache(repo: Repo, used: set[Oid], opts: GcOptions, result: GcResult) -> set[Oid]:
    """Delete unused cache objects, manifests first; returns the unused manifests seen."""
    cache = repo.cache
    unused = [o for o in cache.iter_oids() if o not in used]
    manifests = {o for o in unused if _is_manifest(cache.path(o))}
    ordered = sorted(manifests) + sorted(o for o in unused if o not in manifests)
    for oid in ordered:
        try:
            size = os.stat(cache.path(oid)).st_size
        except FileNotFoundError:
            continue
        if not opts.dry_run:
            cache.delete(oid)
            faultpoint("gc.after_local_delete")
        result.local.append((oid, size))
    return manifests


def delete_from_remote(repo: Repo, remote: Remote, doomed: list[RemoteEntry],
                        manifests: set[Oid]) -> None:
    """Delete, between two renewals of the remote's epoch: every clone's known objects of
    the remote (this one's too) are then dropped when next checked, even if this gc is
    killed half-way, so no push skips an object because its known objects say it is
    there. This clone's known objects forget them first: they may be trusted without a
    check for a while."""
    known = known_objects(repo)
    try:
        known.forget(remote.identity, [e.oid for e in doomed])
        remote.renew_epoch()
        # manifests first: no folder is ever listed whose files are gone
        remote.delete_many([e for e in doomed if e.oid in manifests])
        remote.delete_many([e for e in doomed if e.oid not in manifests])
        known.reconcile(remote.identity, remote.renew_epoch(), time.time())
    finally:
        known.close()


def _gc_remote(repo: Repo, remote: Remote, used: set[Oid], manifests: set[Oid], *,
               opts: GcOptions, result: GcResult) -> None:
    result.remote_name = remote.name
    cutoff = time.time() - (0.0 if opts.now else repo.config.gc.grace)
    markers = list_markers(remote.backend)
    fresh = fresh_oids(remote.backend, markers, cutoff)
    doomed = []
    for entry in remote.list_entries():
        if entry.oid in used:
            continue
        if entry.mtime > cutoff or entry.oid in fresh:
            result.kept_young += 1
            continue
        doomed.append(entry)
    doomed.sort(key=lambda e: (e.oid not in manifests, e.oid))
    if doomed and not opts.dry_run:
        delete_from_remote(repo, remote, doomed, manifests)
    # an object may have two copies (loose and packed): it is reported once
    result.remote.extend({entry.oid: entry.size for entry in doomed}.items())
    if not opts.dry_run:
        drop_old_markers(remote.backend, markers, cutoff)
        age = 0.0 if opts.now else STALE_UPLOAD_AGE
        result.remote_temp_removed = remote.clean_stale(age)
        aborted = remote.backend.abort_stale_uploads(age)
        if aborted is None:
            result.warnings.append(
                f"remote '{remote.name}' does not list multipart uploads (NotImplemented): "
                "stale uploads were not aborted; a bucket lifecycle rule can expire them")
        result.uploads_aborted = aborted or 0
