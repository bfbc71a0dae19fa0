"""Remote fixtures: moto S3 (session server, reset per test) and a `remote` fixture
parametrised over a local folder and S3, configured through the CLI like a user would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import is_store_temp, run
from tests.remote.s3fixtures import BUCKET, S3, moto_endpoint, s3, s3_remote_options

__all__ = ["moto_endpoint", "s3"]


@dataclass
class RemoteHandle:
    """Direct access to the remote's objects, behind dvlite's back."""

    kind: str
    list_keys: Callable[[], list[str]]  # object keys relative to the remote root
    put: Callable[[str, bytes], None]
    delete: Callable[[str], None]
    read: Callable[[str], bytes]

    def objects(self) -> list[str]:
        return [k for k in self.list_keys() if k.count("/") == 2 and not is_store_temp(k)]


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
