"""What fsspec's answers mean to dvlite: a missing bucket (not a missing key), the time
in a listing entry, and its progress hook turned into dvlite's `Progress`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fsspec.callbacks import Callback

from dvlite.storage.progress import Progress


def no_bucket(exc: BaseException) -> bool:
    """A FileNotFoundError about the bucket itself (not a missing key, whose message is
    the key, which may well contain the word "bucket")."""
    text = str(exc)
    return "NoSuchBucket" in text or "specified bucket does not exist" in text


class ByteCallback(Callback):  # type: ignore[misc] # fsspec is untyped
    """fsspec's progress hook passing on the bytes of each part uploaded (s3fs's
    multipart put) or block read (its get), so a big file's bar moves while it travels."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self._progress = progress

    def relative_update(self, inc: int = 1) -> None:
        self._progress.advance(nbytes=inc)


def mtime_of(info: dict[str, Any]) -> float:
    stamp = info.get("LastModified") or info.get("mtime") or info.get("created")
    if isinstance(stamp, datetime):
        return stamp.timestamp()
    if isinstance(stamp, int | float):
        return float(stamp)
    return 0.0
