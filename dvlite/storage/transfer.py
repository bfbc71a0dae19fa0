"""Concurrent transfers with a result per object: partial failure is a result, not an
exception, so one bad object never cancels the others (unlike fsspec's bulk put)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from dvlite._fault import faultpoint
from dvlite.core.oid import Oid
from dvlite.errors import (
    DvliteError,
    IntegrityError,
    RemoteAuthError,
    RemoteError,
    RemoteUnavailableError,
    StorageError,
)
from dvlite.storage.progress import NULL_PROGRESS, Progress

# Errors that will hit every other object the same way: stop starting new transfers.
_FATAL = (RemoteAuthError, RemoteUnavailableError, StorageError)


@dataclass(frozen=True, slots=True)
class Item:
    oid: Oid
    size: int | None
    path: str  # what the user knows it as, for messages


@dataclass(frozen=True, slots=True)
class Failure:
    item: Item
    error: DvliteError

    def __str__(self) -> str:
        return f"{self.item.path} ({self.item.oid}): {self.error.msg}"

    def to_dict(self) -> dict[str, object]:
        return {"hash": str(self.item.oid), "path": self.item.path, "error": self.error.msg,
                "integrity": isinstance(self.error, IntegrityError)}


@dataclass
class TransferResult:
    moved: list[Oid] = field(default_factory=list)  # objects actually copied
    nbytes: int = 0
    present: int = 0  # already where they had to go
    failed: list[Failure] = field(default_factory=list)
    records: int = 0  # run-cache records moved

    @property
    def transferred(self) -> int:
        return len(self.moved)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, object]:
        return {"transferred": self.transferred, "bytes": self.nbytes,
                "already_present": self.present, "failed": len(self.failed),
                "failures": [f.to_dict() for f in self.failed],
                "run_cache_records": self.records}


# One transfer: returns the bytes moved, or None when the object was already there. It
# may report bytes as they move through the `Progress` it is given.
TransferFn = Callable[[Item, Progress], int | None]
# What became of one object in a group: the bytes moved, None when it was already there,
# or its own error.
Outcome = int | DvliteError | None
# One transfer of a group of objects moved together (a pack, a range of a pack).
GroupFn = Callable[[list[Item], Progress], list[tuple[Item, Outcome]]]


class Meter:
    """The progress of one transfer: passes bytes on as they move and counts them, so
    the transfer's end reports only the rest (or takes back what a failed or retried
    transfer reported)."""

    def __init__(self, outer: Progress) -> None:
        self._outer = outer
        self.reported = 0

    def begin(self, description: str, files: int, nbytes: int) -> None:
        pass  # the whole transfer's bar is already drawn

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        del files  # files are counted when the transfer ends
        if nbytes:
            self.reported += nbytes
            self._outer.advance(nbytes=nbytes)

    def end(self) -> None:
        pass


def transfer_many(items: Sequence[Item], fn: TransferFn, jobs: int, result: TransferResult,
                  progress: Progress = NULL_PROGRESS, *, point: str = "transfer") -> list[Oid]:
    """Run `fn` over `items` on `jobs` threads; fill `result`; return the oids now in place
    (moved or already there)."""

    def single(group: list[Item], meter: Progress) -> list[tuple[Item, Outcome]]:
        return [(group[0], fn(group[0], meter))]

    # Ordered by the hash past its shard prefix: threads side by side write into different
    # shard folders instead of queueing on one folder's lock (sorted oids share a shard).
    spread = sorted(items, key=lambda item: item.oid.hex[2:])
    return transfer_groups([[item] for item in spread], single, jobs, result, progress,
                           point=point)


def transfer_groups(groups: Sequence[list[Item]], fn: GroupFn, jobs: int,
                    result: TransferResult, progress: Progress = NULL_PROGRESS, *,
                    point: str = "transfer") -> list[Oid]:
    """Run `fn` over `groups` on `jobs` threads; fill `result`; return the oids now in
    place. An error raised for a group fails each of its objects; an error returned for
    one object fails only that one. After an error that will hit every other transfer
    the same way (credentials, an unreachable remote, a full disk), no new one starts."""
    fatal: list[DvliteError] = []
    done: list[Oid] = []
    lock = threading.Lock()

    def one(group: list[Item]) -> None:
        meter = Meter(progress)
        if fatal:
            got: list[tuple[Item, Outcome]] = [(item, fatal[0]) for item in group]
        else:
            try:
                got = fn(group, meter)
            except DvliteError as exc:
                got = [(item, exc) for item in group]
            except Exception as exc:  # an unmapped foreign error: still only this group
                err = RemoteError(f"unexpected {type(exc).__name__}: {exc}")
                got = [(item, err) for item in group]
            faultpoint(f"{point}.after_object")
        with lock:
            for item, outcome in got:
                _settle(item, outcome, result, fatal, done)
        moved = [o or 0 for _, o in got if not isinstance(o, DvliteError)]
        if moved or meter.reported:
            progress.advance(files=len(moved), nbytes=sum(moved) - meter.reported)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        try:
            list(pool.map(one, groups))
        except BaseException:  # an interrupt: finish what is in flight, start nothing new
            pool.shutdown(cancel_futures=True)
            raise
    return done


def _settle(item: Item, outcome: Outcome, result: TransferResult, fatal: list[DvliteError],
            done: list[Oid]) -> None:
    if isinstance(outcome, DvliteError):
        result.failed.append(Failure(item, outcome))
        if isinstance(outcome, _FATAL) and not fatal:
            fatal.append(outcome)
        return
    done.append(item.oid)
    if outcome is None:
        result.present += 1
    else:
        result.moved.append(item.oid)
        result.nbytes += outcome
