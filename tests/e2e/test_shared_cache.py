"""One `cache.dir` (outside every repository, set in `.dvlite/config.local`) shared by
three repositories running `add`, `pull` and `checkout` at the same time: nothing is
corrupted and every object verifies. `gc` in one of them refuses (another repository
may need the objects it does not), unless `--force`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dvlite.storage.hashing import hash_file
from tests.helpers import gen, git, run_proc, store_temps

pytestmark = pytest.mark.e2e

V1 = {"data": {f"f{i:03}.txt": f"version 1, file {i}\n" * 30 for i in range(120)},
      "model.bin": os.urandom(4 << 20)}
NEW = {"extra": {f"e{i:03}.txt": f"only in A, file {i}\n" * 30 for i in range(120)},
       "extra.bin": os.urandom(4 << 20)}


def ok(cwd: Path, *args: str) -> str:
    r = run_proc(*args, cwd=cwd)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def use_cache(repo: Path, cache: Path) -> None:
    ok(repo, "config", "--local", "cache.dir", str(cache))


def clone(origin: Path, dest: Path, cache: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True)
    use_cache(dest, cache)
    return dest


def verify_cache(cache: Path) -> int:
    """Every object hashes to its name and is read-only; no temp file is left."""
    objects = list(cache.glob("xxh128/??/*"))
    for path in objects:
        assert hash_file(path, "xxh128")[0].hex == path.name, path
        assert not path.stat().st_mode & 0o222, path
    assert store_temps(cache) == []
    return len(objects)


@pytest.fixture
def three(repo: Path, tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """A with v1 added and pushed; B (pulls) and C (checks out) cloned from it; all three
    on one cache in tmp_path/shared."""
    cache = tmp_path / "shared"
    use_cache(repo, cache)
    gen(repo, V1)
    ok(repo, "add", "data", "model.bin")
    ok(repo, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    ok(repo, "push")
    b = clone(repo, tmp_path / "b", cache)
    c = clone(repo, tmp_path / "c", cache)
    shutil.rmtree(cache)  # B must really pull; C checks out what B's pull brings
    return repo, b, c, cache


def test_concurrent_add_pull_checkout_on_one_cache(
        three: tuple[Path, Path, Path, Path]) -> None:
    a, b, c, cache = three
    gen(a, NEW)
    procs = [subprocess.Popen([sys.executable, "-m", "dvlite", *args], cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for cwd, args in ((a, ("add", "extra", "extra.bin")), (b, ("pull",)),
                               (c, ("pull",)), (c, ("fetch",)))]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    ok(c, "checkout")
    assert verify_cache(cache) > 240
    for repo in (a, b, c):
        ok(repo, "fsck")
        ok(repo, "status", "--exit-code")
    for repo in (b, c):
        assert (repo / "model.bin").read_bytes() == V1["model.bin"]
        assert (repo / "data" / "f007.txt").read_text() == V1["data"]["f007.txt"]


def test_gc_refuses_on_a_shared_cache_unless_forced(
        three: tuple[Path, Path, Path, Path]) -> None:
    a, b, c, cache = three
    ok(b, "pull")
    ok(c, "checkout")
    gen(a, NEW)
    ok(a, "add", "extra", "extra.bin")  # objects only A uses (not committed anywhere)
    before = verify_cache(cache)

    r = run_proc("gc", cwd=b)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"error: the cache {cache} is shared with 2 other "
                               "repositories"), r.stderr
    assert str(a) in lines[0] and str(c) in lines[0]
    assert lines[1].startswith("hint: ") and "--force" in lines[1]
    assert verify_cache(cache) == before  # nothing deleted

    preview = ok(b, "gc", "--dry-run")
    assert preview.count("cache\t") == 122  # A's new files, their manifest, extra.bin
    assert verify_cache(cache) == before

    ok(b, "gc", "--force")  # deletes what B does not use, A's new data included
    assert verify_cache(cache) == before - 122
    ok(b, "fsck")
    ok(c, "fsck")
    r = run_proc("fsck", cwd=a)
    assert r.returncode != 0  # the documented cost of --force
    ok(a, "add", "extra", "extra.bin")  # A still has the files: adding them again heals it
    ok(a, "fsck")


def test_gc_in_a_repository_with_its_own_outside_cache_needs_no_force(
        repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "bigdisk"
    use_cache(repo, cache)
    gen(repo, {"junk.txt": "unused"})
    ok(repo, "add", "junk.txt")
    git(repo, "rm", "-q", "--cached", "junk.txt.dvl")
    (repo / "junk.txt.dvl").unlink()
    assert "deleted 1 " in ok(repo, "gc")
    assert verify_cache(cache) == 0


def test_a_deleted_repository_no_longer_counts(three: tuple[Path, Path, Path, Path]) -> None:
    a, b, c, cache = three
    ok(b, "pull")
    ok(c, "checkout")
    shutil.rmtree(c)
    shutil.rmtree(a)
    ok(b, "gc")
    assert len(list((cache / "repos").iterdir())) == 1  # B's entry; the others dropped


def test_a_repository_whose_cache_is_used_by_another_refuses_too(
        repo: Path, tmp_path: Path) -> None:
    """B's cache.dir points into A's own `.dvlite/cache`: gc in A would delete B's
    objects, gc in B would delete A's."""
    gen(repo, {"a.txt": "A"})
    ok(repo, "add", "a.txt")
    other = tmp_path / "b"
    other.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=other, check=True)
    ok(other, "init")
    use_cache(other, repo / ".dvlite" / "cache")
    gen(other, {"b.txt": "B"})
    ok(other, "add", "b.txt")
    for here, there in ((repo, other), (other, repo)):
        r = run_proc("gc", "--workspace", cwd=here)
        assert r.returncode == 1, r.stderr
        assert str(there) in r.stderr
