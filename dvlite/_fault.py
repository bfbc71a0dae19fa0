"""Named crash points for kill -9 tests; a no-op unless DVLITE_FAULTPOINT is set.

`DVLITE_FAULTPOINT=list dvlite` prints every point, so crash tests can be parametrised
over all of them.
"""

from __future__ import annotations

import os
import signal
import time

POINTS = (
    "add.before_manifest", "add.after_cache", "add.after_pointer", "add.before_stage",
    "odb.after_temp_write", "odb.before_rename", "atomic.before_rename",
    "checkout.before_writes", "checkout.before_rename", "checkout.after_rename",
    "push.before_upload", "push.after_object", "push.before_manifests", "push.after_all",
    "fetch.before_download", "fetch.after_object", "fetch.before_manifests",
    "get.after_object", "s3.after_get", "pack.before_index", "pack.after_read",
    "gc.after_local_delete", "gc.after_remote_delete",
    "repro.after_store", "repro.before_lock",
)
_POINT = os.environ.get("DVLITE_FAULTPOINT", "")


def listing_requested() -> bool:
    return _POINT == "list"


def faultpoint(name: str) -> None:
    """Kill this process (or hold it, with DVLITE_FAULTPOINT_SLEEP) when `name` is chosen."""
    if not _POINT or name != _POINT:
        return
    hold = os.environ.get("DVLITE_FAULTPOINT_SLEEP")
    if hold:
        time.sleep(float(hold))
    else:
        os.kill(os.getpid(), signal.SIGKILL)
