"""Remote object stores: the interfaces (a `Backend` stores files, a `Remote` adds packs
on top, see `packed`) and the values they exchange.

A remote holds the cache's loose layout, ``<root>/<algo>/<2 hex>/<hex>``, plus a format
file ``<root>/dvlite-format`` naming the layout version, plus (layout 2) pack files of
small objects under ``<root>/packs/<algo>/``. Every object is written whole or not
at all (temp + rename locally, a single PUT or a completed multipart upload on S3) and
never overwritten: the name is the content. Bytes coming back are hashed before they
enter the cache. Every foreign exception is mapped here to a `RemoteError` subclass whose
one-line message names the remote, the key and the cause.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dvlite.core.oid import Oid
from dvlite.storage.odb import LocalStore
from dvlite.storage.progress import Progress
from dvlite.storage.transfer import Item, TransferResult

if TYPE_CHECKING:
    from dvlite.storage.remote.format import RemoteFormat

__all__ = ["DEFAULT_JOBS", "FORMAT_FILE", "RECORDS_DIR", "RECORD_KEY", "Backend", "Blob",
           "CopyHash", "Remote", "RemoteEntry"]

FORMAT_FILE = "dvlite-format"
RECORDS_DIR = "runs"
# A run-cache record's name: the xxh128 hex of its stage's inputs. Names become file
# names and remote keys, so only this shape is ever accepted.
RECORD_KEY = re.compile(r"[0-9a-f]{32}")
DEFAULT_JOBS = 8


@dataclass(frozen=True, slots=True)
class Blob:
    """A file in one of a remote's folders (packs and their indexes): name, size, mtime."""

    name: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """A copy of an object on a remote: its size, when it was written (epoch seconds),
    and the pack holding it (None: a loose file)."""

    oid: Oid
    size: int
    mtime: float
    pack: str | None = None


@dataclass(frozen=True, slots=True)
class CopyHash:
    """One copy of an object read back whole: what its bytes hash to (None: the server
    could not send them intact) and how many bytes there were."""

    entry: RemoteEntry
    actual: Oid | None
    size: int

    @property
    def intact(self) -> bool:
        return self.actual == self.entry.oid


class RemoteInfo(Protocol):
    """What names a remote and how it is used."""

    name: str
    url: str
    algo: str
    jobs: int
    # How long this clone's known objects of the remote are trusted before its epoch is
    # read again (by commands that only report; push reads it every time).
    known_ttl: float

    @property
    def identity(self) -> str:
        """A stable key for this remote's location (the known objects are kept under it)."""


class Backend(RemoteInfo, Protocol):
    """A remote's storage: loose objects, its format file, and plain files (blobs) in
    its folders, each written whole or not at all."""

    def exists_many(self, oids: Collection[Oid]) -> set[Oid]: ...

    def upload(self, oid: Oid, src: Path, progress: Progress = ...) -> bool:
        """Store `src` as `oid`; False when the object was already there. Bytes are
        reported to `progress` as they leave, where the backend can see them."""

    def download(self, oid: Oid, cache: LocalStore, size: int | None = None,
                 progress: Progress = ...) -> int:
        """Copy `oid` into `cache`, verified (hash, and `size` when given); returns its
        size. Nothing is stored when the check fails. Bytes are reported to `progress`
        as they arrive."""

    def read_bytes(self, oid: Oid) -> bytes:
        """The verified content of a (small) object, e.g. a folder manifest."""

    def hash_object(self, oid: Oid) -> tuple[Oid, int]:
        """Read the whole object and hash it (for fsck --remote)."""

    def stat(self, oid: Oid) -> RemoteEntry | None: ...

    def list_entries(self) -> Iterator[RemoteEntry]: ...

    def delete(self, oid: Oid) -> None: ...

    def check_format(self, create: bool, layout: int = ...) -> RemoteFormat | None:
        """The format of an existing remote; with `create`, make a missing format file
        (`layout`, a new epoch). None when there is no format file."""

    def read_format(self) -> RemoteFormat | None: ...

    def write_format(self, fmt: RemoteFormat) -> RemoteFormat: ...

    def put_blob(self, rel: str, data: bytes | bytearray) -> bool:
        """Write `data` at `rel` (below the root), create-only; False if it was there."""

    def get_range(self, rel: str, start: int | None = None, end: int | None = None) -> bytes:
        """Bytes [start, end) of the blob at `rel` (all of it without a range)."""

    def list_blobs(self, rel: str) -> list[Blob]:
        """The files in folder `rel` (none when it does not exist)."""

    def delete_blob(self, rel: str) -> None: ...

    def clean_stale(self, older_than: float) -> int:
        """Remove temp files of killed writes older than `older_than` seconds (only
        names dvlite's writers produce); returns how many."""

    def abort_stale_uploads(self, older_than: float) -> int | None:
        """Abort multipart uploads older than `older_than` seconds (none but on S3);
        None when the server cannot list them."""


class Remote(RemoteInfo, Protocol):
    """What push, fetch, gc and fsck need from a remote (see `packed`)."""

    # the files below it, for what is the same on every layout (see `fresh`)
    backend: Backend

    @property
    def layout(self) -> int | None: ...

    def exists_many(self, oids: Collection[Oid]) -> set[Oid]: ...

    def upload(self, oid: Oid, src: Path, progress: Progress = ...) -> bool: ...

    def upload_many(self, items: Sequence[Item], cache: LocalStore, sizes: Mapping[Oid, int],
                    *, jobs: int, result: TransferResult, progress: Progress = ...,
                    point: str = ...) -> list[Oid]: ...

    def download(self, oid: Oid, cache: LocalStore, size: int | None = None,
                 progress: Progress = ...) -> int: ...

    def download_many(self, items: Sequence[Item], cache: LocalStore, *, jobs: int,
                      result: TransferResult, progress: Progress = ...,
                      point: str = ...) -> list[Oid]: ...

    def read_bytes(self, oid: Oid) -> bytes: ...

    def hash_many(self, oids: Collection[Oid], jobs: int,
                  progress: Progress = ...) -> dict[Oid, list[CopyHash]]:
        """Per object, the copies read back until an intact one ([]: missing)."""

    def hash_copy(self, entry: RemoteEntry) -> CopyHash | None:
        """Read one copy again on its own, a new request (None: it is gone)."""

    def skipped_indexes(self) -> dict[str, str]:
        """Pack indexes that could not be used (pack name -> why); their objects count
        as missing."""

    def drop_index(self, pack: str) -> bool:
        """Read a skipped index again, and delete it if it is still unusable (its pack
        is then an orphan, removed by gc once old); True if deleted."""

    def stat(self, oid: Oid) -> RemoteEntry | None: ...

    def list_entries(self) -> Iterator[RemoteEntry]: ...

    def delete_many(self, entries: Sequence[RemoteEntry]) -> None: ...

    def check_format(self, create: bool) -> str | None:
        """Check the layout version of an existing remote; with `create`, make a missing
        format file. Returns the remote's epoch, None when there is no format file."""

    def read_epoch(self) -> str | None:
        """The remote's epoch; None when it has no format file (new, or wiped)."""

    def renew_epoch(self) -> str:
        """Give the remote a new epoch (before and after deleting objects from it): the
        known objects every clone learnt under the old one are then dropped when next
        checked."""

    def upgrade(self) -> tuple[int, int]: ...

    def clean_stale(self, older_than: float) -> int: ...

    def list_records(self) -> list[str]:
        """Names of the run-cache records on the remote (validated keys only)."""

    def read_record(self, key: str) -> bytes: ...

    def upload_record(self, key: str, data: bytes) -> bool:
        """Store a run-cache record (create-only); False when it was already there."""
