"""S3-compatible servers without every API (H12): a server answering NotImplemented to
the multipart-upload listing, or to create-only (If-None-Match) writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import check_repo, gen, git, run
from tests.remote.conftest import s3_handle
from tests.remote.faultproxy import Rule

pytestmark = pytest.mark.s3


def _track(repo: Path, data: bytes, commit: bool = True) -> None:
    (repo / "m.bin").write_bytes(data)
    gen(repo, {"d": {"a.txt": "a\n", "b.txt": "b\n"}})
    assert run("add", "m.bin", "d").exit_code == 0
    if commit:
        git(repo, "commit", "-qm", "data")


def test_gc_warns_once_when_uploads_cannot_be_listed(repo, proxy, s3):
    _track(repo, b"kept")
    assert run("push").exit_code == 0
    (repo / "m.bin").write_bytes(b"dropped")
    assert run("add", "m.bin").exit_code == 0
    assert run("push").exit_code == 0
    git(repo, "checkout", "-q", "HEAD", "--", "m.bin.dvl")
    refused = proxy.add(Rule("status", method="GET", path=r"[?&]uploads", status=501))
    r = run("gc", "--remote", "--now", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert refused.fired == 1
    warnings = [ln for ln in r.stderr.splitlines() if ln]
    assert len(warnings) == 1 and warnings[0].startswith("warning: remote 'origin' does "
                                                         "not list multipart uploads")
    assert "Traceback" not in r.stderr and "error:" not in r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["remote"]) == 1  # the rest of gc still ran
    assert len(s3_handle(s3, "store").objects()) == 4


def test_push_falls_back_when_conditional_writes_are_not_implemented(repo, proxy, s3):
    refused = proxy.add(Rule("status", method="PUT", header="If-None-Match", status=501))
    big = repo / "big.bin"
    big.write_bytes(b"x" * (3 << 20))  # a loose object too, not only packs
    assert run("add", "big.bin").exit_code == 0
    _track(repo, b"model")
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert refused.fired >= 1
    assert json.loads(r.stdout)["transferred"] == 5
    handle = s3_handle(s3, "store")
    assert len(handle.objects()) == 5 and "dvlite-format" in handle.list_keys()
    (repo / ".dvlite" / "remotes.db").unlink()  # found there, so freshened: a write
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 0
    assert [k for k in handle.list_keys() if k.startswith("fresh/")]
    (repo / "m.bin").write_bytes(b"second version")
    assert run("add", "m.bin").exit_code == 0
    r = run("push", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["transferred"] == 1, r.stderr
    assert run("fsck", "--remote").exit_code == 0
    check_repo(repo)
