"""One conformance suite for every remote store: a local folder and S3 (moto over HTTP)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dvlite.core.oid import Oid, hash_bytes
from dvlite.errors import ConfigError, IntegrityError, MissingObjectsError
from dvlite.storage.odb import LocalStore
from dvlite.storage.remote import fsspec_backend as remote_s3
from dvlite.storage.remote import fsspec_list
from dvlite.storage.remote.base import FORMAT_FILE, Remote
from dvlite.storage.remote.factory import open_remote
from dvlite.storage.remote.options import FolderOptions, FsspecOptions, RemoteConfig
from dvlite.storage.transfer import Item, TransferResult
from tests.helpers import store_temps
from tests.remote.s3fixtures import BUCKET, S3, s3_remote_options

ALGO = "xxh128"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Remote, object]:
    if request.param == "local":
        root = tmp_path / "remote"
        return open_remote(RemoteConfig("r", str(root), FolderOptions()), tmp_path, ALGO), root
    s3: S3 = request.getfixturevalue("s3")
    cfg = RemoteConfig("r", f"s3://{BUCKET}/p", FsspecOptions(**s3_remote_options(s3.endpoint)))
    return open_remote(cfg, tmp_path, ALGO), s3


@pytest.fixture
def cache(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "cache", ALGO)


def _put_raw(backend: object, oid: Oid, data: bytes) -> None:
    """Write bytes at an object's key behind the store's back."""
    key = f"{ALGO}/{oid.hex[:2]}/{oid.hex}"
    if isinstance(backend, Path):
        path = backend / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.chmod(0o644)
        path.write_bytes(data)
    else:
        assert isinstance(backend, S3)
        backend.client().put_object(Bucket=BUCKET, Key=f"p/{key}", Body=data)


def _src(tmp_path: Path, data: bytes) -> tuple[Oid, Path]:
    path = tmp_path / f"src-{hash_bytes(ALGO, data).hex}"
    path.write_bytes(data)
    return hash_bytes(ALGO, data), path


def test_upload_exists_download_list_delete(store, cache, tmp_path):
    remote, _ = store
    blobs = [b"alpha", b"", "unicodé ✓".encode(), os.urandom(70_000)]
    oids = []
    for data in blobs:
        oid, src = _src(tmp_path, data)
        assert remote.upload(oid, src) is True
        oids.append(oid)
    absent = hash_bytes(ALGO, b"never uploaded")
    assert remote.exists_many([*oids, absent]) == set(oids)
    for oid, data in zip(oids, blobs, strict=True):
        assert remote.download(oid, cache, len(data)) == len(data)
        assert cache.read_bytes(oid) == data
        assert remote.read_bytes(oid) == data
        (copy,) = remote.hash_many([oid], 1)[oid]
        assert copy.intact and copy.size == len(data)
        entry = remote.stat(oid)
        assert entry is not None and entry.size == len(data) and entry.mtime > 0
    assert sorted(e.oid for e in remote.list_entries()) == sorted(oids)
    first = remote.stat(oids[0])
    remote.delete_many([first])
    remote.delete_many([first])  # deleting twice is fine
    assert remote.stat(oids[0]) is None
    assert remote.exists_many(oids) == set(oids[1:])


def test_upload_is_create_only_and_idempotent(store, tmp_path):
    remote, _ = store
    oid, src = _src(tmp_path, b"same bytes")
    assert remote.upload(oid, src) is True
    assert remote.upload(oid, src) is False
    assert remote.read_bytes(oid) == b"same bytes"


def test_corrupt_object_is_refused_and_nothing_stored(store, cache, tmp_path):
    remote, backend = store
    oid, src = _src(tmp_path, b"the real content")
    remote.upload(oid, src)
    _put_raw(backend, oid, b"the evil content")
    with pytest.raises(IntegrityError, match=str(oid)) as err:
        remote.download(oid, cache)
    assert "remote 'r'" in err.value.msg
    assert not cache.exists(oid)
    assert not store_temps(cache.root)
    with pytest.raises(IntegrityError):
        remote.read_bytes(oid)


def test_wrong_size_is_refused(store, cache, tmp_path):
    remote, _ = store
    oid, src = _src(tmp_path, b"twelve bytes")
    remote.upload(oid, src)
    with pytest.raises(IntegrityError, match="12 bytes"):
        remote.download(oid, cache, 13)
    assert not cache.exists(oid)


def test_missing_object(store, cache):
    remote, _ = store
    oid = hash_bytes(ALGO, b"nope")
    with pytest.raises(MissingObjectsError, match=str(oid)):
        remote.download(oid, cache)
    assert remote.stat(oid) is None
    assert not cache.exists(oid)


def test_exists_many_by_listing(store, tmp_path, monkeypatch):
    remote, _ = store
    monkeypatch.setattr(fsspec_list, "HEAD_MAX", 4)
    oids = []
    for i in range(40):
        oid, src = _src(tmp_path, f"object {i}".encode())
        remote.upload(oid, src)
        oids.append(oid)
    others = [hash_bytes(ALGO, f"other {i}".encode()) for i in range(30)]
    assert remote.exists_many(oids + others) == set(oids)


def test_format_file(store, tmp_path):
    remote, backend = store
    remote.check_format(create=True)
    remote.check_format(create=False)
    if isinstance(backend, Path):
        (backend / FORMAT_FILE).write_text("dvlite remote layout 99\n")
    else:
        backend.client().put_object(Bucket=BUCKET, Key=f"p/{FORMAT_FILE}", Body=b"layout 99\n")
    with pytest.raises(ConfigError, match="version '99'"):
        remote.check_format(create=False)


def test_multipart_upload_round_trip(store, cache, tmp_path, monkeypatch):
    remote, backend = store
    monkeypatch.setattr(remote_s3, "CHUNKSIZE", 5 << 20)
    data = os.urandom(11 << 20)
    oid, src = _src(tmp_path, data)
    assert remote.upload(oid, src) is True
    assert remote.upload(oid, src) is False
    assert remote.download(oid, cache, len(data)) == len(data)
    assert cache.read_bytes(oid) == data
    if isinstance(backend, S3):
        uploads = backend.client().list_multipart_uploads(Bucket=BUCKET)
        assert not uploads.get("Uploads")


def test_local_remote_leaves_no_partial_object(tmp_path):
    remote = open_remote(RemoteConfig("r", "rel/store", FolderOptions()), tmp_path, ALGO)
    oid, src = _src(tmp_path, b"x" * 1000)
    remote.upload(oid, src)
    final = tmp_path / "rel" / "store" / ALGO / oid.hex[:2] / oid.hex
    assert final.read_bytes() == b"x" * 1000  # relative url resolved against the base
    assert not final.stat().st_mode & 0o222


def test_corrupt_source_is_not_uploaded(store, tmp_path):
    remote, _ = store
    oid, src = _src(tmp_path, b"good bytes")
    src.write_bytes(b"rotten!!!!")  # bit rot in the cache after the object was named
    with pytest.raises(IntegrityError, match="corrupt"):
        remote.upload(oid, src)
    assert remote.stat(oid) is None


class Recorder:
    """A `Progress` that keeps every call, for the shape of a transfer's reports."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def begin(self, description: str, files: int, nbytes: int) -> None:
        pass

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        self.calls.append((files, nbytes))

    def end(self) -> None:
        pass


def test_big_transfers_report_bytes_while_they_move(store, cache, tmp_path, monkeypatch):
    """An 11 MiB object in 5 MiB parts: the bar moves during the upload and the download,
    not only once the whole file is there, and ends at exactly its size."""
    remote, _ = store
    monkeypatch.setattr(remote_s3, "CHUNKSIZE", 5 << 20)
    data = os.urandom(11 << 20)
    source = LocalStore(tmp_path / "source", ALGO)
    oid = source.add_bytes(data)
    remote.check_format(create=True)
    item = Item(oid, len(data), "big.bin")
    for direction in ("up", "down"):
        seen, result = Recorder(), TransferResult()
        if direction == "up":
            remote.upload_many([item], source, {oid: len(data)}, jobs=1, result=result,
                               progress=seen)
        else:
            remote.download_many([item], cache, jobs=1, result=result, progress=seen)
        assert result.ok and result.moved == [oid]
        during = [n for files, n in seen.calls[:-1] if files == 0]
        assert len(during) >= 2 and all(n > 0 for n in during), (direction, seen.calls)
        assert seen.calls[-1][0] == 1  # the file itself counts once, at its end
        assert sum(n for _, n in seen.calls) == len(data)
        assert sum(f for f, _ in seen.calls) == 1
    assert cache.read_bytes(oid) == data


def test_other_fsspec_protocols_get_the_storage_options(tmp_path):
    opts = FsspecOptions(jobs=2, storage_options={"custom": "x"})
    remote = open_remote(RemoteConfig("r", "memory://bucket/p", opts), tmp_path, ALGO)
    assert remote.backend.fs.storage_options == {"custom": "x"}
    assert remote.jobs == 2
