"""What a git hook hands back to the CLI: an exit code for git and lines for stderr."""

from __future__ import annotations

from dataclasses import dataclass, field

from dvlite.storage.progress import NULL_PROGRESS, Progress


@dataclass(frozen=True)
class HookCall:
    """What git gave the hook (arguments, stdin), and where to report long transfers."""

    args: list[str] = field(default_factory=list)
    stdin: bytes = b""
    progress: Progress = NULL_PROGRESS


@dataclass
class HookOutcome:
    """Exit code for git, and lines for stderr (`warnings` get a `warning: ` prefix)."""

    code: int = 0
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_zero(sha: str) -> bool:
    """git's all-zero object name: a ref that does not exist (yet, or any more)."""
    return not sha.strip("0")
