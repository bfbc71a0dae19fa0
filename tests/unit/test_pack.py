"""Pack index codec (strict, canonical) and the planners: ranges to read, packs to write."""

from __future__ import annotations

import pytest

from dvlite.core.oid import Oid, hash_bytes
from dvlite.core.pack import (
    INDEX_HEAD,
    MAX_ENTRIES,
    MAX_INDEX_BYTES,
    PackEntry,
    PackIndex,
    Segment,
    plan_segments,
    split_by_size,
)
from dvlite.errors import FormatError


def _oid(n: int) -> Oid:
    return hash_bytes("xxh128", str(n).encode())


A, B, C = _oid(1), _oid(2), _oid(3)


def _text(*lines: str) -> bytes:
    return ("\n".join([INDEX_HEAD, *lines]) + "\n").encode()


# -- PackIndex ---------------------------------------------------------------------------


def test_build_lays_objects_back_to_back():
    index = PackIndex.build("p", [(A, 10), (B, 0), (C, 5)])
    assert index.entries == (PackEntry(A, 0, 10), PackEntry(B, 10, 0), PackEntry(C, 10, 5))
    assert index.size == 15
    assert [e.end for e in index.entries] == [10, 10, 15]
    assert PackIndex.build("p", []).size == 0


def test_to_bytes_is_the_documented_text():
    index = PackIndex.build("p", [(A, 10), (B, 7)])
    assert index.to_bytes() == (f"dvlite pack index 1\n{A.hex} 0 10\n{B.hex} 10 7\n"
                                ).encode()


@pytest.mark.parametrize("sizes", [[1], [10, 0, 5], [1 << 20, 3, 1 << 20], list(range(50))])
def test_round_trip(sizes):
    sized = [(_oid(i), size) for i, size in enumerate(sizes)]
    index = PackIndex.build("name", sized)
    back = PackIndex.parse("name", "xxh128", index.to_bytes(), "here")
    assert back == index
    assert back.to_bytes() == index.to_bytes()  # canonical
    assert back.size == sum(sizes)


def test_parse_reads_other_algorithms():
    oid = hash_bytes("sha256", b"x")
    data = _text(f"{oid.hex} 0 1")
    assert PackIndex.parse("p", "sha256", data, "w").entries == (PackEntry(oid, 0, 1),)
    with pytest.raises(FormatError):
        PackIndex.parse("p", "xxh128", data, "w")  # a 64-digit hash is no xxh128


BAD = {
    "wrong header": b"dvlite pack index 2\n" + _text(f"{A.hex} 0 1").split(b"\n", 1)[1],
    "no header": f"{A.hex} 0 1\n".encode(),
    "header only": _text(),
    "empty": b"",
    "no trailing newline": _text(f"{A.hex} 0 1", f"{B.hex} 1 2")[:-1],
    "cut mid line": _text(f"{A.hex} 0 1", f"{B.hex} 1 2")[:-3],
    "blank line": _text(f"{A.hex} 0 1", "", f"{B.hex} 1 2"),
    "crlf": _text(f"{A.hex} 0 1").replace(b"\n", b"\r\n"),
    "gap": _text(f"{A.hex} 0 1", f"{B.hex} 2 2"),
    "overlap": _text(f"{A.hex} 0 4", f"{B.hex} 3 2"),
    "first offset not 0": _text(f"{A.hex} 1 1"),
    "non-digit offset": _text(f"{A.hex} 0 1", f"{B.hex} 1a 2"),
    "non-digit size": _text(f"{A.hex} 0 x"),
    "hex size": _text(f"{A.hex} 0 0x1"),
    "leading zero offset": _text(f"{A.hex} 0 1", f"{B.hex} 01 2"),
    "leading zero size": _text(f"{A.hex} 0 01"),
    "zero written 00": _text(f"{A.hex} 00 1"),
    "plus sign": _text(f"{A.hex} 0 +1"),
    "minus sign": _text(f"{A.hex} 0 1", f"{B.hex} -1 2"),
    "float": _text(f"{A.hex} 0 1.0"),
    "two fields": _text(f"{A.hex} 0"),
    "four fields": _text(f"{A.hex} 0 1 1"),
    "double space": _text(f"{A.hex}  0 1"),
    "trailing space": _text(f"{A.hex} 0 1 "),
    "tab": _text(f"{A.hex}\t0\t1"),
    "short hex": _text(f"{A.hex[:-1]} 0 1"),
    "long hex": _text(f"{A.hex}0 0 1"),
    "uppercase hex": _text(f"{A.hex.upper()} 0 1"),
    "path as hex": _text("../../../../etc/passwd/xxxxxxxxxx 0 1"),
    "algo prefix": _text(f"xxh128:{A.hex} 0 1"),
    "not ascii": _text(f"{A.hex} 0 1").replace(b" 1", " ١".encode()),
    "not text": b"\xff\xfe" + _text(f"{A.hex} 0 1"),
}


@pytest.mark.parametrize("data", BAD.values(), ids=BAD.keys())
def test_parse_refuses(data):
    with pytest.raises(FormatError) as info:
        PackIndex.parse("p", "xxh128", data, "INDEX-X")
    msg = str(info.value)
    assert "INDEX-X" in msg or msg.startswith("invalid hash"), msg  # never a ValueError


def test_parse_accepts_a_zero_sized_object_and_large_offsets():
    big = 5 << 30
    data = _text(f"{A.hex} 0 {big}", f"{B.hex} {big} 0", f"{C.hex} {big} 1")
    index = PackIndex.parse("p", "xxh128", data, "w")
    assert index.size == big + 1
    assert index.to_bytes() == data


# -- plan_segments -----------------------------------------------------------------------


def _entries(*spans: tuple[int, int]) -> list[PackEntry]:
    return [PackEntry(_oid(i), offset, size) for i, (offset, size) in enumerate(spans)]


def _ranges(segments: list[Segment]) -> list[tuple[int, int, int]]:
    return [(s.start, s.end, len(s.entries)) for s in segments]


def test_plan_segments_merges_neighbours_within_the_gap():
    entries = _entries((0, 10), (10, 10), (25, 5), (30, 10))  # gaps 0, 5, 0
    segments = plan_segments("p", entries, gap=5, limit=1000)
    assert _ranges(segments) == [(0, 40, 4)]
    assert segments[0].pack == "p"
    assert segments[0].entries == tuple(entries)


def test_plan_segments_splits_past_the_gap():
    entries = _entries((0, 10), (16, 4), (20, 5), (100, 1))  # gaps 6, 0, 75
    assert _ranges(plan_segments("p", entries, gap=5, limit=1000)) == [
        (0, 10, 1), (16, 25, 2), (100, 101, 1)]
    assert _ranges(plan_segments("p", entries, gap=6, limit=1000)) == [
        (0, 25, 3), (100, 101, 1)]


def test_plan_segments_never_spans_over_the_limit():
    entries = _entries(*[(i * 10, 10) for i in range(10)])  # 100 contiguous bytes
    segments = plan_segments("p", entries, gap=1000, limit=30)
    assert _ranges(segments) == [(0, 30, 3), (30, 60, 3), (60, 90, 3), (90, 100, 1)]
    assert all(s.end - s.start <= 30 for s in segments)
    assert [e for s in segments for e in s.entries] == entries  # each entry once, in order


def test_plan_segments_keeps_an_oversized_object_alone():
    entries = _entries((0, 5), (5, 100), (105, 5))
    segments = plan_segments("p", entries, gap=1000, limit=50)
    assert _ranges(segments) == [(0, 5, 1), (5, 105, 1), (105, 110, 1)]


def test_plan_segments_sorts_by_offset_and_handles_nothing():
    entries = _entries((50, 5), (0, 5), (5, 5))
    segments = plan_segments("p", entries, gap=0, limit=1000)
    assert _ranges(segments) == [(0, 10, 2), (50, 55, 1)]
    assert [e.offset for s in segments for e in s.entries] == [0, 5, 50]
    assert plan_segments("p", [], gap=10, limit=10) == []


def test_plan_segments_gap_bytes_are_covered_by_the_range():
    entries = _entries((0, 4), (8, 4))
    (seg,) = plan_segments("p", entries, gap=4, limit=100)
    data = bytes(range(12))
    got = [data[e.offset - seg.start:e.end - seg.start] for e in seg.entries]
    assert got == [data[0:4], data[8:12]]


# -- split_by_size -----------------------------------------------------------------------


def test_split_by_size_groups_in_order():
    oids = [_oid(i) for i in range(6)]
    sizes = [4, 4, 2, 5, 5, 1]
    groups = split_by_size(zip(oids, sizes, strict=True), 10)
    assert groups == [oids[0:3], oids[3:5], oids[5:6]]  # 10, 10, 1


def test_split_by_size_puts_an_oversized_object_alone():
    oids = [_oid(i) for i in range(4)]
    groups = split_by_size(zip(oids, [3, 50, 3, 3], strict=True), 10)
    assert groups == [[oids[0]], [oids[1]], oids[2:4]]


def test_split_by_size_edges():
    assert split_by_size([], 10) == []
    oids = [_oid(i) for i in range(3)]
    assert split_by_size(zip(oids, [0, 0, 0], strict=True), 10) == [oids]
    assert split_by_size(zip(oids, [10, 10, 10], strict=True), 10) == [[o] for o in oids]
    groups = split_by_size(((_oid(i), 1) for i in range(25)), 10)
    assert [len(g) for g in groups] == [10, 10, 5]
    assert [o for g in groups for o in g] == [_oid(i) for i in range(25)]


def test_split_by_size_closes_a_pack_at_the_entry_cap():
    groups = split_by_size(((_oid(i), 0) for i in range(7)), 10, count=3)
    assert [len(g) for g in groups] == [3, 3, 1]


# -- bounds (RELIABILITY H11) --------------------------------------------------------------


def test_the_longest_index_a_writer_makes_is_within_the_cap():
    # the most objects a pack holds, filling its 16 MiB: the longest offsets there are
    longest = PackIndex.build("p", ((hash_bytes("sha256", str(i).encode()), 256)
                                    for i in range(MAX_ENTRIES)))
    assert longest.size == 16 << 20
    data = longest.to_bytes()
    assert len(data) <= MAX_INDEX_BYTES
    assert len(PackIndex.parse("p", "sha256", data, "p").entries) == MAX_ENTRIES


def test_an_index_over_the_entry_cap_is_refused_before_it_is_built():
    lines = [f"{_oid(i).hex} {i} 1" for i in range(MAX_ENTRIES + 1)]
    with pytest.raises(FormatError, match="more than"):
        PackIndex.parse("p", "xxh128", _text(*lines), "p")


def test_an_index_over_the_byte_cap_is_refused():
    with pytest.raises(FormatError, match="more than an index may have"):
        PackIndex.parse("p", "xxh128", b"x" * (MAX_INDEX_BYTES + 1), "p")
