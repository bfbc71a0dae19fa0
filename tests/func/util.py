"""Helpers shared by the functional and end-to-end tests of the core commands."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import snapshot

# Bookkeeping that may legitimately change on a read-only or refused command.
VOLATILE = (".dvlite/state.db", ".dvlite/lock")


def user_snapshot(root: Path) -> dict[str, bytes | str]:
    """`snapshot` without the state db and lock file."""
    return {k: v for k, v in snapshot(root).items() if not k.startswith(VOLATILE)}
