"""Registry refs as revisions in every command that takes one, `dvlite get` of a model
from a path and from a git URL (one commit fetched), and pre-push with tags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dvlite.api
from dvlite.config import edit
from dvlite.workspace import git_url
from tests.helpers import folder_remote_oids, git, run
from tests.registry.util import new_model, ok, registry_repo, tags


@pytest.fixture
def two(repo: Path, tmp_path: Path) -> Path:
    """v0.0.1 (lr 0.25) in prod, v0.0.2 (lr 0.1) the latest; a folder remote `store`
    committed as the default before either."""
    remote = tmp_path / "store"
    remote.mkdir()
    edit(repo / ".dvlite" / "config", "remote.store.url", str(remote))
    edit(repo / ".dvlite" / "config", "core.remote", "store")
    git(repo, "commit", "-qam", "remote")
    registry_repo(repo)
    ok("model", "register", "clf")
    ok("model", "assign", "clf", "prod")
    new_model(repo, 0.1)
    ok("model", "register", "clf")
    return repo


def test_refs_in_ls_diff_params_metrics(two: Path) -> None:
    prod = json.loads(ok("ls", "clf#prod", "--json"))
    assert prod == json.loads(ok("ls", "clf@v0.0.1", "--json"))
    assert prod != json.loads(ok("ls", "clf@latest", "--json"))
    changed = json.loads(ok("diff", "clf#prod", "clf@latest", "--json"))
    assert [m["path"] for m in changed["modified"]] == ["model.bin"]
    params = ok("params", "diff", "clf#prod", "clf@latest", "--json")
    assert "0.25" in params and "0.1" in params
    metrics = ok("metrics", "diff", "clf#prod", "clf@v0.0.2", "--json")
    assert "0.75" in metrics and "0.9" in metrics
    r = run("ls", "clf#nowhere")
    assert r.exit_code == 1
    assert "no version of artifact 'clf' is in stage 'nowhere'" in r.stderr


def test_refs_in_exp_show_and_the_api(two: Path) -> None:
    rows = json.loads(ok("exp", "show", "--rev", "clf#prod", "--json"))
    assert rows[0]["rev"] == git(two, "rev-parse", "clf@v0.0.1^{commit}").strip()
    assert rows[0]["params"]["params.yaml"]["train.lr"] == 0.25
    prod = dvlite.api.read("model.bin", repo=str(two), rev="clf#prod")
    latest = dvlite.api.read("model.bin", repo=str(two), rev="clf@latest")
    assert prod != latest
    assert latest == (two / "model.bin").read_bytes()
    with dvlite.api.open("model.bin", repo=str(two), rev="clf@v0.0.1") as f:
        assert f.read() == prod


def test_get_from_a_path_gives_the_stage_or_the_latest(two: Path, tmp_path: Path) -> None:
    os.chdir(tmp_path)
    a = json.loads(ok("get", str(two), "clf#prod", "-o", "prod.bin", "--json"))
    b = json.loads(ok("get", str(two), "clf@latest", "-o", "latest.bin", "--json"))
    assert (a["version"], b["version"]) == ("v0.0.1", "v0.0.2")
    assert a["commit"] == git(two, "rev-parse", "clf@v0.0.1^{commit}").strip()
    assert (tmp_path / "prod.bin").read_bytes() != (tmp_path / "latest.bin").read_bytes()
    assert (tmp_path / "latest.bin").read_bytes() == (two / "model.bin").read_bytes()
    assert a["hash"].startswith("xxh128:") and a["hash"] != b["hash"]


def _published(repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A bare origin with every branch and tag; the data pushed to the folder remote."""
    remote = tmp_path / "store"
    ok("push", "--all-commits")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    git(repo, "push", "-q", "--no-verify", str(origin), "main", "--tags")
    return origin, remote


def test_get_from_a_url_fetches_one_commit(two: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    origin, _ = _published(two, tmp_path)
    out = tmp_path / "serve"
    out.mkdir()
    os.chdir(out)
    monkeypatch.setenv("DVLITE_CACHE_DIR", str(tmp_path / "empty-user-cache"))
    before = set(git_url._fetched.values())
    got = json.loads(ok("get", f"file://{origin}", "clf#prod", "-o", "model.bin", "--json"))
    assert got["version"] == "v0.0.1"
    assert got["commit"] == git(two, "rev-parse", "clf@v0.0.1^{commit}").strip()
    assert (out / "model.bin").read_bytes() == dvlite.api.read("model.bin", repo=str(two),
                                                               rev="clf@v0.0.1")
    fetched = set(git_url._fetched.values()) - before
    assert len(fetched) == 1
    bare = fetched.pop()
    commits = git(bare, "rev-list", "--all").split()
    assert commits == [got["commit"]]  # one commit, no history
    assert git(bare, "rev-parse", "--is-shallow-repository").strip() == "true"
    latest = json.loads(ok("get", f"file://{origin}", "clf@latest", "-o", "l.bin", "--json"))
    assert latest["version"] == "v0.0.2"
    assert (out / "l.bin").read_bytes() != (out / "model.bin").read_bytes()


def test_get_refuses_an_unknown_stage(two: Path, tmp_path: Path) -> None:
    origin, _ = _published(two, tmp_path)
    os.chdir(tmp_path)
    r = run("get", f"file://{origin}", "clf#canary")
    assert r.exit_code == 1
    assert "no version of artifact 'clf' is in stage 'canary'" in r.stderr
    assert not (tmp_path / "model.bin").exists()


def _hooked(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep +
                       os.environ.get("PATH", ""))
    monkeypatch.delenv("DVLITE_SKIP_HOOKS", raising=False)
    remote = tmp_path / "store"
    remote.mkdir()
    edit(repo / ".dvlite" / "config", "remote.store.url", str(remote))
    edit(repo / ".dvlite" / "config", "core.remote", "store")
    assert run("install").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "remote")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    git(repo, "remote", "add", "origin", str(origin))
    return origin, remote


def _objects(remote: Path) -> set[str]:
    return folder_remote_oids(remote)


def test_pre_push_pushes_the_data_of_pushed_tags(repo: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    registry_repo(repo)
    _, remote = _hooked(repo, tmp_path, monkeypatch)
    subprocess.run(["git", "push", "-q", "--no-verify", "origin", "main"], cwd=repo,
                   check=True)  # the commit is there, its data is not
    assert _objects(remote) == set()
    ok("model", "register", "clf", "--version", "v1.0.0")
    proc = subprocess.run(["git", "push", "origin", "clf@v1.0.0"], cwd=repo,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "uploaded" in proc.stderr
    model = json.loads(ok("ls", "clf@v1.0.0", "--json"))
    wanted = {e["hash"].split(":")[1] for e in model}
    assert wanted <= _objects(remote)


def test_pre_push_blocks_a_tag_whose_data_is_missing(repo: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    registry_repo(repo)
    origin, _ = _hooked(repo, tmp_path, monkeypatch)
    subprocess.run(["git", "push", "-q", "--no-verify", "origin", "main"], cwd=repo,
                   check=True)
    ok("model", "register", "clf")
    cache = repo / ".dvlite" / "cache"
    for p in cache.rglob("*"):
        if p.is_file():
            p.chmod(0o644)
            p.unlink()
    proc = subprocess.run(["git", "push", "--tags", "origin"], cwd=repo,
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "could not be uploaded" in proc.stderr
    assert "git push blocked" in proc.stderr
    assert git(origin, "tag", "--list").split() == []
    assert tags(repo) == ["clf@v0.0.1"]
