"""Pack files of a layout-2 remote: many small objects in one file, found through an index.

A pack is the plain concatenation of whole objects (uncompressed, no headers), named by
the hash of its bytes. Its index is a text file beside it, one line per object in pack
order: ``<object hex> <offset> <size>``, after a first line ``dvlite pack index 1``.
The codec is strict and canonical: offsets start at 0 and follow each other without
gaps, so a truncated or edited index is refused instead of misread. An index is bounded
(`MAX_ENTRIES` lines, so at most `MAX_INDEX_BYTES`): one with more is refused before its
entries are built, so a hostile remote cannot make a reader hold a huge map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dvlite.core.oid import Oid
from dvlite.errors import FormatError

INDEX_HEAD = "dvlite pack index 1"
PACK_SUFFIX = ".pack"
INDEX_SUFFIX = ".idx"
MAX_ENTRIES = 1 << 16  # objects in one pack: a writer closes a pack at this count
# The longest line: a 64-hex name, an offset and a size of 8 digits each (a pack stays
# well under 100 MB), two spaces, a newline.
_MAX_LINE = 64 + 2 * 8 + 3
MAX_INDEX_BYTES = len(INDEX_HEAD) + 1 + MAX_ENTRIES * _MAX_LINE


@dataclass(frozen=True, slots=True)
class PackEntry:
    oid: Oid
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True, slots=True)
class PackIndex:
    """The objects of one pack (`name` is the hash hex of the pack's bytes)."""

    name: str
    entries: tuple[PackEntry, ...]

    @property
    def size(self) -> int:
        return self.entries[-1].end if self.entries else 0

    def to_bytes(self) -> bytes:
        lines = [INDEX_HEAD, *(f"{e.oid.hex} {e.offset} {e.size}" for e in self.entries)]
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def build(cls, name: str, sized: Iterable[tuple[Oid, int]]) -> PackIndex:
        """The index of objects laid out back to back in the given order."""
        entries = []
        offset = 0
        for oid, size in sized:
            entries.append(PackEntry(oid, offset, size))
            offset += size
        return cls(name, tuple(entries))

    @classmethod
    def parse(cls, name: str, algo: str, data: bytes, where: str) -> PackIndex:
        """Strict parse; `where` names the index in errors."""
        if len(data) > MAX_INDEX_BYTES:
            raise FormatError(f"pack index {where} has {len(data)} bytes, more than an "
                              f"index may have ({MAX_INDEX_BYTES})")
        if data.count(b"\n") > MAX_ENTRIES + 1:
            raise FormatError(f"pack index {where} lists more than {MAX_ENTRIES} objects")
        try:
            lines = data.decode("ascii").split("\n")
        except UnicodeDecodeError as exc:
            raise FormatError(f"pack index {where} is not text") from exc
        if len(lines) < 3 or lines[0] != INDEX_HEAD or lines[-1] != "":
            raise FormatError(f"pack index {where} is malformed or truncated")
        entries = []
        offset = 0
        for number, line in enumerate(lines[1:-1], start=2):
            parts = line.split(" ")
            if len(parts) != 3 or not all(p.isdigit() for p in parts[1:]):
                raise FormatError(f"pack index {where}, line {number}: malformed entry")
            oid = Oid.parse(f"{algo}:{parts[0]}")
            start, size = int(parts[1]), int(parts[2])
            if start != offset or str(start) != parts[1] or str(size) != parts[2]:
                raise FormatError(f"pack index {where}, line {number}: offset {start} "
                                  f"does not follow the previous object (expected {offset})")
            entries.append(PackEntry(oid, start, size))
            offset += size
        return cls(name, tuple(entries))


@dataclass(frozen=True, slots=True)
class Segment:
    """A byte range of one pack read in one request, and the entries it covers."""

    pack: str
    start: int
    end: int
    entries: tuple[PackEntry, ...]


def plan_segments(pack: str, entries: Iterable[PackEntry], gap: int,
                  limit: int) -> list[Segment]:
    """Cover `entries` of one pack with few ranges: neighbours closer than `gap` bytes
    share a range (reading the gap beats another request), no range spans over `limit`
    bytes unless one object alone does."""
    segments: list[Segment] = []
    run: list[PackEntry] = []
    for entry in sorted(entries, key=lambda e: e.offset):
        if run and (entry.offset - run[-1].end > gap or entry.end - run[0].offset > limit):
            segments.append(Segment(pack, run[0].offset, run[-1].end, tuple(run)))
            run = []
        run.append(entry)
    if run:
        segments.append(Segment(pack, run[0].offset, run[-1].end, tuple(run)))
    return segments


def split_by_size(sized: Iterable[tuple[Oid, int]], limit: int,
                  count: int = MAX_ENTRIES) -> list[list[Oid]]:
    """Consecutive groups of at most `limit` bytes and `count` objects (an object over
    `limit` goes alone)."""
    groups: list[list[Oid]] = []
    current: list[Oid] = []
    total = 0
    for oid, size in sized:
        if current and (total + size > limit or len(current) >= count):
            groups.append(current)
            current, total = [], 0
        current.append(oid)
        total += size
    if current:
        groups.append(current)
    return groups
