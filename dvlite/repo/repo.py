"""`Repo`: a thin holder of a repository's root, config, cache, state, scm and lock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from dvlite.config import LAYOUT_VERSION, Config
from dvlite.errors import ConfigError, NotARepoError
from dvlite.repo import shared_cache
from dvlite.scm import Git, find_git_root
from dvlite.storage.links import Linker, parse_link_types
from dvlite.storage.lock import repo_lock
from dvlite.storage.odb import LocalStore
from dvlite.storage.state import StateDB

DVLITE_DIR = ".dvlite"


def find_root(start: Path) -> Path:
    start = Path(os.path.realpath(start))
    for candidate in (start, *start.parents):
        if (candidate / DVLITE_DIR).is_dir():
            return candidate
    raise NotARepoError(
        f"not a dvlite repository (or any parent up to /): {start}", hint="run `dvlite init`"
    )


@dataclass
class Repo:
    root: Path
    config: Config = field(init=False)

    def __post_init__(self) -> None:
        self.root = Path(os.path.realpath(self.root))
        self.config = Config(self.dvlite_dir / "config", self.dvlite_dir / "config.local")

    @classmethod
    def find(cls, start: Path | None = None) -> Repo:
        return cls(find_root(start or Path.cwd()))

    @property
    def dvlite_dir(self) -> Path:
        return self.root / DVLITE_DIR

    @cached_property
    def cache(self) -> LocalStore:
        layout = self.config.get("core.layout")
        if layout != LAYOUT_VERSION:  # a later dvlite's layout: never read it as ours
            raise ConfigError(
                f"this repository's cache uses layout version {layout}; this dvlite reads "
                f"version {LAYOUT_VERSION} (core.layout in .dvlite/config)",
                hint="upgrade dvlite, or migrate the repository")
        configured = os.environ.get("DVLITE_CACHE_DIR") or self.config.get("cache.dir")
        cache_dir = self.root / configured if configured else self.dvlite_dir / "cache"
        if configured:  # maybe shared: let gc in other repositories know this one needs it
            shared_cache.register(cache_dir, self.root)
        return LocalStore(cache_dir, self.config.algo, fsync=bool(self.config.get("core.fsync")))

    @cached_property
    def state(self) -> StateDB:
        return StateDB(self.dvlite_dir / "state.db")

    @cached_property
    def linker(self) -> Linker:
        return Linker(parse_link_types(str(self.config.get("cache.type"))))

    @cached_property
    def scm(self) -> Git | None:
        if self.config.get("core.no_scm"):
            return None
        git_root = find_git_root(self.root)
        return Git(git_root) if git_root is not None else None

    @contextmanager
    def lock(self, exclusive: bool = True) -> Iterator[None]:
        timeout = float(self.config.get("core.lock_timeout"))
        with repo_lock(self.dvlite_dir / "lock", timeout, exclusive):
            yield

    def rel(self, path: Path) -> str:
        """Repository-relative POSIX path of an absolute path inside the repository."""
        return Path(os.path.relpath(path, self.root)).as_posix()

    def close(self) -> None:
        if "state" in self.__dict__:
            self.state.close()
