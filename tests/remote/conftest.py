"""Remote fixtures: moto S3 (session server, reset per test) and a `remote` fixture
parametrised over a local folder and S3, configured through the CLI like a user would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import is_store_temp, run
from tests.remote.faultproxy import FaultProxy
from tests.remote.s3fixtures import BUCKET, S3, moto_endpoint, s3, s3_remote_options

__all__ = ["moto_endpoint", "s3"]


PACKS = "packs/xxh128/"


@dataclass
class RemoteHandle:
    """Direct access to the remote's objects, behind dvlite's back.

    Object keys are given as loose keys (``xxh128/ab/abcd...``) whether the object is a
    loose file or sits in a pack: `objects`, `read`, `put` and `delete` find it in either,
    reading pack indexes with their own small parser (an independent check of dvlite's).
    """

    kind: str
    list_keys: Callable[[], list[str]]  # every file's key relative to the remote root
    raw_put: Callable[[str, bytes], None]
    raw_delete: Callable[[str], None]
    raw_read: Callable[[str], bytes]

    def packs(self) -> dict[str, list[tuple[str, int, int]]]:
        """Pack name -> its index entries (hex, offset, size), for packs with an index."""
        keys = set(self.list_keys())
        found = {}
        for key in sorted(keys):
            if key.startswith(PACKS) and key.endswith(".idx") and \
                    key[:-4] + ".pack" in keys:
                lines = self.raw_read(key).decode().splitlines()
                assert lines[0] == "dvlite pack index 1"
                found[key[len(PACKS):-4]] = [(h, int(o), int(n)) for h, o, n in
                                              (line.split(" ") for line in lines[1:])]
        return found

    def _packed(self, key: str) -> tuple[str, list[tuple[str, int, int]], int] | None:
        hex_ = key.rsplit("/", 1)[-1]
        for name, entries in self.packs().items():
            for i, entry in enumerate(entries):
                if entry[0] == hex_:
                    return name, entries, i
        return None

    def objects(self) -> list[str]:
        """Keys of every object on the remote, loose or packed."""
        loose = [k for k in self.list_keys() if k.count("/") == 2
                 and not k.startswith("packs/") and not is_store_temp(k)]
        packed = [f"xxh128/{h[:2]}/{h}" for entries in self.packs().values()
                  for h, _, _ in entries]
        return sorted({*loose, *packed})

    def read(self, key: str) -> bytes:
        found = None if key in self.list_keys() else self._packed(key)
        if found is None:
            return self.raw_read(key)
        name, entries, i = found
        _, offset, size = entries[i]
        return self.raw_read(f"{PACKS}{name}.pack")[offset:offset + size]

    def put(self, key: str, data: bytes) -> None:
        """Write an object's bytes where it is (in its pack, the index fixed up)."""
        found = None if key in self.list_keys() else self._packed(key)
        if found is None:
            self.raw_put(key, data)
            return
        name, entries, i = found
        self._rewrite(name, entries, {entries[i][0]: data})

    def delete(self, key: str) -> None:
        found = None if key in self.list_keys() else self._packed(key)
        if found is None:
            self.raw_delete(key)
            return
        name, entries, i = found
        self._rewrite(name, entries, {entries[i][0]: None})

    def _rewrite(self, name: str, entries: list[tuple[str, int, int]],
                 change: dict[str, bytes | None]) -> None:
        blob = self.raw_read(f"{PACKS}{name}.pack")
        parts = []
        for hex_, offset, size in entries:
            data = change.get(hex_, blob[offset:offset + size])
            if data is not None:
                parts.append((hex_, data))
        lines, offset = ["dvlite pack index 1"], 0
        for hex_, data in parts:
            lines.append(f"{hex_} {offset} {len(data)}")
            offset += len(data)
        self.raw_put(f"{PACKS}{name}.pack", b"".join(d for _, d in parts))
        self.raw_put(f"{PACKS}{name}.idx", ("\n".join(lines) + "\n").encode())


def configure(name: str, url: str, options: dict[str, object], default: bool = True) -> None:
    args = ["remote", "add", name, url] + (["--default"] if default else [])
    assert run(*args).exit_code == 0
    for key, value in options.items():
        assert run("remote", "modify", name, key, str(value)).exit_code == 0


def local_handle(root: Path) -> RemoteHandle:
    def keys() -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def put(key: str, data: bytes) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.chmod(0o644)
        path.write_bytes(data)

    return RemoteHandle("local", keys, put, lambda k: (root / k).unlink(),
                        lambda k: (root / k).read_bytes())


def s3_handle(s3: S3, prefix: str) -> RemoteHandle:
    client = s3.client()

    def keys() -> list[str]:
        return [k[len(prefix) + 1:] for k in s3.keys(prefix + "/")]

    def put(key: str, data: bytes) -> None:
        client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{key}", Body=data)

    def delete(key: str) -> None:
        client.delete_object(Bucket=s3.bucket, Key=f"{prefix}/{key}")

    def read(key: str) -> bytes:
        body: bytes = client.get_object(Bucket=s3.bucket, Key=f"{prefix}/{key}")["Body"].read()
        return body

    return RemoteHandle("s3", keys, put, delete, read)


@pytest.fixture(params=["local", "s3"])
def remote(request: pytest.FixtureRequest, repo: Path, tmp_path: Path) -> RemoteHandle:
    """The repo's default remote 'origin', a local folder or an S3 prefix."""
    if request.param == "local":
        root = tmp_path / "store"
        configure("origin", str(root), {})
        return local_handle(root)
    s3fix: S3 = request.getfixturevalue("s3")
    configure("origin", f"s3://{BUCKET}/store", s3_remote_options(s3fix.endpoint))
    return s3_handle(s3fix, "store")


@pytest.fixture
def proxy(s3: S3, repo: Path) -> Iterator[FaultProxy]:
    """The repo's default remote 'origin' on S3, reached through a fault proxy."""
    p = FaultProxy(s3.endpoint)
    configure("origin", f"s3://{BUCKET}/store", s3_remote_options(p.url))
    try:
        yield p
    finally:
        p.close()
