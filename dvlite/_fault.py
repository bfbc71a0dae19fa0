"""Named crash points for kill -9 tests; a no-op unless DVLITE_FAULTPOINT is set."""

from __future__ import annotations

import os
import signal
import time

_POINT = os.environ.get("DVLITE_FAULTPOINT", "")


def faultpoint(name: str) -> None:
    """Kill this process (or hold it, with DVLITE_FAULTPOINT_SLEEP) when `name` is chosen."""
    if not _POINT or name != _POINT:
        return
    hold = os.environ.get("DVLITE_FAULTPOINT_SLEEP")
    if hold:
        time.sleep(float(hold))
    else:
        os.kill(os.getpid(), signal.SIGKILL)
