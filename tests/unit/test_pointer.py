"""Pointer codec: valid, invalid and canonical tables."""

from __future__ import annotations

import pytest

from dvlite.core.oid import Oid
from dvlite.core.pointer import MAX_POINTER_BYTES, Pointer
from dvlite.errors import FormatError, UnsafePathError

H = "xxh128:" + "0123456789abcdef" * 2
OID = Oid.parse(H)
GOOD_FILE = f"path: data.bin\ntype: file\nhash: {H}\nsize: 10\n".encode()
GOOD_DIR = f"path: images\ntype: dir\nhash: {H}\nsize: 100\nnfiles: 3\n".encode()


@pytest.mark.parametrize("data,expected", [
    (GOOD_FILE, Pointer("data.bin", "file", OID, 10)),
    (GOOD_DIR, Pointer("images", "dir", OID, 100, 3)),
    # non-canonical but valid YAML goes through the strict YAML reader
    (f"size: 10\npath: data.bin\ntype: file\nhash: {H}\n".encode(),
     Pointer("data.bin", "file", OID, 10)),
    (f"path: 'data.bin'\ntype: file\nhash: {H}\nsize: 10".encode(),
     Pointer("data.bin", "file", OID, 10)),
    (f"path: \"with space.bin\"\ntype: file\nhash: {H}\nsize: 0\n".encode(),
     Pointer("with space.bin", "file", OID, 0)),
    (f"path: data.bin\r\ntype: file\r\nhash: {H}\r\nsize: 10\r\n".encode(),
     Pointer("data.bin", "file", OID, 10)),
    (f"path: \"caf\\u00e9\"\ntype: file\nhash: {H}\nsize: 1\n".encode(),
     Pointer("café", "file", OID, 1)),
    (f"path: sub/x\ntype: file\nhash: {H}\nsize: 1\n".encode(),
     Pointer("sub/x", "file", OID, 1)),
])
def test_valid(data: bytes, expected: Pointer) -> None:
    assert Pointer.from_bytes(data, "p.dvl") == expected


@pytest.mark.parametrize("data,message", [
    (b"", "not a pointer file"),
    (b"just text\n", "not a pointer file"),
    (b"- a\n- b\n", "not a pointer file"),
    (b"path: [unclosed\n", "p.dvl:"),
    (b"\x00\x01\x02\xff", "p.dvl"),
    (f"path: a\ntype: file\nhash: {H}\n".encode(), "missing 'size'"),
    (b"path: a\ntype: file\nsize: 1\n", "missing 'hash'"),
    (f"type: file\nhash: {H}\nsize: 1\n".encode(), "missing 'path'"),
    (f"path: a\nhash: {H}\nsize: 1\n".encode(), "missing 'type'"),
    (f"path: a\ntype: file\nhash: {H}\nsize: 1\nversion: 2\n".encode(), "unknown key(s) version"),
    (f"path: a\npath: b\ntype: file\nhash: {H}\nsize: 1\n".encode(), "duplicate key"),
    (f"path: a\ntype: link\nhash: {H}\nsize: 1\n".encode(), "invalid type"),
    (f"path: a\ntype: file\nhash: {H}\nsize: -1\n".encode(), "invalid size"),
    (f"path: a\ntype: file\nhash: {H}\nsize: 1.5\n".encode(), "invalid size"),
    (f"path: a\ntype: file\nhash: {H}\nsize: '1'\n".encode(), "invalid size"),
    (f"path: a\ntype: file\nhash: {H}\nsize: true\n".encode(), "invalid size"),
    (f"path: a\ntype: dir\nhash: {H}\nsize: 1\n".encode(), "needs 'nfiles'"),
    (f"path: a\ntype: file\nhash: {H}\nsize: 1\nnfiles: 1\n".encode(), "only allowed"),
    (f"path: a\ntype: dir\nhash: {H}\nsize: 1\nnfiles: -2\n".encode(), "invalid nfiles"),
    (f"path: 12\ntype: file\nhash: {H}\nsize: 1\n".encode(), "expected a string"),
    (b"path: a\ntype: file\nhash: xxh128:abc\nsize: 1\n", "invalid hash"),
    (b"path: a\ntype: file\nhash: 0123456789abcdef0123456789abcdef\nsize: 1\n", "invalid hash"),
    (f"path: a\ntype: file\nhash: {H.upper()}\nsize: 1\n".encode(), "invalid hash"),
    (b"path: a\ntype: file\nhash: md5:0123456789abcdef0123456789abcdef\nsize: 1\n",
     "unknown algorithm"),
    (b"path: a\ntype: file\nhash: xxh128:../../../../etc/passwd00000000000\nsize: 1\n",
     "invalid hash"),
    (b"a: &x [1]\nb: *x\n", "aliases are not allowed"),
    (b"x" * (MAX_POINTER_BYTES + 1), "at most 4096"),
])
def test_invalid(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        Pointer.from_bytes(data, "p.dvl")
    assert message in info.value.msg
    assert info.value.msg.startswith("p.dvl")


@pytest.mark.parametrize("path", [
    "../x", "/etc/passwd", "a/../../b", ".git/hooks/pre-commit", ".dvlite/config", "",
    ".", "a//b", "a/", "C:\\x", "..\\x", "a\0b",
])
def test_unsafe_path(path: str) -> None:
    import json

    data = f"path: {json.dumps(path)}\ntype: file\nhash: {H}\nsize: 1\n".encode()
    with pytest.raises(UnsafePathError):
        Pointer.from_bytes(data, "p.dvl")


@pytest.mark.parametrize("name", [
    "data.bin", "with space", "true", "yes", "null", "123", "-x", "ab: c", "#c", "é", "a\nb",
    "'q'", '"dq"', "tab\there", "x" * 200, "emoji-\U0001f600", "back`tick",
])
def test_roundtrip_is_canonical(name: str) -> None:
    p = Pointer(name, "file", OID, 5)
    data = p.to_bytes()
    assert Pointer.from_bytes(data, "p") == p
    assert Pointer.from_bytes(data, "p").to_bytes() == data


def test_canonical_bytes_are_fixed() -> None:
    assert Pointer("images", "dir", OID, 100, 3).to_bytes() == GOOD_DIR
    assert Pointer("data.bin", "file", OID, 10).to_bytes() == GOOD_FILE


def test_truncated_at_every_offset_is_a_clear_error_or_a_valid_prefix() -> None:
    for data in (GOOD_FILE, GOOD_DIR):
        for i in range(len(data)):
            try:
                p = Pointer.from_bytes(data[:i], "p.dvl")
            except FormatError as exc:
                assert exc.msg.startswith("p.dvl")
            else:
                # only dropping the final newline (or trailing digits of a count) may parse
                assert data.startswith(p.to_bytes()[:i - 2]), i


@pytest.mark.parametrize("key,value,ok", [
    ("size", 2**53 - 1, True), ("size", 2**53, False), ("size", 2**63 - 1, False),
    ("nfiles", 2**32 - 1, True), ("nfiles", 2**32, False), ("nfiles", 2**63 - 1, False),
])
def test_size_and_nfiles_are_bounded(key: str, value: int, ok: bool) -> None:
    fields = {"size": 100, "nfiles": 3, key: value}
    data = (f"path: images\ntype: dir\nhash: {H}\nsize: {fields['size']}\n"
            f"nfiles: {fields['nfiles']}\n").encode()
    if ok:
        assert getattr(Pointer.from_bytes(data, "p.dvl"), key) == value
    else:
        with pytest.raises(FormatError, match=f"p.dvl: invalid {key} {value}: too large"):
            Pointer.from_bytes(data, "p.dvl")
        # the YAML reader (a non-canonical pointer) applies the same bound
        with pytest.raises(FormatError, match="too large"):
            Pointer.from_bytes(b"# note\n" + data, "p.dvl")
