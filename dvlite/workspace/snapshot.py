"""Clean-folder snapshots: a fast path for `status` on big, unchanged folders.

When a full comparison finds a tracked folder identical to its pointer with every object
in the cache, we record a digest of every file's name and fingerprint (inode, size,
mtime, ctime, mode) together with a signature of the cache's shard folders. A later scan
with the same digest, while the cache signature is unchanged, proves the same thing
without reading the manifest or looking up each file: the per-file state db would have
trusted every one of those fingerprints anyway, and removing an object from the cache
changes its shard folder's mtime.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass

from dvlite.core.oid import new_hasher
from dvlite.workspace.outputs import Output
from dvlite.workspace.repo import Repo
from dvlite.workspace.scan import WorkFile, gc_paused

# Timestamps may be coarse (a jiffy on ext4, a second elsewhere): a snapshot is recorded
# only when nothing it covers changed within this window before the scan began.
SETTLE_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: str
    pointer: str
    scan: str
    cache: str
    newest_ns: int  # newest mtime/ctime among the files and cache shards
    taken_ns: int

    @classmethod
    def take(cls, repo: Repo, out: Output, files: list[WorkFile], started_ns: int) -> Snapshot:
        """Digest of `files`, scanned from `started_ns` on, and of the cache shards. Call
        right after the scan: the cache signature must predate any existence check."""
        with gc_paused():
            scan, newest = _scan_digest(files)
        cache, cache_newest = _cache_signature(repo)
        return cls(str(out.path), str(out.pointer.oid), scan, cache,
                   max(newest, cache_newest), started_ns)

    def recorded(self, repo: Repo) -> bool:
        return repo.state.folder_matches(self.path, self.pointer, self.scan, self.cache)

    def settled(self) -> bool:
        return self.newest_ns < self.taken_ns - SETTLE_NS

    def record(self, repo: Repo) -> None:
        repo.state.put_folder(self.path, self.pointer, self.scan, self.cache)


def _scan_digest(files: list[WorkFile]) -> tuple[str, int]:
    # The names, then the fingerprints as raw 64-bit integers: a third faster than a
    # formatted line per file (20,000 files: 18 vs 26 ms). A link to a cache object
    # stands for the object: its inode tells which one.
    names: list[str] = []
    numbers = array("q")
    for f in files:
        s = f.stat
        names.append(f.relpath)
        numbers.extend((s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_mode))
    h = new_hasher("xxh128")
    h.update("\0".join(names).encode("utf-8", "surrogateescape"))
    h.update(numbers.tobytes())
    newest = max(max(numbers[2::5], default=0), max(numbers[3::5], default=0))
    return h.hexdigest(), newest


def _cache_signature(repo: Repo) -> tuple[str, int]:
    """Names and mtimes of the cache's shard folders (`<algo>/<2 hex>`, see LocalStore):
    any object added to or removed from a shard changes its mtime."""
    base = os.path.join(repo.cache.root, repo.cache.algo)
    try:
        names = sorted(os.listdir(base))
        top = os.stat(base).st_mtime_ns
    except FileNotFoundError:
        return "", 0
    parts = [str(top)]
    newest = top
    for name in names:
        try:
            mtime = os.stat(f"{base}/{name}").st_mtime_ns
        except FileNotFoundError:
            continue
        parts.append(f"{name}:{mtime}")
        newest = max(newest, mtime)
    h = new_hasher("xxh128")
    h.update(" ".join(parts).encode())
    return h.hexdigest(), newest
