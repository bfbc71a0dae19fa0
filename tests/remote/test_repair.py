"""fsck --remote --repair: bad copies on the remote are deleted, so a push from a machine
that has the data replaces them (create-only writes never overwrite a bad object)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dvlite.core.oid import hash_bytes
from tests.helpers import check_repo, gen, git, run, snapshot
from tests.remote.conftest import RemoteHandle

BIG = b"B" * 1_200_000  # over the pack limit: a loose object


def _key(data: bytes) -> str:
    oid = hash_bytes("xxh128", data)
    return f"xxh128/{oid.hex[:2]}/{oid.hex}"


def test_repair_removes_bad_copies_and_a_push_replaces_them(repo: Path,
                                                          remote: RemoteHandle) -> None:
    files = {f"f{i}.txt": f"file number {i}\n" for i in range(6)}
    gen(repo, {"d": {**files, "big.bin": BIG}})
    assert run("add", "d").exit_code == 0
    git(repo, "commit", "-qm", "data")
    assert run("push").exit_code == 0
    before = {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/")}
    small = _key(b"file number 2\n")
    remote.put(small, b"FILE NUMBER 2\n")  # same size, wrong bytes (inside a pack)
    remote.put(_key(BIG), BIG[:1000])  # truncated loose object
    # a push trusts what is there: create-only writes never replace a bad object
    assert json.loads(run("push", "--json").stdout)["transferred"] == 0

    r = run("fsck", "--remote", "--repair", "--json")
    assert r.exit_code == 3  # what was found is still reported
    doc = json.loads(r.stdout)
    assert len(doc["corrupt"]) == 1 and len(doc["wrong_size"]) == 1
    assert sorted(doc["removed"]) == sorted(
        str(hash_bytes("xxh128", d)) for d in (b"file number 2\n", BIG))
    objects = remote.objects()
    assert small not in objects and _key(BIG) not in objects
    assert _key(b"file number 3\n") in objects  # the rest of its pack is kept
    assert remote.read(_key(b"file number 3\n")) == b"file number 3\n"

    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 2
    assert run("fsck", "--remote").exit_code == 0
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "d")
    assert run("pull").exit_code == 0
    assert {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/")} == before
    check_repo(repo)


def test_repair_on_a_clean_remote_removes_nothing(repo: Path, remote: RemoteHandle) -> None:
    gen(repo, {"a.txt": "a"})
    assert run("add", "a.txt").exit_code == 0
    assert run("push").exit_code == 0
    keys = remote.list_keys()
    r = run("fsck", "--remote", "--repair", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["removed"] == []
    assert remote.list_keys() == keys


def test_repair_needs_remote(repo: Path) -> None:
    r = run("fsck", "--repair")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: --repair works with --remote")
