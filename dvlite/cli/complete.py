"""Shell completion of the names only dvlite knows: remotes and stages. It runs on every
Tab press, wherever the shell is, so a missing or broken repository completes nothing
rather than printing an error into the command line."""

from __future__ import annotations

from dvlite.errors import DvliteError
from dvlite.workspace.repo import Repo


def remote_names(incomplete: str) -> list[str]:
    """The remotes configured for the repository here (config and config.local)."""
    try:
        names = Repo.find().config.remotes()
    except (DvliteError, OSError):
        return []
    return sorted(n for n in names if n.startswith(incomplete))


def stage_names(incomplete: str) -> list[str]:
    """The stages of the repository's dvlite.yaml files (`NAME@item` for foreach ones)."""
    from dvlite.pipeline.load import load_pipeline

    try:
        stages = load_pipeline(Repo.find(), check_workspace=False).stages
    except (DvliteError, OSError):
        return []
    return sorted(s.name for s in stages if s.name.startswith(incomplete))
