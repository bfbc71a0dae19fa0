"""A no-op push (and status --remote) is O(folders): a folder whose manifest is known
to be on the remote is skipped whole, without reading its manifest or its files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import gen, git, read_pointer, run
from tests.remote.conftest import RemoteHandle


def _manifest_path(repo: Path) -> Path:
    oid = read_pointer(repo / "data.dvl").oid
    return repo / ".dvlite" / "cache" / oid.algo / oid.hex[:2] / oid.hex


def test_noop_push_skips_folders_known_on_the_remote(repo, remote: RemoteHandle):
    gen(repo, {"data": {f"f{i}.txt": f"file {i}\n" for i in range(30)}})
    assert run("add", "data").exit_code == 0
    git(repo, "commit", "-qm", "data")
    assert run("push").exit_code == 0
    manifest = _manifest_path(repo)
    manifest.chmod(0o600)
    manifest.unlink()  # the manifest is not read again: its folder is known to be pushed
    r = run("status", "--remote", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["clean"] is True, r.stderr
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["transferred"] == 0 and doc["failed"] == 0
    assert doc["already_present"] == 31  # 30 files + the manifest, from the pointer
    (repo / ".dvlite" / "remotes.db").unlink()  # without known objects: asks the remote
    assert run("pull", "--json").exit_code == 0  # brings the manifest back
    r = run("push", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["already_present"] == 31


def test_noop_status_remote_loads_no_s3_stack(repo, remote: RemoteHandle):
    """A push reads the remote's epoch (one request), status --remote trusts known
    objects checked recently without asking."""
    gen(repo, {"data": {"a.txt": "a\n", "b.txt": "b\n"}})
    assert run("add", "data").exit_code == 0
    assert run("push").exit_code == 0
    for args in (("status", "--remote"),):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "dvlite", *args],
                              cwd=repo, capture_output=True, text=True, check=False, timeout=60)
        assert proc.returncode == 0, proc.stderr
        imported = {ln.rsplit("|", 1)[-1].strip() for ln in proc.stderr.splitlines()}
        assert not imported & {"s3fs", "botocore", "boto3", "aiobotocore"}, args
