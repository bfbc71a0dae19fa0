"""`dvlite get REPO PATH`: export tracked data from any git repository, no dvlite repo needed.

Pointers and the remote config are read straight from git at the revision (a local
repository in place, bare or not; a URL through a bare clone). Objects come from that
repository's cache when it is local, else from its default remote; either way they are
hashed before use. The result appears at OUT only whole (built beside it, renamed).

Everything a run writes on the way (the clone, the downloaded objects, the result before
its rename) is in one work folder beside OUT, `.dvlite-get-PID-XXXX`, held under a
`flock` while the run lives. A killed run's folder is removed by the next `get` into the
same folder: one it can lock (or without a lock file whose PID is gone) is stale.
"""

from __future__ import annotations

import fcntl
import os
import posixpath
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dvlite.config import Config
from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.core.pointer import POINTER_SUFFIX, Pointer
from dvlite.errors import (
    ConfigError,
    FormatError,
    GitMissingError,
    ScmError,
    UsageError,
    storage_error,
)
from dvlite.scm import Git, find_git_root
from dvlite.storage.odb import LocalStore
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote.base import Remote
from dvlite.storage.remote.factory import local_path, open_remote
from dvlite.storage.transfer import Item, TransferResult, transfer_many
from dvlite.workspace.lock_outputs import PIPELINE_NAMES, is_pipeline_file, stage_outs

CONFIG_PATH = ".dvlite/config"
WORK_PREFIX = ".dvlite-get-"


@dataclass(frozen=True, slots=True)
class Source:
    git: Git
    root: Path | None  # the working tree of a local repository (None for a clone)
    base: Path | None = None  # where a relative local remote path points from


@dataclass
class GetResult:
    dest: Path
    files: int
    nbytes: int
    transfer: TransferResult


@contextmanager
def work_folder(parent: Path) -> Iterator[Path]:
    """A fresh work folder in `parent`, locked while in use and removed after; stale
    ones that killed runs left there are removed first."""
    remove_stale(parent)
    work = parent / f"{WORK_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        work.mkdir()
        fd = os.open(work / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise storage_error(exc, f"creating a work folder in {parent}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.close(fd)


def remove_stale(parent: Path) -> list[Path]:
    """Remove the work folders of `get` runs that are no longer alive."""
    try:
        names = [n for n in os.listdir(parent) if n.startswith(WORK_PREFIX)]
    except OSError:
        return []
    removed = []
    for name in names:
        path = parent / name
        if path.is_dir() and not path.is_symlink() and _is_stale(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _is_stale(work: Path) -> bool:
    try:
        fd = os.open(work / "lock", os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:  # killed before it made its lock, or making it right now
        return not _alive(work.name[len(WORK_PREFIX):].partition("-")[0])
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # its owner holds it: a live run
    finally:
        os.close(fd)  # also releases a lock just taken
    return True


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return True  # not one of ours: leave it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _bare_git_dir(path: Path) -> Path | None:
    """`path` itself, when it is a bare git repository."""
    try:
        out = Git(path).run("rev-parse", "--is-bare-repository").decode().strip()
    except GitMissingError:
        raise
    except ScmError:
        return None
    return path if out == "true" else None


@contextmanager
def open_source(repo: str, cwd: Path, work: Path) -> Iterator[Source]:
    local = Path(cwd, repo)
    if "://" not in repo and local.exists():
        real = Path(os.path.realpath(local))
        bare = _bare_git_dir(real)
        if bare is not None:
            yield Source(Git(bare), None, bare)
            return
        root = find_git_root(real)
        if root is None:
            raise ScmError(f"'{repo}' is not inside a git repository")
        yield Source(Git(root), root, root)
        return
    clone = work / "repo.git"
    try:
        proc = subprocess.run(["git", "clone", "--bare", "--quiet", "--", repo, str(clone)],
                              capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitMissingError from exc
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ScmError(f"cannot clone '{repo}': {msg[-1] if msg else proc.returncode}")
    origin = Path(repo[len("file://"):]) if repo.startswith("file://") else None
    yield Source(Git(clone), None, origin)


def _config(src: Source, rev: str, work: Path) -> Config:
    blobs = src.git.files_at(rev, suffixes=(), names=(CONFIG_PATH,))
    shared = work / "config"
    shared.write_bytes(blobs.get(CONFIG_PATH, b""))
    local = src.root / ".dvlite" / "config.local" if src.root else work / "none"
    return Config(shared, local)


def _outputs(src: Source, rev: str) -> Iterator[tuple[str, Pointer]]:
    """(path, pointer) of every tracked output at `rev`: `.dvl` files, then cached stage
    outputs of `dvlite.lock` files (paths relative to the git root; the lock files are
    read only when no pointer matched)."""
    texts = src.git.files_at(rev, names=PIPELINE_NAMES)
    for gpath, data in sorted(texts.items()):
        if is_pipeline_file(gpath):
            continue
        try:
            pointer = Pointer.from_bytes(data, f"{gpath} at {rev}")
        except FormatError:
            continue
        yield posixpath.normpath(posixpath.join(posixpath.dirname(gpath), pointer.path)), \
            pointer
    pipeline = {p: d for p, d in texts.items() if is_pipeline_file(p)}
    yield from ((s.rel, s.pointer) for s in stage_outs(pipeline, strict=False) if s.cached)


def _find(src: Source, rev: str, path: str) -> tuple[str, Pointer, str | None]:
    """The output holding `path` at `rev`: (output path, pointer, path inside a folder)."""
    want = posixpath.normpath(path.strip("/"))
    if want.endswith(POINTER_SUFFIX):
        want = want[: -len(POINTER_SUFFIX)]
    for rel, pointer in _outputs(src, rev):
        if want == rel:
            return rel, pointer, None
        if pointer.is_dir and want.startswith(rel + "/"):
            return rel, pointer, want[len(rel) + 1:]
    raise UsageError(f"'{path}' is not tracked by dvlite at {rev}")


class _Objects:
    """Verified objects into a staging store: from the source's cache, else its remote."""

    def __init__(self, src: Source, config: Config, staging: LocalStore) -> None:
        self.staging = staging
        self.local = LocalStore(src.root / ".dvlite" / "cache", config.core.hash) if src.root \
            else None
        self.config = config
        self.base = src.base
        self._remote: Remote | None = None

    @property
    def remote(self) -> Remote:
        if self._remote is None:
            cfg = self.config.remote(None)
            if self.base is None and local_path(cfg.url, Path("/")) is not None and \
                    not os.path.isabs(os.path.expanduser(cfg.url.removeprefix("file://"))):
                raise ConfigError(f"remote '{cfg.name}' is a relative path ('{cfg.url}'), "
                                  "which means nothing outside that repository",
                                  hint="clone it and run `dvlite pull` there")
            self._remote = open_remote(cfg, self.base or Path.cwd(), self.config.core.hash)
        return self._remote

    def is_local(self, item: Item) -> bool:
        return self.local is not None and self.local.exists(item.oid)

    def fetch(self, item: Item, progress: Progress = NULL_PROGRESS) -> int:
        if self.local is not None and self.local.exists(item.oid):
            fd = os.open(self.local.path(item.oid), os.O_RDONLY)
            try:
                return self.staging.add_fd(fd, expected=item.oid, progress=progress)[1]
            finally:
                os.close(fd)
        return self.remote.download(item.oid, self.staging, item.size, progress)

    def manifest(self, oid: Oid) -> Manifest:
        item = Item(oid, None, f"manifest {oid}")
        self.fetch(item)
        return Manifest.from_bytes(self.staging.read_bytes(oid), f"manifest {oid}")


def get(repo: str, path: str, rev: str | None = None, out: Path | None = None,
        *, cwd: Path | None = None, progress: Progress = NULL_PROGRESS) -> GetResult:
    cwd = cwd or Path.cwd()
    dest = Path(os.path.abspath(cwd / out)) if out else cwd / posixpath.basename(
        path.rstrip("/"))
    if os.path.lexists(dest):
        raise UsageError(f"'{dest}' already exists", hint="choose another path with -o")
    with work_folder(dest.parent) as work, open_source(repo, cwd, work) as src:
        revision = src.git.resolve(rev or "HEAD")
        _, pointer, sub = _find(src, revision, path)
        config = _config(src, revision, work)
        objects = _Objects(src, config, LocalStore(work / "objects", config.core.hash))
        return _export(objects, pointer, sub, dest, progress)


def _export(objects: _Objects, pointer: Pointer, sub: str | None, dest: Path,
            progress: Progress) -> GetResult:
    files: dict[str, Item] = {}
    execs: set[str] = set()
    if not pointer.is_dir:
        files[""] = Item(pointer.oid, pointer.size, pointer.path)
    else:
        for e in objects.manifest(pointer.oid):
            if sub is None or e.relpath == sub or e.relpath.startswith(sub + "/"):
                rel = "" if e.relpath == sub else e.relpath[len(sub) + 1:] if sub else \
                    e.relpath
                files[rel] = Item(e.oid, e.size, e.relpath)
                if e.isexec:
                    execs.add(rel)
        if not files:
            raise UsageError(f"'{sub}' is not in the tracked folder")
    result = TransferResult()
    unique = list({it.oid: it for it in files.values()}.values())
    progress.begin("Getting", len(unique), sum(it.size or 0 for it in unique))
    local = [it for it in unique if objects.is_local(it)]
    transfer_many(local, objects.fetch, 8, result, progress, point="get")
    rest = [it for it in unique if not objects.is_local(it)]
    if rest:  # in batches: a range of a pack at a time
        remote = objects.remote
        remote.download_many(rest, objects.staging, jobs=remote.jobs, result=result,
                             progress=progress, point="get")
    progress.end()
    if not result.ok:
        from dvlite.repo.sync.transfer import raise_failures

        name = objects.remote.name if objects._remote is not None else "source"
        raise_failures(result, name, "fetched from")
    _materialize(objects.staging, files, execs, dest, objects.staging.root.parent / "out")
    return GetResult(dest, len(files), sum(it.size or 0 for it in files.values()), result)


def _materialize(staging: LocalStore, files: dict[str, Item], execs: set[str],
                 dest: Path, tmp: Path) -> None:
    """Copy objects out to `tmp` (in the work folder beside `dest`), then rename it into
    place."""
    try:
        for rel, item in files.items():
            target = tmp / rel if rel else tmp
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staging.path(item.oid), target)
            os.chmod(target, 0o755 if rel in execs else 0o644)
        os.replace(tmp, dest)
    except OSError as exc:  # what was copied goes with the work folder
        raise storage_error(exc, f"writing {dest}") from exc
