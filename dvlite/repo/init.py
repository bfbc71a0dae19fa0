"""`dvlite init`: create `.dvlite/` with its config and `.gitignore`, and stage them."""

from __future__ import annotations

from pathlib import Path

from dvlite.config import LAYOUT_VERSION
from dvlite.errors import NotARepoError
from dvlite.scm import Git, find_git_root
from dvlite.storage.atomic import atomic_write
from dvlite.workspace.repo import DVLITE_DIR

GITIGNORE = "/*\n!/config\n!/.gitignore\n"
CONFIG = f"""# dvlite configuration (shared through git). Machine-local settings and
# credentials belong in config.local, which git ignores.
[core]
layout = {LAYOUT_VERSION}
hash = "xxh128"
"""


def enclosing_repo(root: Path) -> Path | None:
    """The dvlite repository `root` is already part of: itself or a parent, not looking
    past the git repository's own root (a nested git repo is a separate project)."""
    git_root = find_git_root(root)
    for candidate in (root, *root.parents):
        if (candidate / DVLITE_DIR).is_dir():
            return candidate
        if candidate == git_root:
            break
    return None


def init(root: Path, no_scm: bool = False) -> bool:
    """Initialise dvlite in `root`; returns False if `root` already is inside a dvlite
    repository (nothing changed)."""
    if enclosing_repo(root) is not None:
        return False
    dvlite_dir = root / DVLITE_DIR
    git_root = find_git_root(root)
    if git_root is None and not no_scm:
        raise NotARepoError(
            f"{root} is not inside a git repository",
            hint="run `git init` first, or `dvlite init --no-scm` to use dvlite without git",
        )
    dvlite_dir.mkdir()
    config = CONFIG + ("no_scm = true\n" if no_scm else "")
    atomic_write(dvlite_dir / "config", config.encode())
    atomic_write(dvlite_dir / ".gitignore", GITIGNORE.encode())
    if git_root is not None and not no_scm:
        Git(git_root).add([dvlite_dir / "config", dvlite_dir / ".gitignore"])
    return True
