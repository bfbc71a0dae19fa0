"""How the S3 client connects and retries: its settings from a remote's options, the
failures not worth retrying although botocore would, and background failures that must
not reach the terminal.

Retries are bounded in one place (botocore's standard mode plus s3fs's own), with
connect/read timeouts, so a dead endpoint fails in bounded time.

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

from dvlite.storage.remote.options import FsspecOptions

PART_CONCURRENCY = 2  # multipart parts in flight per file (each holds one part in memory)
# TLS failures that can be a dropped connection rather than a wrong endpoint
_TRANSIENT_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)


def s3_kwargs(opts: FsspecOptions, jobs: int) -> dict[str, Any]:
    """S3FileSystem arguments from a remote's options (the AWS chain fills the rest)."""
    client: dict[str, Any] = {}
    if opts.region:
        client["region_name"] = opts.region
    if opts.verify is not None:
        client["verify"] = opts.verify
    kw: dict[str, Any] = {
        "skip_instance_cache": True,
        "use_listings_cache": False,
        "max_concurrency": PART_CONCURRENCY,
        "client_kwargs": client,
        "config_kwargs": {
            "retries": {"mode": "standard", "max_attempts": max(1, opts.retries)},
            "connect_timeout": opts.connect_timeout,
            "read_timeout": opts.read_timeout,
            "max_pool_connections": max(10, 2 * jobs),
        },
    }
    for theirs, value in (("endpoint_url", opts.endpoint_url), ("profile", opts.profile),
                          ("key", opts.access_key_id), ("secret", opts.secret_access_key),
                          ("token", opts.session_token)):
        if value:
            kw[theirs] = value
    return kw


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
