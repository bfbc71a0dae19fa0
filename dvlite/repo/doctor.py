"""`dvlite doctor`: the facts a bug report needs: versions, the machine, the repository's
cache and remotes, what the filesystem supports. It changes nothing, and contacts a
remote only when asked (`check_remotes`)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from dvlite import __version__
from dvlite.errors import DvliteError
from dvlite.storage.links import parse_link_types, probe, unprotected
from dvlite.storage.remote.format import REMOTE_LAYOUT
from dvlite.workspace.repo import Repo

# Not declared by dvlite but behind every S3 bug: s3fs's own stack; blake3 is optional.
_INDIRECT = ("aiobotocore", "botocore", "blake3")


@dataclass(frozen=True, slots=True)
class RemoteFacts:
    name: str
    url: str
    default: bool
    layout: int  # what a first push writes: the `layout` option, else the current one
    layout_option: bool  # whether the `layout` option chose it
    checked: str | None = None  # with check_remotes: what the remote itself says

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "url": self.url, "default": self.default,
                "layout": self.layout, "layout_option": self.layout_option,
                "checked": self.checked}


@dataclass(frozen=True, slots=True)
class RepoFacts:
    root: str
    cache_dir: str
    cache_type: str
    hash: str
    links: dict[str, bool]  # link type -> works in the cache folder
    remotes: tuple[RemoteFacts, ...]

    def to_dict(self) -> dict[str, object]:
        return {"root": self.root, "cache_dir": self.cache_dir, "cache_type": self.cache_type,
                "hash": self.hash, "links": self.links,
                "remotes": [r.to_dict() for r in self.remotes]}


@dataclass(frozen=True, slots=True)
class Report:
    dvlite: str
    python: str
    executable: str
    platform: str
    git: str | None
    dependencies: dict[str, str | None]  # None: not installed
    root_user: bool
    repository: RepoFacts | None
    problem: str | None = None  # why there are no repository facts
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        return {"dvlite": self.dvlite, "python": self.python, "executable": self.executable,
                "platform": self.platform, "git": self.git, "dependencies": self.dependencies,
                "root_user": self.root_user,
                "repository": self.repository.to_dict() if self.repository else None,
                "problem": self.problem, "warnings": list(self.warnings)}


def doctor(cwd: Path | None = None, check_remotes: bool = False,
           remote: str | None = None) -> Report:
    """Gather the report; a missing or broken repository is a fact in it, not an error.
    With `check_remotes`, each remote (or only `remote`, which must exist) is asked for
    its format file."""
    facts: RepoFacts | None = None
    problem = None
    warnings: list[str] = []
    if remote is not None:
        Repo.find(cwd).config.remote(remote)  # named a remote: it must be there
    try:
        facts = _repo_facts(Repo.find(cwd), check_remotes, remote, warnings)
    except DvliteError as exc:
        problem = exc.msg
    git = _git_version()
    if git is None:
        warnings.append("git is not on PATH")
    return Report(__version__, f"{platform.python_version()} ({platform.python_implementation()})",
                  sys.executable, platform.platform(), git, _dependencies(),
                  os.geteuid() == 0, facts, problem, tuple(warnings))


def _repo_facts(repo: Repo, check: bool, only: str | None, warnings: list[str]) -> RepoFacts:
    types = parse_link_types(repo.config.cache.type)
    links = probe(_existing(repo.cache.root, repo.root))
    # reflink falls back to a copy by design; a link type was chosen on purpose
    refused = [t for t in types if t in ("hardlink", "symlink") and not links[t]]
    if refused:
        warnings.append(f"cache.type {', '.join(refused)} does not work in the cache "
                        "folder: the next type listed is used")
    shared = unprotected(types)
    if shared:
        warnings.append(f"running as root with cache.type {'/'.join(shared)}: read-only "
                        "permissions do not protect the cache from writes through links")
    default = repo.config.core.remote
    remotes = tuple(
        RemoteFacts(name, cfg.url, name == default,
                    cfg.options.layout or REMOTE_LAYOUT, cfg.options.layout is not None,
                    _check(repo, name) if check and only in (None, name) else None)
        for name, cfg in sorted(repo.config.remotes().items()))
    return RepoFacts(str(repo.root), str(repo.cache.root), ",".join(types), repo.config.core.hash,
                     links, remotes)


def _check(repo: Repo, name: str) -> str:
    """What the remote's format file says, or the one-line error of reaching it."""
    from dvlite.storage.remote.factory import open_remote

    try:
        remote = open_remote(repo.config.remote(name), repo.root, repo.config.core.hash)
        layout = remote.layout
    except DvliteError as exc:
        return f"error: {exc.msg}"
    return "no format file yet (nothing pushed)" if layout is None else f"layout {layout}"


def _existing(folder: Path, stop: Path) -> Path:
    """The cache folder, or its nearest existing parent (a new repository has none)."""
    while not folder.is_dir() and folder not in (stop, folder.parent):
        folder = folder.parent
    return folder


def _git_version() -> str | None:
    try:
        done = subprocess.run(["git", "--version"], capture_output=True, text=True,
                              timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip().removeprefix("git version ")


def _dependencies() -> dict[str, str | None]:
    """The installed version of each package dvlite needs (read from its metadata, so
    nothing is imported)."""
    declared = [r for r in metadata.requires("dvlite") or [] if "extra ==" not in r]
    names = [m.group(0) for r in declared if (m := re.match(r"[A-Za-z0-9_.\-]+", r))]
    found: dict[str, str | None] = {}
    for name in sorted({*names, *_INDIRECT}, key=str.lower):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found
