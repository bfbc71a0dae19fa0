"""A repository opened for reading at a revision: its tree, where its objects come from,
and the bytes of its plain git files. What the Python API and the `dvlite://`
filesystem read through.

`repo` is a local path (the repository around it, read in place) or a git URL (one
commit fetched, see `git_url`); None is the repository around the current folder.
`rev` None means the workspace of a local repository with a working tree (tracked data
as the pointers in the working tree say, plain files as they are in it), and HEAD
otherwise (a bare repository; a URL's default branch).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dvlite.core.pointer import Pointer
from dvlite.errors import GitMissingError, NotARepoError, ScmError, storage_error
from dvlite.workspace import git_url
from dvlite.workspace.objects import SourceObjects, user_cache_dir
from dvlite.workspace.source import (
    Source,
    cache_dir,
    config_with,
    local_source,
    outputs_at,
    workspace_config,
    workspace_outputs,
    write_config_at,
)
from dvlite.workspace.tree import Node, Tree, git_files, workspace_files

SMALL_BLOB = 8 << 20  # git files up to this size are read into memory, bigger ones spool
_CHUNK = 1 << 20
_SNAPSHOTS_KEPT = 32
_snapshots: OrderedDict[tuple[str, str], _Snapshot] = OrderedDict()
_snapshots_lock = threading.Lock()


class SizedFile(io.BufferedReader):
    """A local file opened for reading that knows its size, as fsspec's files do."""

    def __init__(self, fd: int, size: int) -> None:
        super().__init__(io.FileIO(fd, "rb", closefd=True))
        self.size = size

    def __del__(self) -> None:
        # Dropped unclosed, it closes quietly, as fsspec's own files do: pyarrow's dataset
        # and Parquet readers never close the files they open through fsspec.
        self.close()


class SizedBytes(io.BytesIO):
    """Bytes in memory as a file that knows its size."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.size = len(data)


def open_sized(path: Path) -> SizedFile:
    """`path` (a regular file, not through a link) opened for reading."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise FileNotFoundError(2, "no such file", str(path)) from None
    except OSError as exc:
        raise storage_error(exc, f"reading {path}") from exc
    try:
        return SizedFile(fd, os.fstat(fd).st_size)
    except BaseException:
        os.close(fd)
        raise


@dataclass(frozen=True, slots=True)
class View:
    source: Source
    commit: str | None  # None: the working tree of a local repository
    tree: Tree
    objects: SourceObjects
    label: str  # the repository and revision, for messages
    repo: str  # the repository as another process can open it: a URL, or its local root

    def open_plain(self, node: Node) -> BinaryIO:
        """A plain (git's) file, seekable."""
        if self.commit is None:
            return open_sized(self._workspace_path(node))
        assert node.blob is not None
        if node.size <= SMALL_BLOB:
            return SizedBytes(self._blob(node.blob))
        fd, name = tempfile.mkstemp(prefix="dvlite-blob-")
        os.unlink(name)  # gone with the file object; nothing left if killed
        try:
            with _cat(self.source, node.blob) as proc, open(fd, "wb", closefd=False) as out:
                assert proc.stdout is not None
                shutil.copyfileobj(proc.stdout, out, _CHUNK)
            _check_exit(proc, node.blob)
            os.lseek(fd, 0, os.SEEK_SET)
            spool = SizedFile(fd, node.size)
        except BaseException:
            os.close(fd)
            raise
        return spool

    def read_plain(self, node: Node, start: int, end: int) -> bytes:
        """Bytes [start, end) of a plain file (0 <= start <= end <= size)."""
        if self.commit is None:
            with open_sized(self._workspace_path(node)) as f:
                return os.pread(f.fileno(), end - start, start)
        assert node.blob is not None
        if node.size <= SMALL_BLOB:
            return self._blob(node.blob)[start:end]
        with _cat(self.source, node.blob) as proc:  # git reads no ranges: skip to start
            assert proc.stdout is not None
            skip = start
            while skip and (chunk := proc.stdout.read(min(skip, _CHUNK))):
                skip -= len(chunk)
            data = proc.stdout.read(end - start)
            proc.kill()
        return data

    def _blob(self, sha: str) -> bytes:
        return self.source.git.run("cat-file", "blob", sha)

    def _workspace_path(self, node: Node) -> Path:
        assert self.source.root is not None
        return self.source.root / node.path


def _cat(src: Source, sha: str) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(["git", "cat-file", "blob", sha], cwd=src.git.root,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise GitMissingError from exc


def _check_exit(proc: subprocess.Popen[bytes], sha: str) -> None:
    if proc.returncode != 0:
        raise ScmError(f"git cat-file failed for blob {sha}")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What a commit holds, read once per process (a commit never changes)."""

    files: tuple[Node, ...]
    outputs: tuple[tuple[str, Pointer], ...]
    config: Path  # the committed config, written out in this process's work folder


def _at_commit(src: Source, commit: str) -> _Snapshot:
    key = (str(src.git.root), commit)
    with _snapshots_lock:
        if key in _snapshots:
            _snapshots.move_to_end(key)
            return _snapshots[key]
    folder = git_url.scratch()
    snap = _Snapshot(tuple(git_files(src.git, commit)), tuple(outputs_at(src, commit)),
                     write_config_at(src, commit, folder))
    with _snapshots_lock:
        _snapshots[key] = snap
        while len(_snapshots) > _SNAPSHOTS_KEPT:
            _, old = _snapshots.popitem(last=False)
            shutil.rmtree(old.config.parent, ignore_errors=True)  # read already
    return snap


def open_view(repo: str | os.PathLike[str] | None, rev: str | None, remote: str | None,
              cwd: Path | None = None) -> View:
    """Open `repo` at `rev` for reading (see the module's docstring); `remote` names the
    remote objects come from (None: the repository's default)."""
    where = "the current folder" if repo is None else os.fspath(repo)
    src, commit = _resolve(repo, rev, cwd or Path.cwd(), where)
    url = repo is not None and git_url.is_url(os.fspath(repo))
    again = os.fspath(repo) if url and repo is not None else str(src.root or src.git.root)
    outputs: Iterable[tuple[str, Pointer]]
    files: Iterable[Node]
    if commit is None:
        assert src.root is not None
        config = workspace_config(src.root)
        outputs = workspace_outputs(src.root, src.git)
        files = workspace_files(src.root, src.git)
    else:
        snap = _at_commit(src, commit)
        config = config_with(src, snap.config)
        outputs, files = snap.outputs, snap.files
    if remote is not None:
        config.remote(remote)  # an unknown name fails now, not at the first missing object
    objects = SourceObjects(config, src.base, user_cache_dir(), cache_dir(src, config), remote)
    tree = Tree(files, outputs, objects.manifest)
    label = f"'{where}' at {rev or ('the workspace' if commit is None else 'HEAD')}"
    return View(src, commit, tree, objects, label, again)


def _resolve(repo: str | os.PathLike[str] | None, rev: str | None, cwd: Path,
             where: str) -> tuple[Source, str | None]:
    """The source and the commit to read (None: the working tree)."""
    if repo is not None and git_url.is_url(os.fspath(repo)):
        return git_url.fetch(os.fspath(repo), rev)
    path = cwd / os.fspath(repo) if repo is not None else cwd
    if not path.exists():
        raise NotARepoError(f"'{where}' is neither a folder nor a git URL")
    src = local_source(path, where)
    if rev is None and src.root is not None:
        return src, None
    return src, src.git.resolve(rev or "HEAD")
