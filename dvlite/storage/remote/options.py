"""What a remote is configured with, as the storage layer receives it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    name: str
    url: str  # "" when no file gives one (e.g. only credentials in config.local)
    options: dict[str, Any] = field(default_factory=dict)
