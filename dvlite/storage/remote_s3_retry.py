"""Which S3 failures are not worth retrying although botocore would; and background
failures that must not reach the terminal.

botocore's standard mode retries every connection error with a capped, jittered
backoff: right for resets, timeouts, 5xx and throttling, which pass. But a refused
connection (nothing listens on that port) or a TLS handshake that fails (https to a
plain-HTTP port, a certificate that does not verify) fails the same way every time:
retried, it took 18-23 s to report a typo in `endpoint_url`. Those now fail at once.

A dropped response can leave an aiohttp task on fsspec's event loop whose exception
nobody retrieves (the request it served was retried, or already failed and reported).
asyncio's default handler then logs "Task exception was never retrieved" with a
traceback, which Python's last-resort logging prints on stderr. The loop gets a
handler that drops these: every failure that matters reaches the caller of the
request, which retries it or reports it as one `error:` line.
"""

from __future__ import annotations

import ssl
from typing import Any

# TLS failures that can be a dropped connection rather than a wrong endpoint
_TRANSIENT_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)


def permanent(exc: BaseException) -> bool:
    """A connection failure that a retry would meet again (see the module doc)."""
    # botocore wraps aiohttp's error (kwargs["error"]), which wraps the OS's (os_error)
    inner = getattr(exc, "kwargs", {}).get("error")
    for err in (exc, inner, getattr(inner, "os_error", None)):
        if isinstance(err, ConnectionRefusedError):
            return True
        if isinstance(err, ssl.SSLError) and not isinstance(err, _TRANSIENT_TLS):
            return True
    return False


def stop_permanent_retries(caught_exception: BaseException | None = None,
                           **_: Any) -> None:
    """A botocore `needs-retry` handler, run before the retry policy: raising the
    failure ends the call now instead of after every attempt."""
    if caught_exception is not None and permanent(caught_exception):
        raise caught_exception


def ignore_background_errors(loop: Any, context: dict[str, Any]) -> None:
    """An asyncio exception handler that prints nothing (see the module doc)."""


def install(fs: Any) -> None:
    """Put the handlers on an s3fs filesystem's client (made now, without a request)
    and on the event loop it runs on."""
    fs.connect()
    fs.s3.meta.events.register_first("needs-retry.s3", stop_permanent_retries)
    fs.loop.set_exception_handler(ignore_background_errors)
