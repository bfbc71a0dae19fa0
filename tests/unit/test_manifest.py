"""Folder manifests: canonical bytes, strict parsing, path and structure validation."""

from __future__ import annotations

import json

import pytest

from dvlite.core.manifest import Manifest, ManifestEntry, case_collisions
from dvlite.core.oid import Oid
from dvlite.errors import FormatError, UnsafePathError

A = Oid("xxh128", "a" * 32)
B = Oid("xxh128", "b" * 32)


def doc(entries: list[dict[str, object]], **extra: object) -> bytes:
    return json.dumps({"format": 1, "algo": "xxh128", "entries": entries, **extra}).encode()


def e(path: str, h: str = "a" * 32, size: int = 1, isexec: bool = False) -> dict[str, object]:
    return {"path": path, "hash": h, "size": size, "exec": isexec}


def test_build_sorts_and_roundtrips() -> None:
    m = Manifest.build("xxh128", [ManifestEntry("b", B, 2), ManifestEntry("a/x", A, 1, True)])
    assert [x.relpath for x in m] == ["a/x", "b"]
    assert m.size == 3 and len(m) == 2
    data = m.to_bytes()
    assert Manifest.from_bytes(data, "m") == m
    assert Manifest.from_bytes(data, "m").to_bytes() == data
    assert m.oid() == Manifest.build("xxh128", reversed(m.entries)).oid()


def test_empty_manifest_roundtrips() -> None:
    m = Manifest.build("xxh128", [])
    assert Manifest.from_bytes(m.to_bytes(), "m") == m


@pytest.mark.parametrize("name", ["new\nline", "tab\t", "caf\u00e9", "cafe\u0301", 'q"uote',
                                  "back\\slash-in-name".replace("\\", "_"), " lead", "x" * 255])
def test_odd_names_roundtrip(name: str) -> None:
    m = Manifest.build("xxh128", [ManifestEntry(name, A, 1)])
    assert Manifest.from_bytes(m.to_bytes(), "m").entries[0].relpath == name


def test_nfc_and_nfd_are_distinct_entries() -> None:
    nfc, nfd = ManifestEntry("caf\u00e9", A, 1), ManifestEntry("cafe\u0301", B, 1)
    m = Manifest.build("xxh128", [nfc, nfd])
    assert len(Manifest.from_bytes(m.to_bytes(), "m")) == 2


@pytest.mark.parametrize("data,message", [
    (b"not json", "not a folder manifest"),
    (b"\xff\xfe", "not a folder manifest"),
    (b"[]", "not a folder manifest"),
    (json.dumps({"format": 2, "algo": "xxh128", "entries": []}).encode(), "unsupported manifest"),
    (json.dumps({"format": 1, "entries": []}).encode(), "no hash algorithm"),
    (doc([e("a", size=-1)]), "invalid manifest entry"),
    (doc([e("a", size=1.5)]), "invalid manifest entry"),  # type: ignore[arg-type]
    (doc([e("a", size=2**53)]), "invalid manifest entry"),
    (doc([e("a", size=2**63 - 1)]), "invalid manifest entry"),
    (doc([e("a", size=2**52), e("b", size=2**52)]), "too large"),
    (doc([{"path": "a", "hash": "a" * 32, "size": 1}]), "invalid manifest entry"),
    (doc([{**e("a"), "extra": 1}]), "invalid manifest entry"),
    (doc([e("a", h="A" * 32)]), "invalid hash"),
    (doc([e("a", h="../../x")]), "invalid hash"),
    (doc([e("a"), e("a")]), "duplicate entry"),
    (doc([e("b"), e("a")]), "not sorted"),
    (doc([e("a"), e("a/b")]), "both a file and a folder"),
])
def test_invalid(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        Manifest.from_bytes(data, "manifest X")
    assert message in info.value.msg
    assert info.value.msg.startswith("manifest X: ")


@pytest.mark.parametrize("path", ["..", "../x", "a/../../b", "/abs", ".git/config", "a//b",
                                  "a/", "", ".", "..\\x", ".dvlite/cache"])
def test_unsafe_entries(path: str) -> None:
    with pytest.raises(UnsafePathError) as info:
        Manifest.from_bytes(doc([e(path)]), "manifest X")
    assert info.value.msg.startswith("manifest X: unsafe manifest path")


def test_mixed_algorithms_refused() -> None:
    with pytest.raises(FormatError, match="uses sha256"):
        Manifest.build("xxh128", [ManifestEntry("a", Oid("sha256", "c" * 64), 1)])


def test_case_collisions() -> None:
    assert case_collisions(["Data.csv", "data.csv", "x"]) == [("Data.csv", "data.csv")]
    assert case_collisions(["a", "b"]) == []


def test_sizes_up_to_the_bound_are_valid() -> None:
    m = Manifest.from_bytes(doc([e("a", size=2**53 - 2), e("b", size=1)]), "m")
    assert m.size == 2**53 - 1
