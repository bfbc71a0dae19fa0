"""dvlite.api: read, open and ls of a repository's files at a revision, from a local path
or a git URL, with bytes from the cache or the remote."""

from __future__ import annotations

import gc
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

import dvlite.api
from dvlite.core.pointer import Pointer
from dvlite.errors import ConfigError, IntegrityError, MissingObjectsError, ScmError
from dvlite.fs import DvliteFileSystem
from dvlite.workspace.repo import close_all
from tests.api.conftest import BIG, Project, commit_all
from tests.helpers import git, read_pointer, run, snapshot, store_temps
from tests.remote.conftest import local_handle


def test_read_at_a_revision_and_inside_a_tracked_folder(project: Project):
    assert dvlite.api.read("model.bin") == b"v2"
    assert dvlite.api.read("model.bin", rev=project.first) == b"v1"
    assert dvlite.api.read("model.bin", repo=project.root, rev="HEAD~1") == b"v1"
    assert dvlite.api.read("data/a.txt", rev=project.first) == b"alpha\n"
    assert dvlite.api.read("data/sub/b.txt", repo=str(project.root)) == b"beta\n"
    assert dvlite.api.read("data/a.txt", mode="r") == "alpha 2\n"
    assert dvlite.api.read("./data/a.txt") == dvlite.api.read("/data/a.txt") == b"alpha 2\n"
    with dvlite.api.open("data/sub/b.txt", rev=project.first, mode="r") as f:
        assert f.read() == "beta\n"
    with dvlite.api.open("big.bin") as f:
        assert f.read() == BIG


def test_plain_git_files_are_read_from_git(project: Project):
    assert dvlite.api.read("README.md", rev=project.first, mode="r") == "hello\n"
    pointer = dvlite.api.read("model.bin.dvl", rev=project.first)
    assert b"path: model.bin" in pointer


def test_url_with_no_cache_reads_the_remote_and_fetches_one_commit(project: Project,
                                                                    user_cache: Path):
    assert dvlite.api.read("model.bin", repo=project.url) == b"v2"
    assert dvlite.api.read("model.bin", repo=project.url, rev="main~1") == b"v1"
    assert dvlite.api.read("data/sub/b.txt", repo=project.url, rev=project.first) == b"beta\n"
    assert dvlite.api.read("README.md", repo=project.url, rev="main") == b"hello\n"
    assert (user_cache / "xxh128").is_dir()  # the remote's bytes, kept for next time
    assert not store_temps(user_cache)
    fs = DvliteFileSystem(repo=project.url, rev=project.second)
    fetched = fs.view.source.git.root
    assert git(project.origin, "rev-list", "--all", "--count").strip() == "3"
    assert git(fetched, "rev-list", "--all", "--count").strip() == "1"
    assert git(fetched, "cat-file", "-t", project.second).strip() == "commit"
    missing = subprocess.run(["git", "cat-file", "-e", project.first], cwd=fetched,
                             capture_output=True, check=False)
    assert missing.returncode != 0  # the other commit never came


def test_bare_local_repository_and_a_copy_of_its_cache(project: Project, user_cache: Path):
    shutil.rmtree(project.store)
    with pytest.raises(MissingObjectsError, match=r"reading 'model\.bin' of"):
        dvlite.api.read("model.bin", repo=project.origin)  # no cache, no remote copy
    assert dvlite.api.read("model.bin", repo=project.root) == b"v2"  # its own cache
    assert not user_cache.exists()  # a repository's own cache is read in place


def test_rev_none_is_the_workspace_of_a_local_repository(project: Project):
    (project.root / "model.bin").write_bytes(b"v3, not committed")
    assert run("add", "model.bin").exit_code == 0
    (project.root / "README.md").write_text("edited\n")
    (project.root / "notes.txt").write_text("untracked\n")
    assert dvlite.api.read("model.bin") == b"v3, not committed"
    assert dvlite.api.read("README.md") == b"edited\n"
    assert dvlite.api.read("notes.txt") == b"untracked\n"
    assert dvlite.api.read("model.bin", rev="HEAD") == b"v2"
    assert dvlite.api.read("README.md", rev="HEAD") == b"hello\n"
    with pytest.raises(FileNotFoundError):
        dvlite.api.read("notes.txt", rev="HEAD")
    # a URL's and a bare repository's default is HEAD
    assert dvlite.api.read("model.bin", repo=project.url) == b"v2"
    assert dvlite.api.read("model.bin", repo=project.origin) == b"v2"


def test_a_stage_output_of_the_lock_file(project: Project):
    r = run("stage", "add", "-n", "make", "-o", "out.txt", "echo produced > out.txt")
    assert r.exit_code == 0, r.stderr
    assert run("repro").exit_code == 0
    commit_all(project.root, "pipeline")
    assert run("push").exit_code == 0
    assert dvlite.api.read("out.txt", rev="HEAD") == b"produced\n"
    entry = dvlite.api.ls("out.txt", rev="HEAD")[0]
    assert entry.tracked and entry.hash is not None and entry.hash.startswith("xxh128:")
    subprocess.run(["git", "push", "-q", str(project.origin), "main"], cwd=project.root,
                   check=True)
    assert dvlite.api.read("out.txt", repo=project.url) == b"produced\n"


def test_ls(project: Project):
    top = {e.name: e for e in dvlite.api.ls(rev=project.first)}
    assert {"data", "model.bin", "README.md", "model.bin.dvl", "data.dvl"} <= set(top)
    assert top["data"].type == "directory" and top["data"].tracked
    first_data = Pointer.from_bytes(git(project.root, "show", f"{project.first}:data.dvl")
                                    .encode(), "data.dvl")
    assert top["data"].hash == str(first_data.oid)
    assert top["data"].size == len(b"alpha\n") + len(b"beta\n")
    assert top["model.bin"] == dvlite.api.Entry("model.bin", "file", 2,
                                                top["model.bin"].hash, True)
    assert top["README.md"].hash is None and not top["README.md"].tracked
    inside = dvlite.api.ls("data", rev=project.first)
    assert [(e.name, e.type) for e in inside] == [("data/a.txt", "file"),
                                                  ("data/sub", "directory")]
    deep = dvlite.api.ls("data", repo=project.url, recursive=True)
    assert [(e.name, e.size) for e in deep] == [("data/a.txt", 8), ("data/sub/b.txt", 5)]
    model = read_pointer(project.root / "model.bin.dvl")
    assert dvlite.api.ls("model.bin") == [dvlite.api.Entry("model.bin", "file", 2,
                                                           str(model.oid), True)]


def test_errors(project: Project):
    with pytest.raises(FileNotFoundError):
        dvlite.api.read("no/such/file")
    with pytest.raises(FileNotFoundError):
        dvlite.api.read("data/nope.txt")
    with pytest.raises(FileNotFoundError):
        dvlite.api.read("data/../model.bin")
    with pytest.raises(FileNotFoundError):
        dvlite.api.ls("nowhere")
    with pytest.raises(FileNotFoundError):
        dvlite.api.ls("data/nowhere", recursive=True)
    with pytest.raises(IsADirectoryError):
        dvlite.api.open("data/sub")
    with pytest.raises(PermissionError):
        dvlite.api.open("model.bin", mode="wb")
    with pytest.raises(PermissionError):
        dvlite.api.open("new.txt", mode="a")
    with pytest.raises(ScmError):
        dvlite.api.read("model.bin", rev="no-such-branch")
    with pytest.raises(ScmError):
        dvlite.api.read("model.bin", repo="file:///no/such/repo.git")
    with pytest.raises(ConfigError):
        dvlite.api.read("model.bin", remote="nope")


def test_a_corrupt_object_on_the_remote_never_reaches_the_cache(project: Project,
                                                                user_cache: Path):
    oid = read_pointer(project.root / "model.bin.dvl").oid
    key = f"{oid.algo}/{oid.hex[:2]}/{oid.hex}"
    store = local_handle(project.store)
    assert key not in store.list_keys()  # a small object, in a pack
    store.put(key, b"v9")  # same size, other bytes
    with pytest.raises(IntegrityError, match=oid.hex):
        dvlite.api.read("model.bin", repo=project.url)
    assert not (user_cache / oid.algo / oid.hex[:2] / oid.hex).exists()
    assert not store_temps(user_cache)


def test_reading_leaves_the_workspace_as_it_was(project: Project, user_cache: Path):
    shutil.rmtree(project.root / ".dvlite" / "cache")  # so objects come from the remote
    # the set-up commands' sqlite connections settle their files (checkpoint, -wal gone)
    # when collected: collect them now, not in the middle of the reads
    close_all()
    gc.collect()
    before = snapshot(project.root)
    status = git(project.root, "status", "--porcelain", "--ignored")
    assert dvlite.api.read("data/a.txt", rev=project.first) == b"alpha\n"
    assert dvlite.api.read("model.bin") == b"v2"
    assert len(dvlite.api.ls(recursive=True)) > 5
    with dvlite.api.open("big.bin") as f:
        f.seek(1000)
        assert f.read(10) == BIG[1000:1010]
    assert snapshot(project.root) == before
    assert git(project.root, "status", "--porcelain", "--ignored") == status
    assert (user_cache / "xxh128").is_dir()


def test_threads_read_at_once(project: Project, user_cache: Path):
    shutil.rmtree(project.root / ".dvlite" / "cache")
    fs = DvliteFileSystem(repo=project.url, rev=project.first)
    want = {"model.bin": b"v1", "data/a.txt": b"alpha\n", "data/sub/b.txt": b"beta\n",
            "big.bin": BIG, "README.md": b"hello\n"}
    errors: list[BaseException] = []

    def reader(i: int) -> None:
        try:
            for name in list(want)[i % 5:] + list(want)[: i % 5]:
                assert fs.cat_file(name) == want[name]
                assert dvlite.api.read(name, repo=project.url, rev="main~1") == want[name]
                with fs.open("big.bin") as f:
                    f.seek(len(BIG) - 100 - i)
                    assert f.read(50) == BIG[-100 - i: -50 - i]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not store_temps(user_cache)


def test_a_modified_pointer_in_the_workspace_without_its_object(project: Project):
    (project.root / "model.bin").write_bytes(b"never added anywhere")
    assert run("add", "model.bin").exit_code == 0
    oid = read_pointer(project.root / "model.bin.dvl").oid
    (project.root / ".dvlite" / "cache" / oid.algo / oid.hex[:2] / oid.hex).unlink()
    with pytest.raises(MissingObjectsError):
        dvlite.api.read("model.bin")
    git(project.root, "checkout", "-q", "HEAD", "--", "model.bin.dvl")
    assert dvlite.api.read("model.bin") == b"v2"


def test_remote_names_another_remote_of_the_repository(project: Project, tmp_path: Path):
    backup = tmp_path / "backup"
    assert run("remote", "add", "backup", str(backup)).exit_code == 0
    commit_all(project.root, "a second remote")
    assert run("push", "-r", "backup", "--all-commits").exit_code == 0
    subprocess.run(["git", "push", "-q", str(project.origin), "main"], cwd=project.root,
                   check=True)
    shutil.rmtree(project.store)
    assert dvlite.api.read("model.bin", repo=project.url, remote="backup") == b"v2"
    with pytest.raises(ConfigError, match="unknown remote 'backup'"):  # not at that commit
        dvlite.api.read("data/a.txt", repo=project.url, rev=project.first, remote="backup")
    with pytest.raises(MissingObjectsError):
        dvlite.api.read("data/sub/b.txt", repo=project.url)  # the default one is gone


def test_a_url_that_is_no_repository_is_one_clear_error(tmp_path: Path):
    url = f"file://{tmp_path / 'nosuch.git'}"
    with pytest.raises(ScmError) as caught:
        dvlite.api.read("data.csv", repo=url)
    # git's cause, not its closing advice ("... and the repository exists.")
    assert f"cannot read git repository '{url}'" in caught.value.msg
    assert "does not appear to be a git repository" in caught.value.msg
