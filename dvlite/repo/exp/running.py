"""Which queued experiments a `--run-all` is running now: one claim file per experiment in
the git common folder (`<git-dir>/dvlite/exps-running/<NAME>`, shared by every worktree),
holding the claiming process's id and host.

A claim is written whole to a temporary file, then hard-linked to its name (an exclusive
create that never shows a half-written claim), so two `--run-all` at once never run one
experiment twice; it is removed when the run ends. A claim whose process is gone (a
killed `--run-all`) is stale: it neither shows as `running` nor blocks the next run."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from dvlite.scm import Git


def _folder(git: Git) -> Path:
    common = git.run("rev-parse", "--path-format=absolute", "--git-common-dir")
    return Path(common.decode().strip()) / "dvlite" / "exps-running"


def _alive(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text())
        pid, host = int(doc["pid"]), str(doc["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # unreadable: not a claim dvlite wrote
    if host != socket.gethostname():
        return True  # another machine's run on a shared folder: trust it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def running(git: Git) -> set[str]:
    """Names of the experiments being run now."""
    folder = _folder(git)
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.iterdir() if not p.name.startswith(".") and _alive(p)}


@contextlib.contextmanager
def claim(git: Git, name: str) -> Iterator[bool]:
    """Claim experiment `name` for this process while the block runs; yields False (and
    claims nothing) when another live process holds it."""
    folder = _folder(git)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if path.exists() and not _alive(path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    temp = folder / f".{name}.{os.getpid()}.tmp"
    temp.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    try:
        os.link(temp, path)
        taken = True
    except FileExistsError:
        taken = False
    finally:
        temp.unlink()
    if not taken:
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
