"""The last defence against stage commands outliving a killed dvlite: while a command
runs, `.dvlite/running/<pgid>` names its process group, the dvlite that owns it, and a
random token in the command's environment. `repro` first kills the groups whose owner is
gone, so a re-run never races with an orphan writing the same outputs.

A process is only ever killed when it is in the recorded group *and* carries the token,
so a group id the system has since reused is left alone. Finding them reads `/proc`
(Linux); elsewhere group files are only cleaned up.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from pathlib import Path

from dvlite.errors import PipelineError

TOKEN_VAR = "DVLITE_STAGE_TOKEN"
# Seconds the killed processes of an orphaned group get to disappear.
REAP_TIMEOUT = 10.0
_PROC = Path("/proc")


def new_token() -> str:
    return secrets.token_hex(16)


def note_group(folder: Path, pgid: int, token: str) -> Path | None:
    """Note that group `pgid` runs for this process (written whole, then renamed); None
    when that cannot be written (the other two defences remain)."""
    path = folder / str(pgid)
    temp = folder / f".{pgid}.tmp"
    body = {"owner": os.getpid(), "owner_start": _start_time(os.getpid()), "token": token}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp.write_text(json.dumps(body))
        temp.replace(path)
    except OSError:
        return None
    return path


def reap(folder: Path) -> list[int]:
    """Kill the recorded groups whose dvlite is gone, wait until their processes are, and
    drop their group files. Returns the pids killed."""
    if not folder.is_dir():
        return []
    killed: list[int] = []
    for path in sorted(folder.iterdir()):
        if not path.name.isdigit():
            continue  # a group file being written
        entry = _read(path)
        if entry is not None and _owner_alive(entry):
            continue  # a running repro's own command
        if entry is not None:
            killed += _kill_group(int(path.name), entry["token"])
        path.unlink(missing_ok=True)
    return killed


def _read(path: Path) -> dict[str, object] | None:
    """A group file's fields; None for a half-written or foreign file (dropped)."""
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    if not isinstance(body.get("owner"), int) or not isinstance(body.get("token"), str):
        return None
    return body


def _owner_alive(entry: dict[str, object]) -> bool:
    owner = entry["owner"]
    assert isinstance(owner, int)
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # The same pid, but started at another time, is another process.
    return _start_time(owner) == entry.get("owner_start")


def _kill_group(pgid: int, token: object) -> list[int]:
    members = _members(pgid, str(token))
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + REAP_TIMEOUT
    while _members(pgid, str(token)):
        if time.monotonic() > deadline:
            raise PipelineError(
                f"a stage command of an earlier, killed run (process group {pgid}) "
                "does not exit", hint=f"stop it (kill -9 -- -{pgid}), then run again")
        time.sleep(0.01)  # killed processes vanish within moments; poll for that event
    return members


def _members(pgid: int, token: str) -> list[int]:
    """Live processes in group `pgid` whose environment carries `token`."""
    if not _PROC.is_dir():
        return []
    needle = f"{TOKEN_VAR}={token}".encode()
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields is None or fields[0] == "Z" or int(fields[2]) != pgid:
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in environ:
            found.append(int(entry.name))
    return found


def _stat_fields(proc_dir: Path) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: state, ppid, pgrp, ..."""
    try:
        stat = (proc_dir / "stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def _start_time(pid: int) -> int | None:
    fields = _stat_fields(_PROC / str(pid))
    return int(fields[19]) if fields is not None and len(fields) > 19 else None
