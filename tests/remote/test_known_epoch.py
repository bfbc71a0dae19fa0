"""A clone's known objects of a remote are tied to the remote's epoch: a wiped remote, or
one another machine's gc --remote deleted from, is never trusted to hold what it lost."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from dvlite.storage.remote.base import FORMAT_FILE
from tests.helpers import gen, git, run
from tests.remote.conftest import RemoteHandle, configure


def _push(repo: Path) -> dict[str, int]:
    r = run("push", "--json", cwd=repo)
    assert r.exit_code == 0, r.stderr
    doc: dict[str, int] = json.loads(r.stdout)
    return doc


def _age_known(repo: Path) -> None:
    """Make the last epoch check look older than any remote's known_ttl."""
    with sqlite3.connect(repo / ".dvlite" / "remotes.db") as db:
        assert db.execute("UPDATE epochs SET checked = checked - 86400").rowcount == 1


def _epoch(remote: RemoteHandle) -> str:
    lines = remote.read(FORMAT_FILE).decode().splitlines()
    assert lines[1] == "dvlite remote layout 2"
    assert lines[0].startswith("epoch ") and len(lines[0].split()[1]) == 32
    return lines[0].split()[1]


def _wipe(remote: RemoteHandle) -> None:
    for key in remote.list_keys():
        remote.raw_delete(key)
    assert not remote.list_keys()


def test_a_wiped_remote_gets_everything_again(repo: Path, remote: RemoteHandle) -> None:
    gen(repo, {"data": {f"f{i}.txt": f"file {i}\n" for i in range(5)}, "m.bin": b"model"})
    assert run("add", "data", "m.bin").exit_code == 0
    assert _push(repo)["transferred"] == 7  # 5 files, the manifest, m.bin
    epoch = _epoch(remote)
    assert _push(repo)["transferred"] == 0
    _wipe(remote)
    if remote.kind == "s3":
        # status --remote trusts the known objects for known_ttl without asking S3
        r = run("status", "--remote", "--json")
        assert r.exit_code == 0 and json.loads(r.stdout)["clean"] is True
        _age_known(repo)
    r = run("status", "--remote", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["clean"] is False
    assert _push(repo)["transferred"] == 7
    assert len(remote.objects()) == 7
    assert _epoch(remote) != epoch  # a new format file, a new epoch
    assert _push(repo)["transferred"] == 0


def test_gc_on_another_clone_drops_this_clones_known_objects(
        repo: Path, remote: RemoteHandle, tmp_path: Path) -> None:
    gen(repo, {"m.bin": b"v1"})
    assert run("add", "m.bin").exit_code == 0
    git(repo, "commit", "-qm", "v1")
    assert _push(repo)["transferred"] == 1
    (repo / "m.bin").write_bytes(b"v2, not committed here yet")
    assert run("add", "m.bin").exit_code == 0
    assert _push(repo)["transferred"] == 1
    before = _epoch(remote)

    other = tmp_path / "other"
    shutil.copytree(repo, other)
    shutil.rmtree(other / ".dvlite" / "cache")
    (other / ".dvlite" / "remotes.db").unlink()
    git(other, "checkout", "-q", "HEAD", "--", "m.bin.dvl")  # back to v1 there
    r = run("gc", "--remote", "--now", "--yes", "--workspace", cwd=other)
    assert r.exit_code == 0, r.stderr
    assert len(remote.objects()) == 1  # v2 is gone from the remote
    assert _epoch(remote) != before

    # at once, however recently the epoch was checked: every push reads the epoch
    assert _push(repo)["transferred"] == 1  # v2 again, though this clone had pushed it
    assert len(remote.objects()) == 2


def test_a_push_right_after_another_clones_repair_uploads_again(
        repo: Path, remote: RemoteHandle, tmp_path: Path) -> None:
    """The repair hint works at once: repair renews the epoch, a push reads it."""
    gen(repo, {"m.bin": b"good bytes"})
    assert run("add", "m.bin").exit_code == 0
    git(repo, "commit", "-qm", "m")
    assert _push(repo)["transferred"] == 1
    other = tmp_path / "other"
    shutil.copytree(repo, other)
    key = next(k for k in remote.objects())
    remote.put(key, b"rotten bytes")
    r = run("fsck", "--remote", "--repair", cwd=other)
    assert r.exit_code != 0 and remote.objects() == [], r.stdout
    assert _push(repo)["transferred"] == 1  # not "Everything is up to date"
    assert remote.read(key) == b"good bytes"


def test_gc_renews_the_epoch_and_a_dry_run_does_not(repo: Path, remote: RemoteHandle) -> None:
    gen(repo, {"m.bin": b"v1"})
    assert run("add", "m.bin").exit_code == 0
    assert _push(repo)["transferred"] == 1
    (repo / "m.bin").write_bytes(b"v2")
    assert run("add", "m.bin").exit_code == 0
    assert _push(repo)["transferred"] == 1
    first = _epoch(remote)
    assert run("gc", "--remote", "--now", "--yes", "--dry-run").exit_code == 0
    assert _epoch(remote) == first
    assert run("gc", "--remote", "--now", "--yes", "--workspace").exit_code == 0
    assert _epoch(remote) != first
    assert _push(repo)["transferred"] == 0  # what is left is still known to be there
    assert len(remote.objects()) == 1


def test_format_file_without_an_epoch_is_read(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / FORMAT_FILE).write_text("dvlite remote layout 1\n")
    configure("origin", str(store), {})
    gen(repo, {"m.bin": b"v1"})
    assert run("add", "m.bin").exit_code == 0
    assert _push(repo)["transferred"] == 1
    assert (store / FORMAT_FILE).read_text() == "dvlite remote layout 1\n"
    assert _push(repo)["transferred"] == 0


def test_a_push_with_work_checks_known_objects_trusted_for_their_age(
        repo: Path, remote: RemoteHandle) -> None:
    """Within known_ttl the known objects of an S3 remote are trusted without a request,
    but a push that has something to upload reads the epoch first: a wiped remote gets
    everything again."""
    gen(repo, {"data": {f"f{i}.txt": f"file {i}\n" for i in range(4)}})
    assert run("add", "data").exit_code == 0
    assert _push(repo)["transferred"] == 5
    _wipe(remote)
    gen(repo, {"new.bin": b"something to upload"})
    assert run("add", "new.bin").exit_code == 0
    doc = _push(repo)
    assert (doc["transferred"], doc["already_present"]) == (6, 0)
    assert len(remote.objects()) == 6
