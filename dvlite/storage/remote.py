"""Remote object stores: one small interface, the local-folder remote, and the factory.

A remote holds the cache's layout, ``<root>/<algo>/<2 hex>/<hex>``, plus a format file
``<root>/dvlite-format`` naming the layout version. Every object is written whole or not
at all (temp + rename locally, a single PUT or a completed multipart upload on S3) and
never overwritten: the name is the content. Bytes coming back are hashed before they
enter the cache. Every foreign exception is mapped here to a `RemoteError` subclass whose
one-line message names the remote, the key and the cause.
"""

from __future__ import annotations

import errno
import os
import re
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dvlite.config import RemoteConfig
from dvlite.core.oid import Oid, hash_bytes
from dvlite.errors import (
    ConfigError,
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
from dvlite.storage.atomic import atomic_write
from dvlite.storage.hashing import hash_fd
from dvlite.storage.odb import LAYOUT_VERSION, LocalStore

FORMAT_FILE = "dvlite-format"
RECORDS_DIR = "runs"
_RECORD_KEY = re.compile(r"[0-9a-f]{32}")
DEFAULT_JOBS = 8


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """An object found on a remote: its size and when it was written (epoch seconds)."""

    oid: Oid
    size: int
    mtime: float


class Remote(Protocol):
    """What push, fetch, gc and fsck need from a remote."""

    name: str
    url: str
    algo: str
    jobs: int

    @property
    def identity(self) -> str:
        """A stable key for this remote's location (used by the known-objects record)."""

    def exists_many(self, oids: Collection[Oid]) -> set[Oid]: ...

    def upload(self, oid: Oid, src: Path) -> bool:
        """Store `src` as `oid`; False when the object was already there."""

    def download(self, oid: Oid, cache: LocalStore, size: int | None = None) -> int:
        """Copy `oid` into `cache`, verified (hash, and `size` when given); returns its
        size. Nothing is stored when the check fails."""

    def read_bytes(self, oid: Oid) -> bytes:
        """The verified content of a (small) object, e.g. a folder manifest."""

    def hash_object(self, oid: Oid) -> tuple[Oid, int]:
        """Read the whole object and hash it (for fsck --remote)."""

    def stat(self, oid: Oid) -> RemoteEntry | None: ...

    def list_entries(self) -> Iterator[RemoteEntry]: ...

    def delete(self, oid: Oid) -> None: ...

    def check_format(self, create: bool) -> None: ...

    def clean_stale(self, older_than: float) -> int:
        """Remove leftovers of killed transfers (temp files, multipart uploads)."""

    def list_records(self) -> list[str]:
        """Names of the run-cache records on the remote (validated keys only)."""

    def read_record(self, key: str) -> bytes: ...

    def upload_record(self, key: str, data: bytes) -> bool:
        """Store a run-cache record (create-only); False when it was already there."""


# -- errors ------------------------------------------------------------------------------

_UNAVAILABLE = frozenset({
    "EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError",
    "ReadTimeoutError", "ClientConnectorError", "ServerDisconnectedError",
    "ClientPayloadError", "ClientOSError", "TimeoutError", "ConnectionError",
    "ResponseStreamingError", "HTTPClientError", "ProxyConnectionError",
})
_AUTH = frozenset({"NoCredentialsError", "PartialCredentialsError", "ProfileNotFound",
                   "CredentialRetrievalError", "UnauthorizedSSOTokenError"})
_AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
               "InvalidToken")


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
        return RemoteUnavailableError(f"cannot reach {where} while {subject}: {_cause(exc)}",
                                      hint="check the endpoint and network, then re-run")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return StorageError(f"no space left while {subject} ({where})",
                            hint="free some disk space")
    return RemoteError(f"{where} failed while {subject}: {_cause(exc)}")


# -- the local folder remote --------------------------------------------------------------


class LocalRemote:
    """A remote in a local (or mounted) folder: the same loose layout as the cache, so a
    `LocalStore` does the atomic, hash-checked writes (fsspec's local put_file writes in
    place and leaves partial files when killed)."""

    def __init__(self, name: str, root: Path, algo: str, jobs: int = DEFAULT_JOBS) -> None:
        self.name = name
        self.root = root
        self.url = str(root)
        self.algo = algo
        self.jobs = jobs
        self.store = LocalStore(root, algo, fsync=True)

    @property
    def identity(self) -> str:
        return f"file://{os.path.realpath(self.root)}"

    def _fail(self, exc: BaseException, oid: Oid | None, what: str) -> DvliteError:
        return map_error(exc, self.name, str(oid) if oid else str(self.root), what)

    def exists_many(self, oids: Collection[Oid]) -> set[Oid]:
        return self.store.exists_many(oids)

    def upload(self, oid: Oid, src: Path) -> bool:
        if self.store.exists(oid):
            return False
        try:
            fd = os.open(src, os.O_RDONLY)
        except OSError as exc:
            raise MissingObjectsError(f"object {oid} is not in the cache") from exc
        try:
            # add_fd re-hashes while copying: a cache object rotted on disk never spreads.
            self.store.add_fd(fd, expected=oid)
        except IntegrityError as exc:
            raise IntegrityError(f"cache object {oid} is corrupt, not pushed",
                                 hint="run `dvlite fsck`") from exc
        except StorageError as exc:
            raise StorageError(f"{exc.msg} (remote '{self.name}')") from exc
        finally:
            os.close(fd)
        return True

    def _open(self, oid: Oid) -> int:
        try:
            return os.open(self.store.path(oid), os.O_RDONLY)
        except OSError as exc:
            raise self._fail(exc, oid, "reading") from exc

    def download(self, oid: Oid, cache: LocalStore, size: int | None = None) -> int:
        fd = self._open(oid)
        try:
            check_size(self.name, oid, os.fstat(fd).st_size, size)
        except IntegrityError:
            os.close(fd)
            raise
        try:
            _, size = cache.add_fd(fd, expected=oid)
        except IntegrityError as exc:
            raise remote_integrity(self.name, oid, exc) from exc
        finally:
            os.close(fd)
        return size

    def read_bytes(self, oid: Oid) -> bytes:
        fd = self._open(oid)
        try:
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read()
        finally:
            os.close(fd)
        check_bytes(self.name, oid, data)
        return data

    def hash_object(self, oid: Oid) -> tuple[Oid, int]:
        fd = self._open(oid)
        try:
            return hash_fd(fd, oid.algo)
        finally:
            os.close(fd)

    def stat(self, oid: Oid) -> RemoteEntry | None:
        try:
            st = os.stat(self.store.path(oid))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._fail(exc, oid, "checking") from exc
        return RemoteEntry(oid, st.st_size, st.st_mtime)

    def list_entries(self) -> Iterator[RemoteEntry]:
        for oid in self.store.iter_oids():
            entry = self.stat(oid)
            if entry is not None:
                yield entry

    def delete(self, oid: Oid) -> None:
        try:
            self.store.delete(oid)
        except OSError as exc:
            raise self._fail(exc, oid, "deleting") from exc

    def check_format(self, create: bool) -> None:
        path = self.root / FORMAT_FILE
        try:
            text = path.read_text()
        except FileNotFoundError:
            if not self.root.is_dir() and not create:
                raise RemoteUnavailableError(
                    f"remote '{self.name}': folder {self.root} does not exist") from None
            if create:
                _create_local_format(path)
            return
        except OSError as exc:
            raise self._fail(exc, None, "reading the format file") from exc
        check_format_text(self.name, text)

    def clean_stale(self, older_than: float) -> int:
        return self.store.clean_temp(older_than)

    def list_records(self) -> list[str]:
        try:
            names = os.listdir(self.root / RECORDS_DIR)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._fail(exc, None, "listing run-cache records") from exc
        return sorted(n for n in names if _RECORD_KEY.fullmatch(n))

    def read_record(self, key: str) -> bytes:
        check_record_key(key)
        try:
            return (self.root / RECORDS_DIR / key).read_bytes()
        except OSError as exc:
            raise map_error(exc, self.name, f"run-cache record {key}", "reading") from exc

    def upload_record(self, key: str, data: bytes) -> bool:
        check_record_key(key)
        target = self.root / RECORDS_DIR / key
        if target.exists():
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._fail(exc, None, "writing run-cache records") from exc
        atomic_write(target, data)
        return True


def _create_local_format(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{FORMAT_FILE}.{uuid.uuid4().hex}")
        tmp.write_text(format_text())
        os.replace(tmp, path)
    except OSError as exc:
        raise map_error(exc, "local", str(path), "writing the format file") from exc


def format_text() -> str:
    return f"dvlite remote layout {LAYOUT_VERSION}\n"


def check_format_text(name: str, text: str) -> None:
    words = text.split()
    version = words[-1] if words else ""
    if version != str(LAYOUT_VERSION):
        raise ConfigError(
            f"remote '{name}' uses layout version '{version}'; this dvlite reads "
            f"version {LAYOUT_VERSION}", hint="upgrade dvlite, or migrate the remote")


def check_record_key(key: str) -> str:
    """Run-cache record names become remote keys: only validated hex gets there."""
    if not _RECORD_KEY.fullmatch(key):
        raise FormatError(f"invalid run-cache record name {key!r}")
    return key


def check_bytes(name: str, oid: Oid, data: bytes) -> None:
    actual = hash_bytes(oid.algo, data)
    if actual != oid:
        raise IntegrityError(
            f"object {oid} on remote '{name}' is corrupt (its content hashes to {actual}); "
            "nothing was stored", hint="re-push it from a machine that has it, or "
            "run `dvlite fsck --remote`")


def check_size(name: str, oid: Oid, actual: int, expected: int | None) -> None:
    if expected is not None and actual != expected:
        raise IntegrityError(
            f"object {oid} on remote '{name}' has {actual} bytes but the pointer says "
            f"{expected}; nothing was stored", hint="run `dvlite fsck --remote`")


def remote_integrity(name: str, oid: Oid, exc: IntegrityError) -> IntegrityError:
    return IntegrityError(
        f"object {oid} on remote '{name}' is corrupt ({exc.msg}); nothing was stored",
        hint="re-push it from a machine that has it, or run `dvlite fsck --remote`")


# -- factory -------------------------------------------------------------------------------


def local_path(url: str, base: Path) -> Path | None:
    """The folder of a local remote URL (relative paths against `base`), else None."""
    if url.startswith("file://"):
        return Path(url[len("file://"):])
    if "://" in url:
        return None
    path = Path(os.path.expanduser(url))
    return path if path.is_absolute() else base / path


def open_remote(cfg: RemoteConfig, base: Path, algo: str) -> Remote:
    """A store for remote `cfg`; relative local paths resolve against `base` (the repo root)."""
    jobs = int(cfg.options.get("jobs") or DEFAULT_JOBS)
    if jobs < 1:
        raise ConfigError(f"remote '{cfg.name}': jobs must be at least 1")
    folder = local_path(cfg.url, base)
    if folder is not None:
        return LocalRemote(cfg.name, folder, algo, jobs)
    from dvlite.storage.remote_s3 import FsspecRemote

    return FsspecRemote.from_config(cfg, algo, jobs)

