"""Object ids: a hash algorithm and its lowercase hex digest, validated at parse time."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from dvlite.errors import ConfigError, FormatError


class Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


def _xxh128() -> Hasher:
    import xxhash

    h: Hasher = xxhash.xxh3_128()
    return h


def _sha256() -> Hasher:
    return hashlib.sha256()


def _blake3() -> Hasher:
    try:
        import blake3
    except ImportError as exc:
        raise ConfigError(
            "core.hash = blake3 needs the 'blake3' package", hint="pip install blake3"
        ) from exc
    h: Hasher = blake3.blake3()
    return h


ALGORITHMS: dict[str, tuple[int, Callable[[], Hasher]]] = {
    "xxh128": (32, _xxh128),
    "sha256": (64, _sha256),
    "blake3": (64, _blake3),
}
DEFAULT_ALGO = "xxh128"
_HEX = re.compile(r"[0-9a-f]+")


def new_hasher(algo: str) -> Hasher:
    try:
        return ALGORITHMS[algo][1]()
    except KeyError:
        raise ConfigError(
            f"unknown hash algorithm '{algo}'", hint=f"choose one of {', '.join(ALGORITHMS)}"
        ) from None


@dataclass(frozen=True, slots=True, order=True)
class Oid:
    """A content address. Only validated hex ever reaches a file name or a remote key."""

    algo: str
    hex: str

    def __post_init__(self) -> None:
        spec = ALGORITHMS.get(self.algo)
        if spec is None:
            raise FormatError(f"invalid hash '{self}': unknown algorithm '{self.algo}'")
        if len(self.hex) != spec[0] or not _HEX.fullmatch(self.hex):
            raise FormatError(
                f"invalid hash '{self}': expected {spec[0]} lowercase hex digits"
            )

    @classmethod
    def parse(cls, text: str) -> Oid:
        algo, sep, hexpart = text.partition(":")
        if not sep:
            raise FormatError(f"invalid hash '{text}': expected 'ALGO:HEX'")
        return cls(algo, hexpart)

    def __str__(self) -> str:
        return f"{self.algo}:{self.hex}"

    @property
    def short(self) -> str:
        return self.hex[:10]


def hash_bytes(algo: str, data: bytes | bytearray | memoryview) -> Oid:
    h = new_hasher(algo)
    h.update(data)
    return Oid(algo, h.hexdigest())
