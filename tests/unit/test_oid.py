"""Object ids: parsing, validation, hashing."""

from __future__ import annotations

import pytest

from dvlite.core.oid import Oid, hash_bytes, new_hasher
from dvlite.errors import ConfigError, FormatError


def test_parse_and_str() -> None:
    text = "xxh128:" + "0" * 32
    oid = Oid.parse(text)
    assert (oid.algo, oid.hex, str(oid), oid.short) == ("xxh128", "0" * 32, text, "0" * 10)
    assert Oid.parse("sha256:" + "f" * 64).algo == "sha256"


@pytest.mark.parametrize("text", [
    "", "xxh128", "xxh128:", "xxh128:" + "0" * 31, "xxh128:" + "0" * 33, "xxh128:" + "G" * 32,
    "xxh128:" + "A" * 32, "md5:" + "0" * 32, "xxh128:../../" + "0" * 26, "xxh128:/" + "0" * 31,
    "sha256:" + "0" * 32, ":" + "0" * 32, "xxh128:" + "0" * 31 + "\n",
])
def test_invalid(text: str) -> None:
    with pytest.raises(FormatError, match="invalid hash"):
        Oid.parse(text)


def test_hash_bytes_known_values() -> None:
    assert str(hash_bytes("xxh128", b"")) == "xxh128:99aa06d3014798d86001c324468d497f"
    assert hash_bytes("sha256", b"").hex == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert hash_bytes("xxh128", b"a") != hash_bytes("xxh128", b"b")


def test_unknown_algorithm_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown hash algorithm 'md5'"):
        new_hasher("md5")


def test_ordering_and_hashable() -> None:
    a, b = Oid("xxh128", "0" * 32), Oid("xxh128", "1" * 32)
    assert sorted([b, a]) == [a, b]
    assert {a, Oid.parse(str(a))} == {a}
