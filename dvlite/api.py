"""The Python API: read a repository's files, tracked data and git's own, at any revision.

::

    import dvlite.api
    with dvlite.api.open("data/train.csv", repo="https://git.example.com/proj.git",
                         rev="v1.2", mode="r") as f:
        header = f.readline()
    model = dvlite.api.read("models/model.pkl", repo=".", rev="main")
    for entry in dvlite.api.ls("data", recursive=True):
        print(entry.name, entry.size, entry.hash)

Arguments every function takes:

- `path`: relative to the repository's root (not to the current folder); a file inside
  a tracked folder is a path like any other.
- `repo`: a local path (the git repository around it, read in place, never written to)
  or a git URL (`https://`, `ssh://`, `git@host:path`, `file://`). A URL is never cloned:
  one `git ls-remote` resolves `rev`, and that one commit is fetched (`--depth 1`) into a
  temporary bare repository kept for the life of the process. Default: the repository
  around the current folder.
- `rev`: any git revision (branch, tag, commit, experiment name). Default (None), as
  `dvc.api` does: for a local repository with a working tree, the *workspace*, that is
  tracked data as the pointers in the working tree say and plain files as they are in
  it (committed or not); for a bare repository or a URL, HEAD (the default branch).
- `remote`: the name of one of that repository's remotes to read data from (default:
  its default remote).

Bytes come from the repository's cache, else the per-user object cache
(`DVLITE_CACHE_DIR`, else `$XDG_CACHE_HOME/dvlite/objects`, else `~/.cache/dvlite/
objects`), else the remote, downloaded into the per-user cache and hashed before it is
stored. `read` verifies what it returns; see `dvlite.fs` for `open`'s ranged reads.
Errors: `FileNotFoundError`, `IsADirectoryError`, `PermissionError` (a write mode),
otherwise `dvlite.errors` types (`IntegrityError` for bytes that are not the object).
Nothing is ever printed.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, Literal, overload

from dvlite.errors import UsageError
from dvlite.fs import DvliteFileSystem

__all__ = ["Entry", "ls", "open", "read"]

Repo = str | os.PathLike[str] | None
_BINARY = ("rb", "br")
_TEXT = ("r", "rt", "tr")


@dataclass(frozen=True, slots=True)
class Entry:
    """One file or folder of `ls`."""

    name: str  # its path from the repository's root
    type: str  # "file" or "directory"
    size: int  # bytes (a tracked folder: the total of its files; other folders: 0)
    # The dvlite object id ("xxh128:<hex>") of tracked data (a tracked folder: the id of
    # its manifest); None for git's own files and for the folders inside tracked folders.
    hash: str | None
    tracked: bool  # dvlite's data, not a file git holds

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> Entry:
        return cls(info["name"], info["type"], info["size"], info["hash"], info["tracked"])


def _mode(mode: str) -> bool:
    """Whether `mode` is text; anything but reading is refused."""
    if mode in _BINARY or mode in _TEXT:
        return mode in _TEXT
    if set(mode) & set("wax+"):
        raise PermissionError(f"dvlite.api reads only: mode {mode!r} would write")
    raise UsageError(f"invalid mode {mode!r}: use 'rb' (bytes) or 'r' (text)")


@overload
def open(path: str, repo: Repo = None, rev: str | None = None, remote: str | None = None,
         mode: Literal["rb", "br"] = "rb", encoding: None = None) -> BinaryIO: ...


@overload
def open(path: str, repo: Repo = None, rev: str | None = None, remote: str | None = None,
         *, mode: Literal["r", "rt", "tr"], encoding: str | None = None) -> io.TextIOWrapper:
    ...


@overload
def open(path: str, repo: Repo = None, rev: str | None = None, remote: str | None = None,
         mode: str = "rb", encoding: str | None = None) -> IO[Any]: ...


def open(  # noqa: PLR0917 - dvc.api.open's signature, as users know it
        path: str, repo: Repo = None, rev: str | None = None, remote: str | None = None,
        mode: str = "rb", encoding: str | None = None) -> IO[Any]:
    """Open `path` of `repo` at `rev` for reading: a seekable file object (a context
    manager) of bytes (`mode="rb"`) or of text (`mode="r"`, `encoding` default UTF-8,
    whatever the locale, with universal newlines)."""
    text = _mode(mode)
    f = DvliteFileSystem(repo=repo, rev=rev, remote=remote).open(path, "rb")
    if text:
        return io.TextIOWrapper(f, encoding=encoding or "utf-8")
    return f  # type: ignore[no-any-return]


@overload
def read(path: str, repo: Repo = None, rev: str | None = None, remote: str | None = None,
         mode: Literal["rb", "br"] = "rb", encoding: None = None) -> bytes: ...


@overload
def read(path: str, repo: Repo = None, rev: str | None = None, remote: str | None = None,
         *, mode: Literal["r", "rt", "tr"], encoding: str | None = None) -> str: ...


@overload
def read(path: str, repo: Repo = None, rev: str | None = None, remote: str | None = None,
         mode: str = "rb", encoding: str | None = None) -> bytes | str: ...


def read(  # noqa: PLR0917 - dvc.api.read's signature, as users know it
        path: str, repo: Repo = None, rev: str | None = None, remote: str | None = None,
        mode: str = "rb", encoding: str | None = None) -> bytes | str:
    """The whole content of `path` of `repo` at `rev`: bytes, or with `mode="r"` text
    (decoded like `open`'s). Tracked data is hashed before it is returned."""
    text = _mode(mode)
    data: bytes = DvliteFileSystem(repo=repo, rev=rev, remote=remote).cat_file(path)
    if text:
        with io.TextIOWrapper(io.BytesIO(data), encoding=encoding or "utf-8") as f:
            return f.read()
    return data


def ls(path: str = ".", repo: Repo = None, rev: str | None = None,
       recursive: bool = False) -> list[Entry]:
    """The entries of folder `path` (the root: "."), by name; with `recursive`, every
    file below it (folders left out), by path. A file's `ls` is that file alone."""
    fs = DvliteFileSystem(repo=repo, rev=rev)
    fs.info(path)  # FileNotFoundError for a path that is not there (find says nothing)
    if recursive:
        found = fs.find(path, detail=True)
        return [Entry.from_info(info) for _, info in sorted(found.items())]
    return [Entry.from_info(info) for info in fs.ls(path, detail=True)]
