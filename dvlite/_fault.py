"""Named crash points for kill -9 and signal tests; a no-op unless DVLITE_FAULTPOINT is set.

`DVLITE_FAULTPOINT=list dvlite` prints every point, so crash tests can be parametrised
over all of them. With `DVLITE_FAULTPOINT_SLEEP=SECONDS` the point holds instead of
killing, and with `DVLITE_FAULTPOINT_MARK=FILE` it first creates FILE, so a test can
wait for that event and then send a signal while dvlite is held there.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

POINTS = (
    "add.before_manifest", "add.after_cache", "add.after_pointer", "add.before_stage",
    "odb.after_temp_write", "odb.before_rename", "atomic.before_rename",
    "checkout.before_writes", "checkout.before_rename", "checkout.after_rename",
    "push.before_upload", "push.after_object", "push.before_manifests", "push.after_all",
    "fetch.before_download", "fetch.after_object", "fetch.before_manifests",
    "get.after_object", "s3.after_get", "pack.before_index", "pack.after_read",
    "gc.after_local_delete", "gc.after_remote_delete",
    "repro.after_store", "repro.before_lock", "exp.before_ref",
)
_POINT = os.environ.get("DVLITE_FAULTPOINT", "")
# Set when dvlite is interrupted: a hold in a worker thread ends then, as the slow work it
# stands for would, instead of keeping the interrupted process alive until it is over.
_RELEASED = threading.Event()


def listing_requested() -> bool:
    return _POINT == "list"


def release() -> None:
    _RELEASED.set()


def faultpoint(name: str) -> None:
    """Kill this process (or hold it, with DVLITE_FAULTPOINT_SLEEP) when `name` is chosen."""
    if not _POINT or name != _POINT:
        return
    mark = os.environ.get("DVLITE_FAULTPOINT_MARK")
    if mark:
        Path(mark).touch()
    hold = os.environ.get("DVLITE_FAULTPOINT_SLEEP")
    if not hold:
        os.kill(os.getpid(), signal.SIGKILL)
    elif threading.current_thread() is threading.main_thread():
        time.sleep(float(hold))  # a signal handler's exception ends this sleep
    else:
        _RELEASED.wait(float(hold))
