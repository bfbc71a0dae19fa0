"""Semantic versions as GTO writes them in tags (`v1.2.3`, `v1.0.0-rc.1+build`), ordered by
semver precedence (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# gto/constants.py's `semver`, behind GTO's leading "v"
SEMVER = (r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
          r"(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
          r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
          r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?")
_VERSION = re.compile(f"v{SEMVER}")


@dataclass(frozen=True, slots=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: str = ""
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> SemVer | None:
        m = _VERSION.fullmatch(text)
        if m is None:
            return None
        return cls(int(m["major"]), int(m["minor"]), int(m["patch"]), m["prerelease"] or "",
                   m["buildmetadata"] or "")

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """Precedence: a release sorts above its pre-releases; numeric identifiers below
        alphanumeric ones; build metadata does not count."""
        parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                      for p in self.prerelease.split(".")) if self.prerelease else ()
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, parts)

    def bump(self, part: str) -> SemVer:
        if part == "major":
            return SemVer(self.major + 1, 0, 0)
        if part == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        return SemVer(self.major, self.minor, self.patch + 1)

    def __str__(self) -> str:
        pre = f"-{self.prerelease}" if self.prerelease else ""
        build = f"+{self.build}" if self.build else ""
        return f"v{self.major}.{self.minor}.{self.patch}{pre}{build}"


FIRST = SemVer(0, 0, 1)  # GTO's SemVer.get_minimal()
