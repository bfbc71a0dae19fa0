"""The one place a remote's configuration becomes a `Remote`: its backend chosen by url
(a folder, or any fsspec protocol), wrapped in the packing layer."""

from __future__ import annotations

import os
from pathlib import Path

from dvlite.errors import ConfigError
from dvlite.storage.remote.base import DEFAULT_JOBS, Remote
from dvlite.storage.remote.options import FsspecOptions, RemoteConfig, is_folder_url


def local_path(url: str, base: Path) -> Path | None:
    """The folder of a local remote URL (relative paths against `base`), else None."""
    if not is_folder_url(url):
        return None
    if url.startswith("file://"):
        return Path(url[len("file://"):])
    path = Path(os.path.expanduser(url))
    return path if path.is_absolute() else base / path


def open_remote(cfg: RemoteConfig, base: Path, algo: str) -> Remote:
    """A store for remote `cfg`; relative local paths resolve against `base` (the repo root)."""
    jobs = cfg.options.jobs or DEFAULT_JOBS
    if jobs < 1:
        raise ConfigError(f"remote '{cfg.name}': jobs must be at least 1")
    from dvlite.storage.remote.format import READABLE_LAYOUTS, REMOTE_LAYOUT
    from dvlite.storage.remote.packed import PackedRemote

    layout = cfg.options.layout or REMOTE_LAYOUT
    if layout not in READABLE_LAYOUTS:
        raise ConfigError(f"remote '{cfg.name}': layout must be one of "
                          f"{', '.join(map(str, READABLE_LAYOUTS))}, not {layout}")
    folder = local_path(cfg.url, base)
    if folder is not None:
        from dvlite.storage.remote.folder import FolderBackend

        return PackedRemote(FolderBackend(cfg.name, folder, algo, jobs), layout)
    from dvlite.storage.remote.fsspec_backend import FsspecBackend

    # config gives every url that is not a folder's FsspecOptions
    assert isinstance(cfg.options, FsspecOptions)
    return PackedRemote(FsspecBackend.from_options(cfg.name, cfg.url, cfg.options, algo, jobs),
                        layout)
