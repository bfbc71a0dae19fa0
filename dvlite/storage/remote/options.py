"""What a remote is configured with, as the storage layer receives it: typed options, one
set per backend, built once from the config files (`dvlite.config`, which checks each
option's type). An option left out is None or empty: the backend's default applies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FolderOptions:
    """A remote in a local or mounted folder."""

    jobs: int | None = None  # transfers at once (None or 0: DEFAULT_JOBS)
    layout: int | None = None  # the layout a first push gives it (None: REMOTE_LAYOUT)


@dataclass(frozen=True, slots=True)
class FsspecOptions:
    """A remote reached through fsspec: S3 (the named fields, each passed to s3fs and
    botocore) or another protocol (`storage_options`, passed to its filesystem as is)."""

    jobs: int | None = None
    layout: int | None = None
    endpoint_url: str = ""
    region: str = ""
    profile: str = ""
    # secrets: never in a repr (a traceback with -v, a debugger, a log line)
    access_key_id: str = field(default="", repr=False)
    secret_access_key: str = field(default="", repr=False)
    session_token: str = field(default="", repr=False)
    read_timeout: float = 60.0
    connect_timeout: float = 10.0
    retries: int = 5  # attempts per request, botocore's and s3fs's own
    verify: bool | None = None  # TLS certificate checks (None: botocore's default)
    # For a protocol other than S3: every option but jobs and layout, as configured,
    # unknown ones too (a password for sftp, say), so no repr.
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False)


RemoteOptions = FolderOptions | FsspecOptions


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    name: str
    url: str  # "" when no file gives one (e.g. only credentials in config.local)
    options: RemoteOptions


def is_folder_url(url: str) -> bool:
    """Whether `url` names a folder (a path or file://), not a protocol of fsspec's."""
    return url.startswith("file://") or "://" not in url
