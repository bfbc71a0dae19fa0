"""The files of a repository as one tree: the plain files git holds, and the data dvlite
tracks (files, folders and the files inside them) where their pointers put it.

A tracked output hides a git file at its own path or below it (the data is what the
path means), and an output inside another output is ignored (the outer one was added
first). A tracked folder's files are listed from its manifest, read the first time a
path inside it is asked for. Symlinks and submodules are left out: their bytes are not
the repository's to serve. Thread-safe.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.core.pointer import Pointer
from dvlite.scm import Git

FILE = "file"
DIRECTORY = "directory"
_REGULAR_MODES = {b"100644": False, b"100755": True}  # git mode -> executable


@dataclass(frozen=True, slots=True)
class Node:
    """One path of the tree. `oid`: the dvlite object of tracked data (a tracked folder's
    manifest); `blob`: the git blob of a plain file at a commit (None in a working tree);
    `tracked`: the bytes are dvlite's data, not git's."""

    path: str  # relative to the repository root, POSIX; "" is the root
    type: str  # FILE or DIRECTORY
    size: int  # a file's bytes; a tracked folder's total; 0 for other folders
    oid: Oid | None = None
    blob: str | None = None
    isexec: bool = False
    tracked: bool = False

    @property
    def is_dir(self) -> bool:
        return self.type == DIRECTORY

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _ancestors(path: str) -> Iterator[str]:
    """The proper ancestors of `path`, top first ("" excluded)."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        yield "/".join(parts[:i])


def git_files(git: Git, commit: str) -> list[Node]:
    """The regular files of `commit`, with their blob ids and sizes."""
    listing = git.run("ls-tree", "-r", "-l", "-z", "--full-tree", commit)
    found = []
    for record in listing.split(b"\0"):
        meta, _, raw = record.partition(b"\t")
        parts = meta.split()
        if len(parts) != 4 or parts[0] not in _REGULAR_MODES:
            continue  # links, submodules
        path = raw.decode("utf-8", "surrogateescape")
        found.append(Node(path, FILE, int(parts[3]), blob=parts[2].decode(),
                          isexec=_REGULAR_MODES[parts[0]]))
    return found


def workspace_files(root: Path, git: Git) -> list[Node]:
    """The regular files of a working tree that git tracks or would (not ignored)."""
    found = []
    for path in git.ls_files([]):
        try:
            st = os.lstat(root / path)
        except OSError:
            continue  # deleted but still in git's index
        if stat.S_ISREG(st.st_mode):
            found.append(Node(path, FILE, st.st_size, isexec=bool(st.st_mode & stat.S_IXUSR)))
    return found


class Tree:
    """Plain `files` and tracked `outputs` ((path, pointer) pairs) as one tree;
    `manifest` reads a folder's manifest by its id."""

    def __init__(self, files: Iterable[Node], outputs: Iterable[tuple[str, Pointer]],
                 manifest: Callable[[Oid], Manifest]) -> None:
        self._manifest = manifest
        self._nodes: dict[str, Node] = {"": Node("", DIRECTORY, 0)}
        self._children: dict[str, dict[str, Node]] = {"": {}}
        self._outputs: set[str] = set()
        self._pending: dict[str, Oid] = {}  # tracked folders whose manifest is unread
        self._lock = threading.Lock()
        for rel, pointer in sorted(outputs, key=lambda o: o[0]):
            if rel in self._outputs or any(a in self._outputs for a in _ancestors(rel)):
                continue
            kind = DIRECTORY if pointer.is_dir else FILE
            # the folders above an output are plain ones (git's), not dvlite's data
            if self._add(Node(rel, kind, pointer.size, pointer.oid, tracked=True), False):
                self._outputs.add(rel)
                if pointer.is_dir:
                    self._pending[rel] = pointer.oid
        for node in files:
            if node.path not in self._outputs and \
                    not any(a in self._outputs for a in _ancestors(node.path)):
                self._add(node, False)

    def _add(self, node: Node, tracked: bool) -> bool:
        """Add `node` and the folders above it (False: a file is in the way)."""
        if node.path in self._nodes:
            return False
        for folder in _ancestors(node.path):
            found = self._nodes.get(folder)
            if found is None:
                self._link(Node(folder, DIRECTORY, 0, tracked=tracked))
            elif not found.is_dir:
                return False
        self._link(node)
        return True

    def _link(self, node: Node) -> None:
        self._nodes[node.path] = node
        self._children[_parent(node.path)][node.name] = node
        if node.is_dir:
            self._children[node.path] = {}

    def _expand(self, folder: str) -> None:
        """List the files of tracked folder `folder` from its manifest (once)."""
        with self._lock:
            oid = self._pending.get(folder)
            if oid is None:
                return  # another thread did it
            for e in self._manifest(oid):
                self._add(Node(f"{folder}/{e.relpath}", FILE, e.size, e.oid,
                               isexec=e.isexec, tracked=True), True)
            del self._pending[folder]

    def _pending_above(self, path: str) -> str | None:
        if not self._pending:
            return None
        if path in self._pending:
            return path
        return next((a for a in _ancestors(path) if a in self._pending), None)

    def info(self, path: str) -> Node:
        """The node at `path` (FileNotFoundError: none)."""
        node = self._nodes.get(path)
        if node is None:
            folder = self._pending_above(path)
            if folder is not None:
                self._expand(folder)
                node = self._nodes.get(path)
        if node is None:
            raise FileNotFoundError(errno.ENOENT, "no such file or folder in the repository",
                                    path)
        return node

    def listdir(self, path: str) -> list[Node]:
        """The nodes directly in folder `path`, by name."""
        node = self.info(path)
        if not node.is_dir:
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", path)
        if path in self._pending:
            self._expand(path)
        return sorted(self._children[path].values(), key=lambda n: n.name)

    def files_under(self, path: str) -> list[Node]:
        """Every file at or below `path`, by path (every manifest below it read)."""
        node = self.info(path)
        if not node.is_dir:
            return [node]
        prefix = f"{path}/" if path else ""
        for folder in [f for f in list(self._pending) if f.startswith(prefix)]:
            self._expand(folder)
        with self._lock:  # no expansion running while the nodes are read
            return sorted((n for p, n in self._nodes.items()
                           if p.startswith(prefix) and p and not n.is_dir),
                          key=lambda n: n.path)
