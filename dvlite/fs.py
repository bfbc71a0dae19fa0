"""`dvlite://`: a repository's files at a revision as a read-only fsspec filesystem.

Registered through fsspec's entry point (`fsspec.specs`), so fsspec, pandas, pyarrow and
dask find it without importing dvlite::

    fsspec.open("dvlite://data/train.csv", repo="/src/proj", rev="v1.2")
    pd.read_csv("dvlite://data/train.csv", storage_options={"repo": URL, "rev": "main"})

Storage options: `repo` (a local path or a git URL; default: the repository around the
current folder), `rev` (any git revision; default: the workspace of a local repository,
HEAD otherwise) and `remote` (the remote of that repository to read data from; default:
its default remote). Paths are relative to the repository's root (`dvlite://a/b` and
`/a/b` are both `a/b`); one with a `.` or `..` component names nothing.

The tree holds git's plain files at the revision and the tracked data (files, folders and
the files inside them). An entry's `hash` is the dvlite object id of tracked data (for a
tracked folder, its manifest's) and None for git's files, whose blob id is `blob`.

Where bytes come from, and what is verified (see `dvlite.workspace.objects`):

- a tracked object in the repository's cache or the per-user object cache is read there;
- otherwise a whole read (`cat_file` without a range, `get_file`, and `open` of an object
  up to 1 MiB, which may sit in a pack) first downloads it into the per-user object
  cache, hashed before it is stored;
- `open` of a bigger object in no cache reads ranges of its copy on the remote (nothing
  read whole, memory bounded by the block size). Read from start to end in order, the
  bytes are hashed on the way: the last read raises `IntegrityError` if they are not the
  object, and an intact object is then stored in the object cache; other reads (seeks,
  ranges) are not verified and store nothing. `cat_file` with a range reads the same way.
- whole reads from a cache (`cat_file`, `get_file`) hash the bytes too.

Errors: `FileNotFoundError` for a path not in the tree, `IsADirectoryError` /
`NotADirectoryError`, `PermissionError` for anything that would write; otherwise
`dvlite.errors` types (`IntegrityError` for bytes that are not the object).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from dvlite.errors import (
    ConfigError,
    IntegrityError,
    MissingObjectsError,
    RemoteError,
    storage_error,
)
from dvlite.storage.atomic import temp_path_for
from dvlite.storage.transfer import Item
from dvlite.workspace.objects import WHOLE_MAX
from dvlite.workspace.objfile import ObjectFile, VerifiedCopy, short_read
from dvlite.workspace.tree import Node
from dvlite.workspace.view import View, open_sized, open_view

READ_ONLY = "the dvlite:// filesystem is read-only"
# what can go wrong getting a tracked file's bytes; all take (msg, hint)
_NAMED = (ConfigError, IntegrityError, MissingObjectsError, RemoteError)


def _refuse(path: object) -> PermissionError:
    return PermissionError(errno.EROFS, READ_ONLY, str(path))


def _refusal(what: str) -> Callable[..., NoReturn]:
    """A method of fsspec's that would write: refused, whatever its arguments."""

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:  # noqa: ARG001 - fsspec's signatures
        raise PermissionError(errno.EROFS, f"{READ_ONLY}: {what} is refused")

    return refuse


class DvliteFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """A repository's files at a revision (see the module's docstring)."""

    protocol = "dvlite"
    root_marker = ""
    cachable = False  # a branch moves and a workspace changes: each instance looks anew

    def __init__(self, repo: str | os.PathLike[str] | None = None, rev: str | None = None,
                 remote: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view: View = open_view(repo, rev, remote)

    def __reduce__(self) -> tuple[Any, ...]:
        # a copy (a dask worker's, in another folder) reads the repository and the commit
        # this one resolved, not the one around its own folder or a branch that moved
        options = {**self.storage_options, "repo": self.view.repo}
        if self.view.commit is not None:
            options["rev"] = self.view.commit
        reduced: tuple[Any, ...] = super().__reduce__()
        return (reduced[0], (type(self), self.storage_args, options))

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = str(os.fspath(path))
        for prefix in ("dvlite://", "dvlite::"):
            text = text.removeprefix(prefix)
        text = text.strip("/")
        while text.startswith("./"):
            text = text[2:].lstrip("/")
        return "" if text == "." else text

    # -- reading the tree -------------------------------------------------------------

    def _node(self, path: Any) -> Node:
        rel = self._strip_protocol(path)
        parts = rel.split("/") if rel else []
        if any(p in ("", ".", "..") for p in parts) or "\0" in rel:
            raise FileNotFoundError(errno.ENOENT, "not a path in the repository", rel)
        try:
            return self.view.tree.info(rel)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"not in {self.view.label}", rel) from None
        except _NAMED as exc:  # the manifest of a tracked folder could not be read
            raise type(exc)(f"looking up '{rel}' in {self.view.label}: {exc.msg}",
                            hint=exc.hint) from exc

    @contextmanager
    def _reading(self, node: Node) -> Iterator[None]:
        """Errors getting a tracked file's bytes name the file and where it was read."""
        try:
            yield
        except _NAMED as exc:
            raise type(exc)(f"reading '{node.path}' of {self.view.label}: {exc.msg}",
                            hint=exc.hint) from exc

    @staticmethod
    def _entry(node: Node) -> dict[str, Any]:
        return {"name": node.path, "size": node.size, "type": node.type,
                "hash": str(node.oid) if node.oid else None, "tracked": node.tracked,
                "isexec": node.isexec, "blob": node.blob}

    def info(self, path: Any, **kwargs: Any) -> dict[str, Any]:  # noqa: ARG002 - fsspec's
        return self._entry(self._node(path))

    def ls(self, path: Any, detail: bool = True, **kwargs: Any) -> list[Any]:  # noqa: ARG002 - fsspec's
        node = self._node(path)
        try:
            nodes = self.view.tree.listdir(node.path) if node.is_dir else [node]
        except _NAMED as exc:
            raise type(exc)(f"listing '{node.path}' of {self.view.label}: {exc.msg}",
                            hint=exc.hint) from exc
        entries = [self._entry(n) for n in nodes]
        return entries if detail else [e["name"] for e in entries]

    def exists(self, path: Any, **kwargs: Any) -> bool:  # noqa: ARG002 - fsspec's
        try:
            self._node(path)
        except FileNotFoundError:
            return False
        return True

    # -- reading bytes ----------------------------------------------------------------

    def _open(self, path: Any, mode: str = "rb", block_size: int | None = None,
              autocommit: bool = True,  # noqa: ARG002 - fsspec's
              cache_options: dict[str, Any] | None = None,
              **kwargs: Any) -> BinaryIO | AbstractBufferedFile:
        if mode != "rb":
            raise _refuse(path)
        node = self._file(path)
        if not node.tracked:
            return self.view.open_plain(node)
        with self._reading(node):
            local = self._local(node)
            if local is not None:
                return open_sized(local)
            return ObjectFile(self, node, self.view.objects, block_size, cache_options,
                              cache_type=kwargs.get("cache_type", "readahead"))

    def _local(self, node: Node) -> Path | None:
        """The cached file of a tracked object, if any; an object small enough to sit in
        a pack (no ranges of it to read alone) is downloaded first."""
        assert node.oid is not None
        local = self.view.objects.cached(node.oid)
        if local is None and node.size <= WHOLE_MAX:
            local = self.view.objects.ensure(node.oid, node.size)
        return local

    def _file(self, path: Any) -> Node:
        node = self._node(path)
        if node.is_dir:
            raise IsADirectoryError(errno.EISDIR, "a folder, not a file", node.path)
        return node

    def cat_file(self, path: Any, start: int | None = None, end: int | None = None,
                 **kwargs: Any) -> bytes:  # noqa: ARG002 - fsspec's
        node = self._file(path)
        lo, hi = _bounds(start, end, node.size)
        if not node.tracked:
            return self.view.read_plain(node, lo, hi)
        with self._reading(node):
            if (lo, hi) == (0, node.size):
                with self._verified(node) as f:
                    return f.read()
            local = self._local(node)
            if local is not None:
                with open(local, "rb") as f:
                    return os.pread(f.fileno(), hi - lo, lo)
            assert node.oid is not None
            data = self.view.objects.read_range(node.oid, lo, hi)
            if len(data) != hi - lo:
                raise short_read(self.view.objects, node)
            return data

    def _verified(self, node: Node) -> VerifiedCopy:
        """The whole of a tracked object, hashed as it is read."""
        assert node.oid is not None
        objects = self.view.objects
        local = objects.cached(node.oid)
        fresh = local is None  # a download was hashed on its way in
        path = local or objects.ensure(node.oid, node.size)
        return VerifiedCopy(path, node, check=not fresh)

    def get(self, rpath: Any, lpath: Any, recursive: bool = False,
            callback: Callback = DEFAULT_CALLBACK, maxdepth: int | None = None,
            **kwargs: Any) -> None:
        """fsspec's `get`, with every object it needs downloaded first in one batch (a
        range of a pack for many small files, several objects at once)."""
        if not isinstance(rpath, list) or not isinstance(lpath, list):
            paths = self.expand_path(rpath, recursive=recursive, maxdepth=maxdepth)
        else:
            paths = rpath
        nodes = [n for n in map(self._node, paths) if n.tracked and not n.is_dir]
        self.view.objects.ensure_many([Item(n.oid, n.size, n.path) for n in nodes
                                       if n.oid is not None])
        super().get(rpath, lpath, recursive=recursive, callback=callback,
                    maxdepth=maxdepth, **kwargs)

    def get_file(self, rpath: Any, lpath: Any, callback: Callback = DEFAULT_CALLBACK,
                 outfile: Any = None, **kwargs: Any) -> None:  # noqa: ARG002 - fsspec's
        node = self._node(rpath)
        if node.is_dir and outfile is None:
            os.makedirs(lpath, exist_ok=True)
            return
        if node.is_dir:
            raise IsADirectoryError(errno.EISDIR, "a folder, not a file", node.path)
        callback.set_size(node.size)
        if outfile is not None:
            self._copy(node, outfile, callback)
            return
        target = Path(os.fspath(lpath))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path_for(target)
        try:
            with open(tmp, "wb") as out:
                self._copy(node, out, callback)
            os.replace(tmp, target)  # appears whole, verified, or not at all
        except OSError as exc:
            raise storage_error(exc, f"writing {target}") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def _copy(self, node: Node, out: Any, callback: Callback) -> None:
        with self._reading(node):
            source = self._verified(node) if node.tracked else self.view.open_plain(node)
            with source as f:
                while chunk := f.read(1 << 20):
                    out.write(chunk)
                    callback.relative_update(len(chunk))

    # -- refused: the filesystem is read-only -----------------------------------------

    mkdir = _refusal("making a folder")
    makedirs = _refusal("making a folder")
    touch = _refusal("making a file")
    rmdir = rm_file = _rm = rm = _refusal("deleting")
    cp_file = copy = mv = _refusal("copying or moving files into it")
    put_file = put = pipe_file = pipe = _refusal("writing")


def _bounds(start: int | None, end: int | None, size: int) -> tuple[int, int]:
    """[start, end) of a `size`-byte file, negatives counting from the end (fsspec's)."""
    lo = 0 if start is None else start if start >= 0 else max(0, size + start)
    hi = size if end is None else end if end >= 0 else size + end
    lo, hi = min(lo, size), min(hi, size)
    return lo, max(lo, hi)


__all__ = ["DvliteFileSystem"]
