"""S3 calls that not every S3-compatible server implements, and what dvlite does
without them: create-only writes (``If-None-Match: *``) fall back to a check then a
plain write; the multipart-upload listing is skipped (gc warns once).

Every listing is scoped to the remote's folder *with* its trailing ``/``: the prefix
``t1`` alone would also match the keys of ``t1other/`` and ``t10/``.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any


def not_implemented(exc: BaseException) -> bool:
    """A server's answer that it lacks a feature: 501 NotImplemented (s3fs maps it to
    an OSError with ENOSYS)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSYS:
        return True
    return "NotImplemented" in str(exc)


def already_there(exc: BaseException) -> bool:
    """A create-only write refused because the key exists."""
    return isinstance(exc, FileExistsError) or (
        isinstance(exc, OSError) and "PreconditionFailed" in str(exc))


class CreateOnly:
    """Create-only writes: conditional where the server supports it; else (it answered
    NotImplemented once, remembered for the life of the command) a HEAD and a plain
    write. Without the condition two writers may race, which content-named files
    survive: both write the same bytes."""

    def __init__(self, exists: Callable[[str], bool]) -> None:
        self._exists = exists
        self.conditional = True

    def write(self, path: str, write: Callable[[str], object]) -> bool:
        """`write(mode)` the file at `path` unless it is there; False when it was."""
        if self.conditional:
            try:
                write("create")
                return True
            except OSError as exc:
                if already_there(exc):
                    return False
                if not not_implemented(exc):
                    raise
                self.conditional = False
        if self._exists(path):
            return False
        write("overwrite")
        return True


def folder_prefix(root: str) -> tuple[str, str]:
    """The bucket of `root` (``bucket/prefix``) and the key prefix of everything below
    it, ending in ``/`` (empty for a whole bucket)."""
    bucket, _, prefix = root.strip("/").partition("/")
    return bucket, f"{prefix}/" if prefix else ""


def abort_stale_uploads(fs: Any, root: str, older_than: float) -> int | None:
    """Abort the multipart uploads below `root` older than `older_than` seconds; None
    when the server does not list multipart uploads."""
    from fsspec.asyn import sync

    bucket, prefix = folder_prefix(root)
    cutoff = time.time() - older_than
    aborted = 0
    page: dict[str, str] = {}
    while True:
        try:
            reply = sync(fs.loop, fs._call_s3, "list_multipart_uploads",
                         Bucket=bucket, Prefix=prefix, **page)
        except OSError as exc:
            if not_implemented(exc):
                return None
            raise
        for up in reply.get("Uploads", []):
            # a server that ignores Prefix must not make us abort another folder's upload
            if not str(up.get("Key", "")).startswith(prefix) or _initiated(up) > cutoff:
                continue
            sync(fs.loop, fs._call_s3, "abort_multipart_upload",
                 Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
            aborted += 1
        if not reply.get("IsTruncated"):
            return aborted
        page = {"KeyMarker": reply.get("NextKeyMarker", ""),
                "UploadIdMarker": reply.get("NextUploadIdMarker", "")}


def _initiated(upload: dict[str, Any]) -> float:
    stamp = upload.get("Initiated")
    return stamp.timestamp() if isinstance(stamp, datetime) else 0.0
