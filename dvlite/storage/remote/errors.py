"""Errors at the remote boundary: every foreign exception (OSError errnos, botocore,
aiohttp) becomes one `RemoteError` subclass with a one-line message naming the remote,
the key and the cause; plus the integrity checks on bytes that come back."""

from __future__ import annotations

import errno

from dvlite.core.oid import Oid, hash_bytes
from dvlite.errors import (
    DvliteError,
    FormatError,
    IntegrityError,
    MissingObjectsError,
    RemoteAuthError,
    RemoteError,
    RemotePermissionError,
    RemoteUnavailableError,
    StorageError,
)
from dvlite.storage.remote.base import RECORD_KEY

_UNAVAILABLE = frozenset({
    "EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError",
    "ReadTimeoutError", "ClientConnectorError", "ServerDisconnectedError",
    "ClientPayloadError", "ClientOSError", "TimeoutError", "ConnectionError",
    "ResponseStreamingError", "HTTPClientError", "ProxyConnectionError", "SSLError",
})
_AUTH = frozenset({"NoCredentialsError", "PartialCredentialsError", "ProfileNotFound",
                   "CredentialRetrievalError", "UnauthorizedSSOTokenError"})
_AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
               "InvalidToken")
# The bytes a server sent do not match the checksum it sent with them: what it stores is
# damaged (a retry reads the same), an integrity problem of that file, not of the remote.
_DAMAGED = frozenset({"FlexibleChecksumError", "ChecksumError"})

REPAIR_HINT = ("`dvlite fsck --remote --repair` removes bad copies from the remote; then push "
               "from a machine that has the data")


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def map_error(exc: BaseException, remote: str, key: str, what: str) -> DvliteError:
    """Turn any exception met while doing `what` with `key` on `remote` into one clear
    dvlite error (the caller chains it with ``from exc``)."""
    if isinstance(exc, DvliteError):
        return exc
    names = {cls.__name__ for cls in type(exc).__mro__}
    where = f"remote '{remote}'"
    subject = f"{what} {key}" if key else what
    text = str(exc)
    if names & _DAMAGED or "FlexibleChecksumError" in text:
        return IntegrityError(f"{where} sent damaged bytes while {subject} (they fail the "
                              f"server's own checksum): {_cause(exc)}", hint=REPAIR_HINT)
    if names & _AUTH or any(code in text for code in _AUTH_CODES):
        return RemoteAuthError(
            f"no valid credentials for {where} while {subject}: {_cause(exc)}",
            hint=f"set AWS credentials (env, ~/.aws, or `dvlite remote modify {remote} "
                 "access_key_id ... --local`) or a profile")
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return RemotePermissionError(f"permission denied on {where} while {subject}: "
                                     f"{_cause(exc)}")
    if "NoSuchBucket" in text or "bucket does not exist" in text.lower():
        return RemoteError(f"bucket of {where} does not exist ({subject}): {_cause(exc)}",
                           hint="create it, or fix the url (dvlite remote list)")
    if isinstance(exc, FileNotFoundError):
        return MissingObjectsError(f"missing on {where}: {key}")
    if names & _UNAVAILABLE or isinstance(exc, TimeoutError | ConnectionError):
        hint = "check the endpoint and network, then re-run"
        if "SSLError" in names:
            hint = ("check endpoint_url: https:// to a plain-HTTP server fails like this "
                    "(and the `verify` option for a self-signed certificate)")
        return RemoteUnavailableError(f"cannot reach {where} while {subject}: {_cause(exc)}",
                                      hint=hint)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return StorageError(f"no space left while {subject} ({where})",
                            hint="free some disk space")
    return RemoteError(f"{where} failed while {subject}: {_cause(exc)}")


def check_record_key(key: str) -> str:
    """Run-cache record names become remote keys: only validated hex gets there."""
    if not RECORD_KEY.fullmatch(key):
        raise FormatError(f"invalid run-cache record name {key!r}")
    return key


POINTER_HINT = ("the pointer is wrong, not the remote (do not repair the remote): restore "
                "the pointer from git history, or `dvlite add` the file again from a good "
                "copy; `dvlite fsck --remote` names the pointer")


def corrupt_on_remote(name: str, oid: Oid, actual: Oid) -> IntegrityError:
    return IntegrityError(
        f"object {oid} on remote '{name}' is corrupt (its content hashes to {actual}); "
        "nothing was stored", hint=REPAIR_HINT)


def unreadable_on_remote(name: str, oid: Oid, exc: IntegrityError) -> IntegrityError:
    """A read of `oid`'s bytes that failed the server's own checksum (`exc`)."""
    return IntegrityError(f"object {oid} on remote '{name}' cannot be read intact: "
                          f"{exc.msg}", hint=REPAIR_HINT)


def check_bytes(name: str, oid: Oid, data: bytes) -> None:
    actual = hash_bytes(oid.algo, data)
    if actual != oid:
        raise corrupt_on_remote(name, oid, actual)


def check_size(name: str, oid: Oid, actual: int, expected: int | None) -> None:
    """After the hash: the bytes are the object, so a size that differs from `expected`
    (what a pointer or manifest says) is the pointer's error, never the remote's."""
    if expected is not None and actual != expected:
        raise IntegrityError(
            f"object {oid} on remote '{name}' is intact ({actual} bytes, hash verified) "
            f"but a pointer says {expected} bytes; nothing was stored", hint=POINTER_HINT)


def corrupt_in_cache(oid: Oid) -> IntegrityError:
    """A cache object about to be pushed does not hash to its name: it must not spread."""
    return IntegrityError(f"cache object {oid} is corrupt, not pushed", hint="run `dvlite fsck`")


def remote_integrity(name: str, oid: Oid, exc: IntegrityError) -> IntegrityError:
    return IntegrityError(
        f"object {oid} on remote '{name}' is corrupt ({exc.msg}); nothing was stored",
        hint=REPAIR_HINT)
