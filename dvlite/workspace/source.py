"""A git repository read as it is at a revision, without a checkout: `dvlite get` and the
Python API share it.

A `Source` is a local repository read in place (bare or not) or a bare copy of a URL's
commit. Its dvlite config and its tracked outputs (`.dvl` pointers, cached stage outputs
of `dvlite.lock` files) come straight from git at the revision, or, for the workspace of
a local repository, from the files of its working tree. Paths are relative to the git
root. Nothing here writes into the repository.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from dvlite.config import Config
from dvlite.core.pointer import MAX_POINTER_BYTES, POINTER_SUFFIX, Pointer
from dvlite.errors import FormatError, GitMissingError, ScmError, UsageError
from dvlite.scm import Git, find_git_root
from dvlite.workspace.lock_outputs import PIPELINE_NAMES, is_pipeline_file, stage_outs

CONFIG_PATH = ".dvlite/config"
LOCAL_CONFIG_PATH = ".dvlite/config.local"
MAX_PIPELINE_BYTES = 64 << 20  # a lock file of a huge pipeline, not a data file


@dataclass(frozen=True, slots=True)
class Source:
    git: Git
    root: Path | None  # the working tree of a local repository (None: bare, or fetched)
    base: Path | None = None  # where a relative local remote path points from


def bare_git_dir(path: Path) -> Path | None:
    """`path` itself, when it is a bare git repository."""
    try:
        out = Git(path).run("rev-parse", "--is-bare-repository").decode().strip()
    except GitMissingError:
        raise
    except ScmError:
        return None
    return path if out == "true" else None


def local_source(path: Path, label: str) -> Source:
    """The git repository at or around local folder `path` (`label`: as the user gave it)."""
    real = Path(os.path.realpath(path))
    bare = bare_git_dir(real)
    if bare is not None:
        return Source(Git(bare), None, bare)
    root = find_git_root(real)
    if root is None:
        raise ScmError(f"'{label}' is not inside a git repository")
    return Source(Git(root), root, root)


def config_at(src: Source, rev: str, folder: Path) -> Config:
    """The source's dvlite config as committed at `rev` (written to `folder`, which
    `Config` reads it from), with this machine's `config.local` of a local repository."""
    return config_with(src, write_config_at(src, rev, folder))


def write_config_at(src: Source, rev: str, folder: Path) -> Path:
    """Write the source's committed dvlite config at `rev` into `folder`; its path."""
    blobs = src.git.files_at(rev, suffixes=(), names=(CONFIG_PATH,))
    shared = folder / "config"
    shared.write_bytes(blobs.get(CONFIG_PATH, b""))
    return shared


def config_with(src: Source, shared: Path) -> Config:
    """The config of `shared` (a committed config written out) and, for a local
    repository, its `config.local`."""
    local = src.root / LOCAL_CONFIG_PATH if src.root else shared.with_name("none")
    return Config(shared, local)


def workspace_config(root: Path) -> Config:
    return Config(root / CONFIG_PATH, root / LOCAL_CONFIG_PATH)


def cache_dir(src: Source, config: Config) -> Path | None:
    """The cache of a local repository: `DVLITE_CACHE_DIR`, `cache.dir` of its
    config.local (a committed one is never followed), else `.dvlite/cache`."""
    if src.root is None:
        return None
    configured = os.environ.get("DVLITE_CACHE_DIR") or config.cache.local_dir
    if configured:
        return src.root / os.path.expanduser(configured)
    return src.root / ".dvlite" / "cache"


def outputs_in(texts: Mapping[str, bytes], where: str) -> Iterator[tuple[str, Pointer]]:
    """(path, pointer) of every tracked output that the pointer and pipeline files among
    `texts` ({git path: bytes}) describe: `.dvl` files, then the cached stage outputs of
    `dvlite.lock` files. A pointer that does not parse is skipped: at a past revision it
    is just a file."""
    for gpath, data in sorted(texts.items()):
        if is_pipeline_file(gpath):
            continue
        try:
            pointer = Pointer.from_bytes(data, f"{gpath} at {where}")
        except FormatError:
            continue
        yield posixpath.normpath(posixpath.join(posixpath.dirname(gpath), pointer.path)), \
            pointer
    pipeline = {p: d for p, d in texts.items() if is_pipeline_file(p)}
    yield from ((s.rel, s.pointer) for s in stage_outs(pipeline, strict=False) if s.cached)


def outputs_at(src: Source, rev: str) -> Iterator[tuple[str, Pointer]]:
    """The tracked outputs at commit `rev`, read from git (the lock files are parsed only
    when the pointers are used up)."""
    return outputs_in(src.git.files_at(rev, names=PIPELINE_NAMES), rev)


def workspace_outputs(root: Path, git: Git) -> Iterator[tuple[str, Pointer]]:
    """The tracked outputs the working tree's pointer and pipeline files describe (those
    git tracks, and untracked ones it does not ignore)."""
    names = git.ls_files([f"*{POINTER_SUFFIX}", *PIPELINE_NAMES,
                          *(f"*/{n}" for n in PIPELINE_NAMES)])
    texts = {}
    for name in names:
        limit = MAX_PIPELINE_BYTES if is_pipeline_file(name) else MAX_POINTER_BYTES
        data = _read_regular(root / name, limit)
        if data is not None:
            texts[name] = data
    return outputs_in(texts, "the workspace")


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file (not through a symlink), None when there is none or
    it is over `limit` bytes (then it is no pointer)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None  # deleted but still in git's index, or a link
    try:
        data = os.read(fd, limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= limit else None


def find_output(outputs: Iterable[tuple[str, Pointer]], path: str,
                rev: str) -> tuple[str, Pointer, str | None]:
    """The output holding `path`: (output path, pointer, path inside a folder)."""
    want = posixpath.normpath(path.strip("/"))
    if want.endswith(POINTER_SUFFIX):
        want = want[: -len(POINTER_SUFFIX)]
    for rel, pointer in outputs:
        if want == rel:
            return rel, pointer, None
        if pointer.is_dir and want.startswith(rel + "/"):
            return rel, pointer, want[len(rel) + 1:]
    raise UsageError(f"'{path}' is not tracked by dvlite at {rev}")
