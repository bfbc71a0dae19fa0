"""Transient and persistent S3 faults through a proxy in front of moto (F7, F8, F10, F14),
and how many requests a no-op push makes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dvlite.core.oid import hash_bytes
from tests.helpers import check_repo, gen, git, run, run_proc
from tests.remote.conftest import s3_handle
from tests.remote.faultproxy import Rule
from tests.remote.s3fixtures import BUCKET

pytestmark = pytest.mark.s3



def _files(repo: Path, n: int) -> None:
    gen(repo, {"d": {f"f{i:04}": f"content {i}" for i in range(n)}})
    assert run("add", "d").exit_code == 0
    git(repo, "commit", "-qm", "data")


def test_transient_500_then_ok(repo, proxy, s3):
    _files(repo, 5)
    proxy.add(Rule("status", method="PUT", status=500, first=2))
    proxy.add(Rule("status", method="HEAD", status=503, first=1))
    r = run("push")
    assert r.exit_code == 0, r.stderr
    assert len(s3_handle(s3, "store").objects()) == 6
    assert proxy.stats.faults == 3
    # format file, a pack and its index for the files, then for the manifest, 2 retried
    assert proxy.stats.requests["PUT"] == 1 + 2 + 2 + 2


def test_connection_reset_on_download_is_retried(repo, proxy):
    _files(repo, 3)
    assert run("push").exit_code == 0
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "d")
    proxy.add(Rule("reset", method="GET", first=2))
    r = run("pull")
    assert r.exit_code == 0, r.stderr
    assert (repo / "d" / "f0002").read_text() == "content 2"
    check_repo(repo)


def test_persistent_500_on_one_object_partial_push_then_rerun(repo, proxy, s3):
    gen(repo, {"d": {**{f"f{i:04}": f"content {i}" for i in range(5)},
                     "big.bin": b"B" * (1_100_000)}})  # past the pack limit: loose
    assert run("add", "d").exit_code == 0
    victim = hash_bytes("xxh128", b"B" * 1_100_000).hex
    rule = proxy.add(Rule("status", method="PUT", path=victim, status=500))
    start = time.monotonic()
    r = run("push", "-j", "1", "--json")
    elapsed = time.monotonic() - start
    assert r.exit_code == 1
    assert elapsed < 30  # retries are bounded (retries=2 in the test remote)
    doc = json.loads(r.stdout)
    assert doc["transferred"] == 5  # the other files
    assert {f["path"] for f in doc["failures"]} == {"d/big.bin", "d"}  # manifest held back
    assert 2 <= rule.fired <= 4  # retried, but bounded (retries=2 in the test remote)
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(line) == 1 and "origin" in line[0] and victim in line[0]
    proxy.reset()
    r = run("push", "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["transferred"] == 2
    assert len(s3_handle(s3, "store").objects()) == 7


def test_a_failed_pack_fails_its_objects_and_a_rerun_finishes(repo, proxy, s3):
    _files(repo, 6)
    rule = proxy.add(Rule("status", method="PUT", path=r"\.pack", status=500))
    r = run("push", "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["transferred"] == 0 and doc["failed"] == 7  # 6 files, the manifest
    assert rule.fired >= 2  # retried, but bounded
    assert s3_handle(s3, "store").objects() == []
    proxy.reset()
    r = run("push", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["transferred"] == 7
    assert run("fsck", "--remote").exit_code == 0


def test_access_denied_is_one_clear_error(repo, proxy):
    _files(repo, 2)
    proxy.add(Rule("status", status=403))
    r = run("push")
    assert r.exit_code == 1
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "permission denied on remote 'origin'" in errors[0]
    assert "Traceback" not in r.stderr
    # 403 is not retried; botocore may probe the bucket region once per HEAD on a 403
    assert proxy.stats.total <= 6 * 3


def test_noop_push_asks_the_remote_only_its_epoch(repo, proxy):
    _files(repo, 300)
    assert run("push").exit_code == 0
    proxy.reset()
    r = run("push")
    assert r.exit_code == 0 and "up to date" in r.stdout
    assert dict(proxy.stats.requests) == {"GET": 1}  # the format file, nothing else
    (repo / ".dvlite" / "remotes.db").unlink()  # without known objects: batched listing
    proxy.reset()
    r = run("push", "--json")
    assert json.loads(r.stdout)["already_present"] == 301
    assert proxy.stats.requests["HEAD"] == 0
    # the format file, the listing of packs, the index of the files' pack and of the
    # manifest's: nothing is asked object by object; then, as the objects were only
    # found there, the format file again and one freshen marker for all of them
    assert proxy.stats.total == 4 + 2
    assert proxy.stats.requests["PUT"] == 1


@pytest.mark.crash
@pytest.mark.slow
def test_kill_during_multipart_upload_then_gc_aborts_it(repo, proxy, s3):
    """F6: a killed multipart push leaves an invisible orphan upload; gc --remote aborts
    it and a re-run push completes."""
    import os
    import signal
    import subprocess
    import sys

    size = 40 << 20  # above two 16 MiB parts: a multipart upload
    with open(repo / "big.bin", "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    assert run("add", "big.bin").exit_code == 0
    held = proxy.add(Rule("hold", method="PUT", path=r"partNumber=2"))
    child = subprocess.Popen([sys.executable, "-m", "dvlite", "push"], cwd=repo,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert held.hit.wait(120), "the second part never arrived"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        held.release.set()
    # the dead push's held part reaches the server before gc looks, not during the re-run
    assert held.done.wait(120), "the held part was never forwarded"
    client = s3.client()
    assert not s3.keys("store/xxh128/")  # nothing visible
    uploads = client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert len(uploads) == 1
    proxy.reset()
    r = run("gc", "--remote", "--now", "--yes")
    assert r.exit_code == 0 and "aborted 1 stale multipart uploads" in r.stdout
    assert not client.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    assert run("push").exit_code == 0
    assert len(s3.keys("store/xxh128/")) == 1
    assert run("fsck", "--remote").exit_code == 0


def test_lost_ack_is_idempotent(repo, proxy, s3):
    """F13: the server stored the object but the client saw a 500; the create-only retry
    finds it there (412) and counts it as present."""
    _files(repo, 3)
    rule = proxy.add(Rule("lost_ack", method="PUT", path=r"\.pack", status=500, first=1))
    r = run("push", "-j", "1", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert rule.fired == 1
    assert doc["transferred"] + doc["already_present"] == 4 and doc["failed"] == 0
    assert len(s3_handle(s3, "store").objects()) == 4
    assert run("fsck", "--remote").exit_code == 0


def test_read_timeout_is_retried(repo, s3, proxy):
    """F9: a response slower than read_timeout is abandoned and retried."""
    _files(repo, 2)
    assert run("push").exit_code == 0
    assert run("remote", "modify", "origin", "read_timeout", "1").exit_code == 0
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "d")
    held = proxy.add(Rule("hold", method="GET", path=r"/xxh128/", first=1))
    try:
        r = run("pull")
    finally:
        held.release.set()
    assert r.exit_code == 0, r.stderr
    assert held.fired == 1
    assert (repo / "d" / "f0001").read_text() == "content 1"


@pytest.mark.parametrize("seed", [2, 3, 5])
def test_dropped_responses_show_no_traceback(repo, proxy, seed):
    """A response dropped after the server acted (no answer, connection closed) is
    retried; stderr shows at most the one error line, never a traceback."""
    import random

    rnd = random.Random(seed)
    gen(repo, {"d": {f"f{i}": rnd.randbytes(rnd.randint(1, 4096)) for i in range(30)},
               "big.bin": rnd.randbytes(3 << 20)})
    assert run("add", "d", "big.bin").exit_code == 0
    for args, method in ((("push",), "PUT|GET|HEAD"), (("pull",), "GET|HEAD")):
        if args == ("pull",):
            shutil.rmtree(repo / ".dvlite" / "cache")
        proxy.reset()
        proxy.add(Rule("drop_response", method=method, every=seed))
        r = run_proc(*args, cwd=repo)
        assert "Traceback" not in r.stderr and "never retrieved" not in r.stderr, r.stderr
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
        assert (r.returncode, errors) == (0, []) or len(errors) == 1, r.stderr
        assert proxy.stats.faults > 0
    proxy.reset()
    assert run("pull").exit_code == 0
    check_repo(repo)


_ORPHAN_TASK = """
import asyncio, gc, sys
from dvlite.storage.remote.options import FsspecOptions
from dvlite.storage.remote.fsspec_backend import FsspecBackend

remote = FsspecBackend.from_options(
    "o", "s3://b/p", FsspecOptions(endpoint_url=sys.argv[1]), "xxh128", 1)
fs = remote.fs

async def dropped():
    raise ConnectionResetError("a dropped response nobody waited for")

async def orphan():
    task = asyncio.ensure_future(dropped())
    await asyncio.wait([task])  # done, its exception never retrieved
    del task
    gc.collect()

asyncio.run_coroutine_threadsafe(orphan(), fs.loop).result()
print("done")
"""


def test_an_unretrieved_background_failure_prints_nothing(tmp_path):
    """What printed a stray traceback: an aiohttp task failing on fsspec's loop with
    nobody to retrieve its exception (asyncio then logs it, with its traceback)."""
    from tests.remote.s3fixtures import FAKE_ENV

    proc = subprocess.run([sys.executable, "-c", _ORPHAN_TASK, "http://127.0.0.1:9"],
                          capture_output=True, text=True, timeout=60, check=False,
                          cwd=tmp_path, env={**os.environ, **FAKE_ENV})
    assert proc.returncode == 0 and proc.stdout == "done\n", proc.stderr
    assert proc.stderr == ""
