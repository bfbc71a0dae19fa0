"""Which objects a transfer concerns: outputs at the workspace or at revisions, narrowed
to targets (a target may be one file inside a tracked folder), expanded into file
objects and folder manifests (each manifest with the files it needs present first)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.core.paths import is_within
from dvlite.core.pointer import POINTER_SUFFIX
from dvlite.errors import DvliteError, MissingObjectsError, UsageError
from dvlite.storage.remote.base import Remote
from dvlite.storage.remote.factory import open_remote
from dvlite.storage.remote.known import KnownObjects
from dvlite.storage.remote.options import RemoteConfig
from dvlite.storage.transfer import Failure, Item
from dvlite.workspace.outputs import (
    Output,
    Target,
    collect_targets,
    load_manifest,
    outputs_at,
    stage_outputs,
    tracked_outputs,
)
from dvlite.workspace.repo import Repo


@dataclass(frozen=True, slots=True)
class Scope:
    """What to transfer: targets (default all) at the workspace, or at revisions."""

    targets: tuple[str, ...] = ()
    revs: tuple[str, ...] = ()
    all_commits: bool = False
    cwd: Path | None = None


@dataclass
class ObjectPlan:
    files: dict[Oid, Item] = field(default_factory=dict)
    # manifest oid -> (item, the file objects that must be in place before it)
    manifests: dict[Oid, tuple[Item, set[Oid]]] = field(default_factory=dict)
    manifest_bytes: dict[Oid, bytes] = field(default_factory=dict)  # fetched, not stored
    failed: list[Failure] = field(default_factory=list)
    optional: set[Oid] = field(default_factory=set)  # pipeline outputs: best effort
    # every file each manifest lists (a target inside a folder asks for only some)
    complete: dict[Oid, set[Oid]] = field(default_factory=dict)

    def add_optional(self, extra: ObjectPlan, keep: Callable[[Oid], bool]) -> None:
        """Merge `extra` (its failures dropped), keeping objects `keep` accepts and only
        manifests all of whose files are kept."""
        for oid, item in extra.files.items():
            if oid not in self.files and keep(oid):
                self.files[oid] = item
                self.optional.add(oid)
        for oid, (item, children) in extra.manifests.items():
            if oid not in self.manifests and keep(oid) and children <= set(self.files):
                self.manifests[oid] = (item, children)
                self.complete[oid] = extra.complete.get(oid, children)
                self.optional.add(oid)

    def drop_optional_failures(self, failed: list[Failure]) -> list[Failure]:
        return [f for f in failed if not (f.item.oid in self.optional
                                          and isinstance(f.error, MissingObjectsError))]

    def all_oids(self) -> set[Oid]:
        return set(self.files) | set(self.manifests)

    def item(self, oid: Oid) -> Item:
        return self.files[oid] if oid in self.files else self.manifests[oid][0]


def as_scope(scope: Scope | Sequence[str], revs: Sequence[str] = (),
             all_commits: bool = False) -> Scope:
    if isinstance(scope, Scope):
        return scope
    return Scope(tuple(scope), tuple(revs), all_commits)


def repo_remote(repo: Repo, name: str | None) -> Remote:
    cfg: RemoteConfig = repo.config.remote(name)
    return open_remote(cfg, repo.root, repo.config.core.hash)


def known_objects(repo: Repo) -> KnownObjects:
    return KnownObjects(repo.dvlite_dir / "remotes.db")


def trusted_known(repo: Repo, remote: Remote, *, force: bool = False) -> KnownObjects:
    """The known objects, checked for deciding what `remote` holds (see `check_known`)."""
    known = known_objects(repo)
    try:
        check_known(known, remote, force=force)
    except BaseException:
        known.close()
        raise
    return known


def check_known(known: KnownObjects, remote: Remote, *, force: bool = False) -> bool:
    """Check the known objects of `remote` against its epoch, unless that was done within
    `remote.known_ttl` (and not `force`): those learnt before a wipe or another
    machine's gc --remote are dropped, not trusted. False when that dropped anything."""
    last = known.last_check(remote.identity)
    now = time.time()
    if not force and last is not None and 0 <= now - last < remote.known_ttl:
        return True
    return not known.reconcile(remote.identity, remote.read_epoch(), now)


def select(repo: Repo, scope: Scope) -> list[Target]:
    if not scope.revs and not scope.all_commits:
        return collect_targets(repo, list(scope.targets), scope.cwd)
    if repo.scm is None:
        raise UsageError("--rev and --all-commits need git")
    if scope.all_commits:
        commits = repo.scm.all_commits()
    else:
        commits = [repo.scm.resolve(r) for r in scope.revs]
    outputs: dict[tuple[str, Oid], Output] = {}
    for commit in commits:
        for out in outputs_at(repo, commit):
            outputs.setdefault((out.rel, out.pointer.oid), out)
    if scope.all_commits:
        for out in tracked_outputs(repo):
            outputs.setdefault((out.rel, out.pointer.oid), out)
    found = sorted(outputs.values(), key=lambda o: o.rel)
    if not scope.targets:
        return [Target(o) for o in found]
    chosen: list[Target] = []
    for raw in scope.targets:
        chosen.extend(_narrow(repo, found, raw, scope.cwd))
    return chosen


def select_uncached(repo: Repo, scope: Scope) -> list[Target]:
    """Stage outputs in scope the pipeline leaves to git (metrics): the run cache keeps
    their bytes, which transfers move best effort (none when targets were named)."""
    if scope.targets:
        return []
    if not scope.revs and not scope.all_commits:
        return [Target(o) for o in stage_outputs(repo) if not o.cached]
    assert repo.scm is not None
    commits = repo.scm.all_commits() if scope.all_commits else [
        repo.scm.resolve(r) for r in scope.revs]
    found = stage_outputs(repo) if scope.all_commits else []
    for commit in commits:
        found += stage_outputs(repo, commit)
    unique = {(o.rel, o.pointer.oid): o for o in found if not o.cached}
    return [Target(o) for o in unique.values()]


def _narrow(repo: Repo, outputs: list[Output], raw: str, cwd: Path | None) -> list[Target]:
    path = Path(os.path.normpath(Path(os.path.abspath(cwd or Path.cwd())) / raw))
    if path.name.endswith(POINTER_SUFFIX):
        path = path.with_name(path.name[: -len(POINTER_SUFFIX)])
    if not is_within(path, repo.root):
        raise UsageError(f"'{raw}' is outside the repository")
    hits: list[Target] = []
    for out in outputs:
        if path == out.path or is_within(out.path, path):
            hits.append(Target(out))
        elif out.is_dir and is_within(path, out.path):
            hits.append(Target(out, path.relative_to(out.path).as_posix()))
    if not hits:
        raise UsageError(f"'{raw}' is not tracked at the chosen revisions")
    return hits


ManifestSource = Callable[[Oid], Manifest]


def manifest_loader(repo: Repo, remote: Remote, targets: list[Target], jobs: int,
                     fetched: dict[Oid, bytes]) -> ManifestSource:
    """Load manifests from the cache, else from the remote (verified, kept in memory and
    stored only after their files). Remote reads run concurrently, up front."""
    wanted = {t.output.pointer.oid for t in targets if t.output.is_dir}
    absent = sorted(wanted - repo.cache.exists_many(wanted))
    errors: dict[Oid, DvliteError] = {}

    def get(oid: Oid) -> None:
        try:
            fetched[oid] = remote.read_bytes(oid)
        except DvliteError as exc:
            errors[oid] = exc

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(get, absent))

    def load(oid: Oid) -> Manifest:
        if oid in errors:
            raise errors[oid]
        if oid in fetched:
            return Manifest.from_bytes(fetched[oid], f"manifest {oid} from '{remote.name}'")
        return load_manifest(repo, oid)

    return load


def expand(targets: list[Target], load: ManifestSource) -> ObjectPlan:
    """Files and manifests for `targets`; a manifest `load` cannot give is a failure."""
    plan = ObjectPlan()
    for target in targets:
        out = target.output
        oid, rel = out.pointer.oid, out.rel
        if not out.is_dir:
            plan.files.setdefault(oid, Item(oid, out.pointer.size, rel))
            continue
        try:
            manifest = load(oid)
        except DvliteError as exc:
            plan.failed.append(Failure(Item(oid, None, rel), exc))
            continue
        children: set[Oid] = set()
        plan.complete[oid] = {e.oid for e in manifest}
        for e in manifest:
            if target.sub is None or e.relpath == target.sub or \
                    e.relpath.startswith(target.sub + "/"):
                plan.files.setdefault(e.oid, Item(e.oid, e.size, f"{rel}/{e.relpath}"))
                children.add(e.oid)
        if target.sub is not None and not children:
            exc2 = MissingObjectsError(f"'{rel}/{target.sub}' is not in folder {rel}")
            plan.failed.append(Failure(Item(oid, None, f"{rel}/{target.sub}"), exc2))
            continue
        if oid in plan.manifests:
            plan.manifests[oid][1].update(children)
        else:
            plan.manifests[oid] = (Item(oid, None, rel), children)
    return plan
