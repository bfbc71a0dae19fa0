"""Disk full in the cache (RELIABILITY F15) and a huge sparse file with bounded memory (B11)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.func.util import user_snapshot
from tests.helpers import gen, read_pointer, run_proc

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: real ENOSPC (needs root and CAP_SYS_ADMIN)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True, check=False)
    if r.returncode:
        pytest.skip(f"cannot mount tmpfs: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if not p.is_dir()]


@pytest.mark.root
@pytest.mark.parametrize("target", ["big.bin", "folder"])
def test_add_into_a_full_cache(repo: Path, small_fs: Path, target: str) -> None:
    gen(repo, {"big.bin": os.urandom(3 << 20), "folder": {"a": "small", "b": os.urandom(2 << 20)}})
    before = user_snapshot(repo)
    r = run_proc("add", target, cwd=repo, env={"DVLITE_CACHE_DIR": str(small_fs)})
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0].startswith("error: no space left while writing to the cache"), r.stderr
    assert lines[1:] == ["hint: free some disk space"]
    # no partial object and no temp file; the small object that fitted may stay (harmless),
    # and so does the note that this repository uses the cache
    for leftover in files_under(small_fs):
        assert leftover.parent.parent.name == "xxh128" or leftover.parent.name == "repos", \
            leftover
        assert leftover.stat().st_size < 100
    assert user_snapshot(repo) == before  # no pointer, no .gitignore, workspace untouched


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


@pytest.mark.parametrize("size", [3 << 20, 17 << 20])  # both sides of add's big-file path
def test_add_with_file_size_limit(repo: Path, size: int) -> None:
    """Unprivileged stand-in for a full disk: RLIMIT_FSIZE makes writes fail with EFBIG."""
    gen(repo, {"big.bin": os.urandom(size)})
    before = user_snapshot(repo)
    r = subprocess.run([sys.executable, "-m", "dvlite", "add", "big.bin"], cwd=repo,
                       capture_output=True, text=True, preexec_fn=_limit_file_size, check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("error: no space left while writing to the cache"), r.stderr
    assert "Traceback" not in r.stderr
    cache = repo / ".dvlite" / "cache"
    assert files_under(cache) == []
    assert user_snapshot(repo) == before
    r = run_proc("add", "big.bin", cwd=repo)  # with room again, add completes
    assert r.returncode == 0, r.stderr


# Runs `python -m dvlite ARGS` and writes its peak RSS (KiB) to the file named by argv[1].
# VmHWM, not ru_maxrss: Linux carries the forking pytest worker's high-water mark into
# ru_maxrss across exec, so a worker grown large would be counted as dvlite's use.
WRAPPER = """
import re, runpy, sys
out, sys.argv = sys.argv[1], ["dvlite", *sys.argv[2:]]
try:
    runpy.run_module("dvlite", run_name="__main__")
finally:
    with open("/proc/self/status") as status, open(out, "w") as f:
        f.write(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
"""


@pytest.mark.slow
def test_huge_sparse_file_bounded_memory(repo: Path) -> None:
    size = 5 << 30
    big = repo / "huge.bin"
    with open(big, "wb") as f:
        f.truncate(size)
    out = repo.parent / "maxrss"
    try:
        r = subprocess.run([sys.executable, "-c", WRAPPER, str(out), "add", "huge.bin"], cwd=repo,
                           capture_output=True, text=True, timeout=900, check=False)
        assert r.returncode == 0, r.stderr
        maxrss_mib = int(out.read_text()) / 1024
        assert maxrss_mib < 150, f"add used {maxrss_mib:.0f} MiB"
        p = read_pointer(repo / "huge.bin.dvl")
        assert p.size == size
        import xxhash

        h = xxhash.xxh3_128()
        zeros = bytes(1 << 24)
        for _ in range(size // len(zeros)):
            h.update(zeros)
        assert p.oid.hex == h.hexdigest()
    finally:
        for obj in (repo / ".dvlite" / "cache").rglob("*"):
            if obj.is_file():
                obj.unlink()
        big.unlink()


def test_checkout_into_a_full_disk_leaves_no_partial_file(repo: Path) -> None:
    gen(repo, {"big.bin": os.urandom(3 << 20), "small.bin": "s"})
    assert run_proc("add", "big.bin", "small.bin", cwd=repo).returncode == 0
    (repo / "big.bin").unlink()
    r = subprocess.run([sys.executable, "-m", "dvlite", "checkout"], cwd=repo,
                       capture_output=True, text=True, preexec_fn=_limit_file_size, check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("error: no space left while checking out big.bin"), r.stderr
    assert not (repo / "big.bin").exists()
    assert not list(repo.glob(".*dvlite-tmp*"))
    assert run_proc("checkout", cwd=repo).returncode == 0
    assert (repo / "big.bin").stat().st_size == 3 << 20
