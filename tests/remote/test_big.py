"""Big files move with bounded memory: multipart upload, streamed download (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dvlite.storage.remote.fsspec_backend import CHUNKSIZE
from dvlite.storage.remote.s3_retry import PART_CONCURRENCY
from tests.helpers import run
from tests.remote.conftest import configure
from tests.remote.s3fixtures import BUCKET, S3, s3_remote_options

SIZE = 96 << 20

# VmHWM, not ru_maxrss: the forking worker's high-water mark survives exec in ru_maxrss.
CHILD = """
import re, sys
from dvlite.cli.main import app
sys.argv = ["dvlite", *sys.argv[1:]]
try:
    app()
finally:
    with open("/proc/self/status") as status:
        peak = re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)
    print("maxrss_kib", peak, file=sys.stderr)
"""


def _rss(repo: Path, *args: str) -> int:
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=repo, text=True,
                          capture_output=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stderr.rsplit("maxrss_kib", 1)[1].split()[0]) << 10


@pytest.mark.slow
@pytest.mark.s3
def test_big_file_push_pull_bounded_memory(repo, s3: S3):
    configure("origin", f"s3://{BUCKET}/big", s3_remote_options(s3.endpoint))
    (repo / "small.bin").write_bytes(b"small")
    assert run("add", "small.bin").exit_code == 0
    base_push = _rss(repo, "push", "small.bin")  # the same code paths, tiny data
    with open(repo / "big.bin", "wb") as f:
        for _ in range(SIZE >> 20):
            f.write(os.urandom(1 << 20))
    assert run("add", "big.bin").exit_code == 0
    push_rss = _rss(repo, "push", "big.bin") - base_push
    key = [k for k in s3.keys("big/xxh128/")]
    assert len(key) == 1  # big.bin, loose; small.bin went into a pack
    shutil.rmtree(repo / ".dvlite" / "cache")
    expected = (repo / "big.bin").read_bytes()
    (repo / "big.bin").unlink()
    base_pull = _rss(repo, "pull", "small.bin")
    pull_rss = _rss(repo, "pull", "big.bin") - base_pull
    assert (repo / "big.bin").read_bytes() == expected
    print(f"extra peak RSS: push {push_rss >> 20} MiB, pull {pull_rss >> 20} MiB")
    # Parts in flight, each held about twice on its way out (measured: 65 MiB extra for a
    # 96 MiB file and for a 256 MiB one alike): a bound set by the part size, not the file.
    bound = 2 * PART_CONCURRENCY * CHUNKSIZE + (16 << 20)
    assert push_rss < bound, f"push used {push_rss >> 20} MiB more for {SIZE >> 20} MiB"
    assert pull_rss < SIZE // 4, f"pull used {pull_rss >> 20} MiB more for {SIZE >> 20} MiB"
