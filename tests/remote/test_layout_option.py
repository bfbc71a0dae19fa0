"""The `layout` remote option chooses what a new remote gets; a bad value is refused."""

from __future__ import annotations

import json
from pathlib import Path

from dvlite.storage.remote.base import FORMAT_FILE
from tests.helpers import gen, run
from tests.remote.conftest import RemoteHandle


def test_layout_1_option_makes_a_loose_remote(repo: Path, remote: RemoteHandle) -> None:
    assert run("remote", "modify", "origin", "layout", "1").exit_code == 0
    gen(repo, {"d": {f"f{i}": f"file {i}" for i in range(4)}})
    assert run("add", "d").exit_code == 0
    r = run("push", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 5
    assert remote.read(FORMAT_FILE).decode().splitlines()[1] == "dvlite remote layout 1"
    keys = remote.list_keys()
    assert not [k for k in keys if k.startswith("packs/")]
    assert len([k for k in keys if k.startswith("xxh128/")]) == 5
    # the option only shapes a new remote: `remote upgrade` still moves this one on
    r = run("remote", "upgrade", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == {
        "remote": "origin", "layout_before": 1, "layout": 2}
    gen(repo, {"d": {"f9": "another"}})
    assert run("add", "d").exit_code == 0
    assert run("push").exit_code == 0
    assert [k for k in remote.list_keys() if k.startswith("packs/")]
    assert len(remote.objects()) == 7  # 5 loose, the new file and manifest packed


def test_unknown_layout_option_is_refused(repo: Path, tmp_path: Path) -> None:
    assert run("remote", "add", "o", str(tmp_path / "store"), "--default").exit_code == 0
    assert run("remote", "modify", "o", "layout", "7").exit_code == 0
    gen(repo, {"a.txt": "a"})
    assert run("add", "a.txt").exit_code == 0
    r = run("push")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: remote 'o': layout must be one of 1, 2, not 7")
    assert not (tmp_path / "store").exists()
