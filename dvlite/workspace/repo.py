"""`Repo`: a thin holder of a repository's root, config, cache, state, scm and lock."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from dvlite.config import LAYOUT_VERSION, Config
from dvlite.errors import ConfigError, NotARepoError, StorageError, UnsafePathError
from dvlite.scm import Git, find_git_root
from dvlite.storage.links import Linker, parse_link_types
from dvlite.storage.lock import repo_lock
from dvlite.storage.odb import LocalStore
from dvlite.storage.state import StateDB
from dvlite.workspace import shared_cache

DVLITE_DIR = ".dvlite"


def find_root(start: Path) -> Path:
    start = Path(os.path.realpath(start))
    for candidate in (start, *start.parents):
        marker = candidate / DVLITE_DIR
        if marker.is_dir() or marker.is_symlink():  # a linked one is refused, not skipped
            return candidate
    raise NotARepoError(
        f"not a dvlite repository (or any parent up to /): {start}", hint="run `dvlite init`"
    )


def check_own_folder(folder: Path) -> None:
    """Refuse `folder` (`.dvlite`, the cache in it) if it, or anything directly in it, is
    a symlink: git commits links, a `.gitignore` does not stop `git add -f`, and dvlite
    would write its cache, lock or state db wherever a cloned link leads."""
    if folder.is_symlink():
        _refuse_link(folder)
    try:
        with os.scandir(folder) as entries:
            linked = sorted(e.path for e in entries if e.is_symlink())
    except (FileNotFoundError, NotADirectoryError):  # the users of the path report it
        return
    except OSError as exc:
        raise StorageError(f"cannot read {folder}: {exc.strerror}") from exc
    if linked:
        _refuse_link(Path(linked[0]))


def _refuse_link(path: Path) -> None:
    raise UnsafePathError(
        f"{path} is a symlink; dvlite does not follow links in its own folder "
        "(a cloned repository could send its writes anywhere)",
        hint="remove the link; to keep the cache elsewhere, set cache.dir in "
             ".dvlite/config.local")


@dataclass
class Repo:
    root: Path
    config: Config = field(init=False)

    def __post_init__(self) -> None:
        self.root = Path(os.path.realpath(self.root))
        _OPENED[id(self)] = self
        check_own_folder(self.dvlite_dir)
        self.config = Config(self.dvlite_dir / "config", self.dvlite_dir / "config.local",
                             workspace=self.root)

    @classmethod
    def find(cls, start: Path | None = None) -> Repo:
        return cls(find_root(start or Path.cwd()))

    @property
    def dvlite_dir(self) -> Path:
        return self.root / DVLITE_DIR

    @cached_property
    def cache(self) -> LocalStore:
        layout = self.config.core.layout
        if layout != LAYOUT_VERSION:  # a later dvlite's layout: never read it as ours
            raise ConfigError(
                f"this repository's cache uses layout version {layout}; this dvlite reads "
                f"version {LAYOUT_VERSION} (core.layout in .dvlite/config)",
                hint="upgrade dvlite, or migrate the repository")
        # Only this machine chooses a cache elsewhere (env, config.local); the default
        # one is checked for links a clone could have brought.
        configured = os.environ.get("DVLITE_CACHE_DIR") or self.config.cache.dir
        if configured:
            cache_dir = self.root / os.path.expanduser(configured)
            # maybe shared: let gc in other repositories know this one needs it
            shared_cache.register(cache_dir, self.root)
        else:
            cache_dir = self.dvlite_dir / "cache"
            check_own_folder(cache_dir)
            check_own_folder(cache_dir / self.config.core.hash)
        return LocalStore(cache_dir, self.config.core.hash, fsync=self.config.core.fsync)

    @cached_property
    def state(self) -> StateDB:
        return StateDB(self.dvlite_dir / "state.db")

    @cached_property
    def linker(self) -> Linker:
        return Linker(parse_link_types(self.config.cache.type))

    @cached_property
    def scm(self) -> Git | None:
        if self.config.core.no_scm:
            return None
        git_root = find_git_root(self.root)
        return Git(git_root) if git_root is not None else None

    @contextmanager
    def lock(self, exclusive: bool = True) -> Iterator[None]:
        timeout = self.config.core.lock_timeout
        with repo_lock(self.dvlite_dir / "lock", timeout, exclusive):
            yield

    def rel(self, path: Path) -> str:
        """Repository-relative POSIX path of an absolute path inside the repository."""
        return Path(os.path.relpath(path, self.root)).as_posix()

    def close(self) -> None:
        if "state" in self.__dict__:
            self.state.close()


# Every Repo of this process, so that a command's end can close their databases: left to
# the garbage collector, sqlite settles its files (checkpoint, -wal removed) at a moment
# nobody chose, in the middle of a later command or of a caller's own file work.
_OPENED: weakref.WeakValueDictionary[int, Repo] = weakref.WeakValueDictionary()


def close_all() -> None:
    """Close the state db of every repository this process opened."""
    for repo in list(_OPENED.values()):
        repo.close()
