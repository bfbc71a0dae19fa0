"""dvlite.fs: the dvlite:// fsspec filesystem over a repository at a revision."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest

from dvlite.errors import IntegrityError
from dvlite.fs import DvliteFileSystem
from dvlite.workspace import objects, view
from dvlite.workspace.objfile import ObjectFile
from tests.api.conftest import BIG, Project, build
from tests.helpers import read_pointer, store_temps
from tests.remote.conftest import RemoteHandle, local_handle


def _object(user_cache: Path, root: Path, name: str) -> Path:
    oid = read_pointer(root / f"{name}.dvl").oid
    return user_cache / oid.algo / oid.hex[:2] / oid.hex


def test_fsspec_finds_the_protocol_without_importing_dvlite(project: Project, tmp_path):
    code = (
        "import json, sys, fsspec\n"
        "assert not [m for m in sys.modules if m.startswith('dvlite')]\n"
        "opts = json.loads(sys.argv[1])\n"
        "with fsspec.open('dvlite://data/a.txt', 'rt', **opts) as f:\n"
        "    text = f.read()\n"
        "fs, path = fsspec.core.url_to_fs('dvlite://model.bin', **opts)\n"
        "print(json.dumps([text, fs.cat_file(path).decode(), type(fs).__name__]))\n"
    )
    opts = {"repo": project.url, "rev": project.first}
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "sub-xdg")}
    out = subprocess.run([sys.executable, "-c", code, json.dumps(opts)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["alpha\n", "v1", "DvliteFileSystem"]


def test_listing(project: Project):
    fs = fsspec.filesystem("dvlite", repo=str(project.root), rev=project.first)
    assert isinstance(fs, DvliteFileSystem)
    assert fs.ls("data", detail=False) == ["data/a.txt", "data/sub"]
    assert fs.ls("dvlite://data/sub/b.txt", detail=False) == ["data/sub/b.txt"]
    assert fs.find("data") == ["data/a.txt", "data/sub/b.txt"]
    assert fs.glob("**/*.txt") == ["data/a.txt", "data/sub/b.txt"]
    assert fs.glob("*.bin") == ["big.bin", "model.bin"]
    assert "README.md" in fs.ls("", detail=False)
    assert fs.ls("/", detail=False) == fs.ls("dvlite://", detail=False)
    info = fs.info("data/sub/b.txt")
    assert info["type"] == "file" and info["size"] == 5 and info["tracked"]
    assert info["hash"].startswith("xxh128:")
    readme = fs.info("README.md")
    assert readme["hash"] is None and not readme["tracked"] and len(readme["blob"]) == 40
    assert fs.info("data")["type"] == "directory" and fs.isdir("data/sub")
    assert fs.isfile("model.bin") and not fs.isfile("data")
    assert fs.exists("/data/a.txt") and not fs.exists("data/x")
    assert not fs.exists("data/../model.bin") and not fs.exists("data/./a.txt")
    assert fs.du("data") == 11
    walked = [(root, sorted(files)) for root, _, files in fs.walk("data")]
    assert walked == [("data", ["a.txt"]), ("data/sub", ["b.txt"])]
    with pytest.raises(FileNotFoundError):
        fs.info("nope")
    with pytest.raises(FileNotFoundError):
        fs.ls("data/a.txt/inside")


def test_seek_and_ranges_equal_slices(project: Project, tmp_path):
    for repo in (project.root, project.url):  # from the cache; by ranges of the remote
        fs = DvliteFileSystem(repo=str(repo))
        with fs.open("big.bin", block_size=1 << 16) as f:
            assert f.seekable()
            f.seek(len(BIG) - 10)
            assert f.read() == BIG[-10:]
            f.seek(12345)
            assert f.read(1000) == BIG[12345:13345]
            assert f.tell() == 13345
        assert fs.cat_file("big.bin", start=100, end=200) == BIG[100:200]
        assert fs.cat_file("big.bin", start=-8) == BIG[-8:]
        assert fs.cat_file("big.bin", start=5, end=-5) == BIG[5:-5]
        assert fs.cat_file("model.bin", start=1) == b"2"
        assert fs.cat_file("README.md", start=1, end=3) == b"el"
        assert fs.read_block("big.bin", 1000, 10) == BIG[1000:1010]


def test_big_plain_git_files_are_spooled(project: Project, monkeypatch):
    monkeypatch.setattr(view, "SMALL_BLOB", 2)
    fs = DvliteFileSystem(repo=project.url)
    with fs.open("README.md") as f:
        assert f.read() == b"hello\n"
        f.seek(2)
        assert f.read() == b"llo\n"
    assert fs.cat_file("README.md", start=1, end=4) == b"ell"
    assert fs.cat_file(".gitignore").startswith(b"/")


def test_a_read_in_order_is_verified_and_cached(project: Project, user_cache: Path):
    fs = DvliteFileSystem(repo=project.url)
    with fs.open("big.bin", block_size=1 << 20) as f:
        assert isinstance(f, ObjectFile)  # in no cache: read by ranges
        f.seek(100)
        assert f.read(10) == BIG[100:110]
    cached = _object(user_cache, project.root, "big.bin")
    assert not cached.exists()  # a jump: not verified, not stored
    with fs.open("big.bin", block_size=1 << 20) as f:
        assert isinstance(f, ObjectFile)
        assert f.read() == BIG
    assert cached.read_bytes() == BIG
    assert not store_temps(user_cache)
    with fs.open("big.bin") as f:
        assert not isinstance(f, ObjectFile)  # from the cache now


def test_a_corrupt_big_object_fails_its_read_and_is_not_stored(project: Project,
                                                               user_cache: Path):
    oid = read_pointer(project.root / "big.bin.dvl").oid
    key = f"{oid.algo}/{oid.hex[:2]}/{oid.hex}"
    bad = bytearray(BIG)
    bad[-1] ^= 1
    local_handle(project.store).put(key, bytes(bad))
    fs = DvliteFileSystem(repo=project.url)
    assert fs.cat_file("big.bin", start=0, end=10) == BIG[:10]  # a range: not verified
    with fs.open("big.bin") as f:
        with pytest.raises(IntegrityError, match=oid.hex):
            f.read()
        f.seek(len(BIG) - 10)
        with pytest.raises(IntegrityError):  # no second try hands out the bad bytes
            f.read()
    with pytest.raises(IntegrityError, match=oid.hex):
        fs.cat_file("big.bin")
    with pytest.raises(IntegrityError):
        fs.get_file("big.bin", str(project.root.parent / "out.bin"))
    assert not (project.root.parent / "out.bin").exists()
    assert not _object(user_cache, project.root, "big.bin").exists()
    assert not store_temps(user_cache)


def test_a_corrupt_cache_object_fails_a_whole_read(project: Project):
    oid = read_pointer(project.root / "model.bin.dvl").oid
    obj = project.root / ".dvlite" / "cache" / oid.algo / oid.hex[:2] / oid.hex
    obj.chmod(0o644)
    obj.write_bytes(b"v3")
    fs = DvliteFileSystem(repo=str(project.root))
    with pytest.raises(IntegrityError, match="corrupt"):
        fs.cat_file("model.bin")


def test_get_copies_files_and_folders(project: Project, tmp_path):
    fs = DvliteFileSystem(repo=project.url, rev=project.first)
    out = tmp_path / "out"
    fs.get("data", str(out), recursive=True)
    assert (out / "a.txt").read_text() == "alpha\n"
    assert (out / "sub" / "b.txt").read_text() == "beta\n"
    fs.get_file("big.bin", str(tmp_path / "big.bin"))
    assert (tmp_path / "big.bin").read_bytes() == BIG
    fs.get_file("README.md", str(tmp_path / "readme"))
    assert (tmp_path / "readme").read_text() == "hello\n"
    assert not [p for p in tmp_path.iterdir() if ".dvlite-tmp-" in p.name]


def test_writes_are_refused(project: Project):
    fs = DvliteFileSystem()
    for attempt in (lambda: fs.open("model.bin", "wb"), lambda: fs.open("x", "w"),
                    lambda: fs.open("x", "ab"), lambda: fs.rm("model.bin"),
                    lambda: fs.rm_file("model.bin"), lambda: fs.mkdir("d"),
                    lambda: fs.makedirs("d/e"), lambda: fs.pipe("x", b"1"),
                    lambda: fs.put(str(project.root / "README.md"), "y"),
                    lambda: fs.touch("z"), lambda: fs.mv("model.bin", "m2"),
                    lambda: fs.copy("model.bin", "m2"), lambda: fs.rmdir("data")):
        with pytest.raises(PermissionError, match="read-only"):
            attempt()
    with pytest.raises(IsADirectoryError):
        fs.open("data")
    with pytest.raises(IsADirectoryError):
        fs.cat_file("data/sub")
    with fsspec.open("dvlite://model.bin", repo=str(project.root)) as f:
        assert f.read() == b"v2"


def test_a_copy_reads_the_commit_the_original_resolved(project: Project):
    fs = DvliteFileSystem(repo=project.url, rev="main")
    copy = pickle.loads(pickle.dumps(fs))
    assert copy.view.commit == project.second == fs.view.commit
    assert copy.storage_options["rev"] == project.second
    assert copy.cat_file("model.bin") == b"v2"
    here = DvliteFileSystem()  # the repository around the current folder, its workspace
    os.chdir(project.root.parent)
    copy = pickle.loads(pickle.dumps(here))
    assert copy.storage_options["repo"] == str(project.root)
    assert copy.view.commit is None and copy.cat_file("model.bin") == b"v2"


@pytest.fixture
def remote_project(repo: Path, remote: RemoteHandle, tmp_path: Path) -> Project:
    """The project on the `remote` fixture's remote: a folder, or S3 on moto."""
    first, second = build(repo, tmp_path / "origin.git")
    return Project(repo, tmp_path / "store", first, second, tmp_path / "origin.git")


def test_reads_from_the_remote_local_and_s3(remote_project: Project, remote: RemoteHandle,
                                            user_cache: Path):
    fs = DvliteFileSystem(repo=remote_project.url, rev=remote_project.first)
    assert fs.cat_file("model.bin") == b"v1"
    assert fs.cat_file("data/sub/b.txt") == b"beta\n"
    with fs.open("big.bin") as f:
        assert isinstance(f, ObjectFile)
        f.seek(len(BIG) // 2)
        assert f.read(100) == BIG[len(BIG) // 2: len(BIG) // 2 + 100]
    assert fs.cat_file("big.bin") == BIG
    assert _object(user_cache, remote_project.root, "big.bin").read_bytes() == BIG
    oid = read_pointer(remote_project.root / "model.bin.dvl").oid
    remote.put(f"{oid.algo}/{oid.hex[:2]}/{oid.hex}", b"v0")
    with pytest.raises(IntegrityError, match=oid.hex):
        DvliteFileSystem(repo=remote_project.url).cat_file("model.bin")
    assert not (user_cache / oid.algo / oid.hex[:2] / oid.hex).exists()


def test_processes_share_the_object_cache(project: Project, user_cache: Path, tmp_path):
    code = (
        "import sys, fsspec\n"
        "with fsspec.open('dvlite://big.bin', repo=sys.argv[1]) as f:\n"
        "    data = f.read()\n"
        "with fsspec.open('dvlite://data/a.txt', repo=sys.argv[1]) as f:\n"
        "    small = f.read()\n"
        "print(len(data), small.decode().strip())\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(user_cache.parents[1])}
    procs = [subprocess.Popen([sys.executable, "-c", code, project.url], cwd=tmp_path,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert {out for out, _ in outs} == {f"{len(BIG)} alpha 2\n"}
    assert _object(user_cache, project.root, "big.bin").read_bytes() == BIG
    assert not store_temps(user_cache)


def test_get_of_a_folder_fails_on_a_corrupt_object_and_writes_nothing_bad(
        project: Project, user_cache: Path, tmp_path):
    entry = DvliteFileSystem(repo=str(project.root)).info("data/sub/b.txt")
    hex_ = entry["hash"].split(":")[1]
    local_handle(project.store).put(f"xxh128/{hex_[:2]}/{hex_}", b"BETA\n")
    fs = DvliteFileSystem(repo=project.url)
    with pytest.raises(IntegrityError, match=r"data/sub/b\.txt"):
        fs.get("data", str(tmp_path / "out"), recursive=True)
    assert not (tmp_path / "out" / "sub" / "b.txt").exists()
    assert not (user_cache / "xxh128" / hex_[:2] / hex_).exists()


def test_no_read_ahead_still_verifies_a_read_in_order(project: Project, user_cache: Path):
    fs = DvliteFileSystem(repo=project.url)
    with fs.open("big.bin", cache_type="none", block_size=1 << 18) as f:
        assert isinstance(f, ObjectFile)
        chunks = []
        while chunk := f.read(300_000):
            chunks.append(chunk)
    assert b"".join(chunks) == BIG
    assert _object(user_cache, project.root, "big.bin").read_bytes() == BIG


def test_a_killed_reader_s_temp_file_is_removed_later(project: Project, user_cache: Path):
    stale, fresh = user_cache / "tmp" / ("a" * 32 + ".tmp"), user_cache / "tmp" / "b.tmp"
    for path in (stale, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    os.utime(stale, (1, 1))
    os.utime(fresh, (1, 1))  # not a name dvlite makes: never touched
    objects._cleaned.discard(user_cache / "tmp")
    assert DvliteFileSystem(repo=project.url).cat_file("model.bin") == b"v2"
    assert not stale.exists() and fresh.exists()
