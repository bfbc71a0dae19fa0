"""A source repository's objects: from its own cache when it has one and the object is
there, else from the user's object cache, else from its remote.

Whatever comes from the remote is hashed before it is stored (`Remote.download`: a temp
file, then a rename), and goes into a store of the caller's choice: `dvlite get`'s work
folder, or, for the Python API, the per-user object cache (`DVLITE_CACHE_DIR`, else
`$XDG_CACHE_HOME/dvlite/objects`, else `~/.cache/dvlite/objects`), shared safely by
threads and processes since objects appear there only whole and verified. The source
repository itself is never written to. A ranged read of an object in no cache reads the
range of its loose copy on the remote and stores nothing (`read_range`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from dvlite.config import Config
from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid, hash_bytes
from dvlite.errors import ConfigError, IntegrityError, MissingObjectsError, storage_error
from dvlite.storage.odb import LocalStore, clean_temp_folder
from dvlite.storage.progress import NULL_PROGRESS, Progress
from dvlite.storage.remote.base import Remote
from dvlite.storage.remote.factory import local_path, open_remote
from dvlite.storage.remote.packmap import PACK_OBJECT_MAX
from dvlite.storage.transfer import Item, TransferResult

CACHE_ENV = "DVLITE_CACHE_DIR"
WHOLE_MAX = PACK_OBJECT_MAX  # objects up to this size may sit in a pack: read whole
_MANIFESTS_KEPT = 64  # parsed manifests kept per process (content-addressed: never stale)
_manifests: OrderedDict[Oid, Manifest] = OrderedDict()
_manifests_lock = threading.Lock()
STALE_TEMP = 3600.0
_cleaned: set[Path] = set()
_cleaned_lock = threading.Lock()


def user_cache_dir() -> Path:
    """The per-user object cache: `DVLITE_CACHE_DIR` (the cache override every command
    honours) when set, else `$XDG_CACHE_HOME/dvlite/objects`, else
    `~/.cache/dvlite/objects`."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(os.path.abspath(os.path.expanduser(configured)))
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "dvlite" / "objects"


def _clean_once(store: LocalStore) -> None:
    """Remove what killed readers left in a store's temp area (an hour old, so a read of
    another process running now keeps its file), once per process and store."""
    with _cleaned_lock:
        if store.tmp_dir in _cleaned:
            return
        _cleaned.add(store.tmp_dir)
    with contextlib.suppress(OSError):
        clean_temp_folder(store.tmp_dir, time.time() - STALE_TEMP)


def loose_key(oid: Oid) -> str:
    """Where the loose copy of `oid` sits below a remote's root."""
    return f"{oid.algo}/{oid.hex[:2]}/{oid.hex}"


class SourceObjects:
    """The objects of one source repository (thread-safe).

    `own`: the source's cache (read only, None for a clone); `store`: where objects read
    from the remote go; `config` and `base`: the source's config and the folder its
    relative remote paths point from (None: no such folder); `remote_name`: the remote
    to use (None: its default)."""

    def __init__(self, config: Config, base: Path | None, store: Path, own: Path | None,
                 remote_name: str | None = None) -> None:
        self.config = config
        self.base = base
        self.store_root = store
        self.own_root = own
        self.remote_name = remote_name
        self._stores: dict[str, LocalStore] = {}
        self._remotes: dict[str, Remote] = {}
        self._lock = threading.Lock()

    def store(self, algo: str) -> LocalStore:
        with self._lock:
            if algo not in self._stores:
                self._stores[algo] = store = LocalStore(self.store_root, algo)
                _clean_once(store)
            return self._stores[algo]

    def cached(self, oid: Oid) -> Path | None:
        """The file of `oid` in the source's cache or the store, if it is in one."""
        for root in (self.own_root, self.store_root):
            if root is not None:
                path = root / loose_key(oid)
                if os.path.isfile(path):
                    return path
        return None

    def in_own_cache(self, oid: Oid) -> bool:
        return self.own_root is not None and os.path.isfile(self.own_root / loose_key(oid))

    def remote(self, algo: str) -> Remote:
        """The source's remote, opened on first use."""
        with self._lock:
            if algo not in self._remotes:
                self._remotes[algo] = self._open_remote(algo)
            return self._remotes[algo]

    @property
    def opened_remote(self) -> str | None:
        """The name of the remote, once one was opened."""
        with self._lock:
            return next((r.name for r in self._remotes.values()), None)

    def _open_remote(self, algo: str) -> Remote:
        cfg = self.config.remote(self.remote_name)
        if self.base is None and local_path(cfg.url, Path("/")) is not None and \
                not os.path.isabs(os.path.expanduser(cfg.url.removeprefix("file://"))):
            raise ConfigError(f"remote '{cfg.name}' is a relative path ('{cfg.url}'), "
                              "which means nothing outside that repository",
                              hint="clone it and run `dvlite pull` there")
        return open_remote(cfg, self.base or Path.cwd(), algo)

    def ensure(self, oid: Oid, size: int | None) -> Path:
        """The file of `oid` in a cache: downloaded (verified) into the store when it is
        in none."""
        path = self.cached(oid)
        if path is not None:
            return path
        store = self.store(oid.algo)
        self.remote(oid.algo).download(oid, store, size)
        return store.path(oid)

    def ensure_many(self, items: Sequence[Item]) -> None:
        """Download the objects of `items` that are in no cache into the store, verified,
        a range of a pack at a time; the first failure is raised."""
        missing = [it for it in {it.oid: it for it in items}.values()
                   if self.cached(it.oid) is None]
        for algo in sorted({it.oid.algo for it in missing}):
            remote = self.remote(algo)
            result = TransferResult()
            remote.download_many([it for it in missing if it.oid.algo == algo],
                                 self.store(algo), jobs=remote.jobs, result=result)
            if result.failed:
                failure = result.failed[0]
                raise type(failure.error)(f"reading '{failure.item.path}': "
                                          f"{failure.error.msg}", hint=failure.error.hint)

    def fetch(self, item: Item, progress: Progress = NULL_PROGRESS) -> int:
        """Put `item` into the store (`get`'s staging), verified: copied from the
        source's cache when there, else downloaded."""
        store = self.store(item.oid.algo)
        if self.in_own_cache(item.oid):
            assert self.own_root is not None
            fd = os.open(self.own_root / loose_key(item.oid), os.O_RDONLY)
            try:
                return store.add_fd(fd, expected=item.oid, progress=progress)[1]
            finally:
                os.close(fd)
        return self.remote(item.oid.algo).download(item.oid, store, item.size, progress)

    def manifest(self, oid: Oid) -> Manifest:
        """The folder manifest `oid`, hashed before it is parsed (kept per process)."""
        with _manifests_lock:
            if oid in _manifests:
                _manifests.move_to_end(oid)
                return _manifests[oid]
        path = self.ensure(oid, None)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise storage_error(exc, f"reading folder manifest {oid}") from exc
        actual = hash_bytes(oid.algo, data)
        if actual != oid:  # a download was checked: this is a cache rotted on disk
            raise IntegrityError(f"folder manifest {oid} in the cache is corrupt (its "
                                 f"content hashes to {actual}): {path}",
                                 hint="run `dvlite fsck` in that repository, or delete "
                                      "the file and read again")
        manifest = Manifest.from_bytes(data, f"manifest {oid}")
        with _manifests_lock:
            _manifests[oid] = manifest
            while len(_manifests) > _MANIFESTS_KEPT:
                _manifests.popitem(last=False)
        return manifest

    def read_range(self, oid: Oid, start: int, end: int) -> bytes:
        """Bytes [start, end) of `oid` in no cache, read from the remote's loose copy and
        not verified (nor stored). An object with no loose copy (a packed one) is
        downloaded whole, verified, and read from the store."""
        remote = self.remote(oid.algo)
        try:
            return remote.backend.get_range(loose_key(oid), start, end)
        except MissingObjectsError:
            if not remote.exists_many({oid}):
                raise MissingObjectsError(
                    f"object {oid} is on no cache and not on remote '{remote.name}'",
                    hint="push it from a machine that has it") from None
        path = self.ensure(oid, None)
        with open(path, "rb") as f:
            return os.pread(f.fileno(), max(0, end - start), start)
