"""gc.grace protects objects a push found already on the remote: an old unreferenced
object that a new commit uses again survives another clone's gc --remote (freshened on
push, as git freshens the objects it would have written).

Ages are made, not waited for: the remote's files get old mtimes and this clone's
note of when it last made them young is moved back by the same amount."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from dvlite.core.oid import hash_bytes
from tests.helpers import check_repo, gen, git, run
from tests.remote.conftest import RemoteHandle

GRACE = 3.0
BIG = 1536 << 10  # over PACK_OBJECT_MAX: a loose object
AGE = 100.0


def _age_everything(repo: Path, store: Path) -> None:
    """As if every push so far had happened AGE seconds ago."""
    past = time.time() - AGE
    for path in store.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))
    with sqlite3.connect(repo / ".dvlite" / "remotes.db") as db:
        db.execute("UPDATE fresh SET at = at - ?", [AGE])


def _markers(store: Path) -> list[Path]:
    return sorted((store / "fresh").glob("*")) if (store / "fresh").exists() else []


def _clone(repo: Path, dest: Path) -> Path:
    """Another machine's clone of `repo` as it is now: no cache, no known objects."""
    shutil.copytree(repo, dest)
    shutil.rmtree(dest / ".dvlite" / "cache")
    (dest / ".dvlite" / "remotes.db").unlink()
    return dest


def _push(cwd: Path) -> dict[str, int]:
    r = run("push", "--json", cwd=cwd)
    assert r.exit_code == 0, r.stderr
    doc: dict[str, int] = json.loads(r.stdout)
    return doc


@pytest.mark.parametrize("remote", ["local"], indirect=True)  # S3 mtimes cannot be set
@pytest.mark.parametrize("size", [100, BIG], ids=["packed", "loose"])
def test_an_old_object_used_again_survives_another_clones_gc(
        repo: Path, remote: RemoteHandle, tmp_path: Path, size: int) -> None:
    store = tmp_path / "store"
    assert run("config", "gc.grace", f"{GRACE:g}s").exit_code == 0
    gen(repo, {"base.txt": "base\n"})
    assert run("add", "base.txt").exit_code == 0
    git(repo, "commit", "-qm", "base")
    x = os.urandom(size)
    tree = {"x.bin": x, "d": {"a.txt": "a\n", "b.txt": "b\n"}}
    git(repo, "checkout", "-qb", "side")
    gen(repo, tree)
    assert run("add", "x.bin", "d").exit_code == 0
    git(repo, "commit", "-qm", "x on a branch")
    assert _push(repo)["transferred"] == 5  # base, x, a, b, d's manifest
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-qD", "side")
    _age_everything(repo, store)
    other = _clone(repo, tmp_path / "other")  # has not seen what follows

    gen(repo, tree)  # the same bytes, tracked again on main
    assert run("add", "x.bin", "d").exit_code == 0
    git(repo, "commit", "-qm", "x on main")
    doc = _push(repo)
    assert (doc["transferred"], doc["failed"]) == (0, 0)  # "Everything is up to date"
    assert len(_markers(store)) == 1
    assert _push(repo)["transferred"] == 0
    assert len(_markers(store)) == 1  # freshened once, not on every push

    r = run("gc", "--remote", "--yes", "--json", cwd=other)
    assert r.exit_code == 0, r.stderr
    gc_doc = json.loads(r.stdout)
    assert gc_doc["remote"] == [] and gc_doc["kept_younger_than_grace"] == 4
    assert f"xxh128/{hash_bytes('xxh128', x).hex[:2]}/{hash_bytes('xxh128', x).hex}" in \
        remote.objects()

    fresh = _clone(repo, tmp_path / "fresh")
    r = run("pull", cwd=fresh)
    assert r.exit_code == 0, r.stderr
    assert (fresh / "x.bin").read_bytes() == x
    assert (fresh / "d" / "b.txt").read_text() == "b\n"
    check_repo(fresh)


@pytest.mark.parametrize("remote", ["local"], indirect=True)
def test_gc_deletes_markers_older_than_the_grace_and_what_they_no_longer_protect(
        repo: Path, remote: RemoteHandle, tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run("config", "gc.grace", f"{GRACE:g}s").exit_code == 0
    gen(repo, {"x.bin": b"old bytes"})
    assert run("add", "x.bin").exit_code == 0
    assert _push(repo)["transferred"] == 1
    _age_everything(repo, store)
    assert _push(repo)["transferred"] == 0  # due: freshened by a marker
    assert len(_markers(store)) == 1
    (repo / "x.bin").unlink()
    (repo / "x.bin.dvl").unlink()  # never committed: nothing references it any more
    assert run("gc", "--remote", "--yes").exit_code == 0
    assert len(remote.objects()) == 1 and len(_markers(store)) == 1  # still young
    _age_everything(repo, store)
    r = run("gc", "--remote", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)["remote"]) == 1
    assert remote.objects() == [] and _markers(store) == []


@pytest.mark.parametrize("remote", ["local"], indirect=True)
def test_no_grace_no_markers(repo: Path, remote: RemoteHandle, tmp_path: Path) -> None:
    assert run("config", "gc.grace", "0").exit_code == 0
    gen(repo, {"x.bin": b"bytes"})
    assert run("add", "x.bin").exit_code == 0
    assert _push(repo)["transferred"] == 1
    _age_everything(repo, tmp_path / "store")
    assert _push(repo)["transferred"] == 0
    assert _markers(tmp_path / "store") == []
