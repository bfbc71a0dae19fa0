"""A cloned repository's committed `.dvlite` cannot reach outside it (RELIABILITY.md H1).

Each case builds the hostile repository the way an attacker would (committed with `git
add -f` where `.dvlite/.gitignore` is in the way), clones it, and runs the victim's
commands in the clone: they fail with one `error:` line, and the sentinel folders
outside stay byte-identical with nothing new in them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dvlite.config import edit
from tests.func.test_bad_inputs import assert_one_error
from tests.helpers import gen, git, run, snapshot


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the repositories, holding a file that must survive."""
    root = tmp_path / "outside"
    gen(root, {"tmp": {"draft.txt": "only copy"}, "ab": {"notes": "mine"}})
    return root


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A", "-f", ".")
    git(repo, "commit", "-qm", message)


def clone(repo: Path, tmp_path: Path) -> Path:
    """The victim's clone of `repo`, its working directory."""
    dest = tmp_path / "victim"
    subprocess.run(["git", "clone", "-q", str(repo), str(dest)], check=True)
    os.chdir(dest)
    return dest


def hostile_with_data(repo: Path, config_extra: str) -> None:
    """A repository with one tracked file, pushed to its default remote `../store`, and
    then `config_extra` in its committed config."""
    gen(repo, {"data.bin": "payload"})
    assert run("add", "data.bin").exit_code == 0
    assert run("remote", "add", "origin", "../store", "--default").exit_code == 0
    assert run("push").exit_code == 0
    with (repo / ".dvlite" / "config").open("a") as f:
        f.write(config_extra)
    git(repo, "add", ".dvlite/config")
    git(repo, "commit", "-qm", "data")


def commit_remote(repo: Path, url: str) -> None:
    """Commit a default remote 'r' with `url`, written by hand as a hostile committer would
    (dvlite itself refuses to write such urls)."""
    cfg = repo / ".dvlite" / "config"
    edit(cfg, "remote.r.url", url)
    edit(cfg, "core.remote", "r")
    commit_all(repo, "remote")


def test_committed_cache_dir_is_refused(repo: Path, tmp_path: Path, outside: Path) -> None:
    hostile_with_data(repo, f'[cache]\ndir = "{outside}"\n')
    before = snapshot(outside)
    victim = clone(repo, tmp_path)
    for args in (("pull",), ("fetch",), ("gc", "--workspace", "--yes"), ("add", "new.bin"),
                 ("checkout",)):
        gen(victim, {"new.bin": "n"})
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert_one_error(r.stderr, ".dvlite/config: cache.dir may be set only in config.local")
        assert "dvlite config --local cache.dir" in r.stderr
    assert snapshot(outside) == before


def test_cache_dir_from_config_local_is_honoured(repo: Path, tmp_path: Path) -> None:
    r = run("config", "cache.dir", str(tmp_path / "shared-cache"))
    assert r.exit_code == 1 and "store it with --local" in r.stderr
    assert "cache" not in (repo / ".dvlite" / "config").read_text()
    assert run("config", "--local", "cache.dir", str(tmp_path / "shared-cache")).exit_code == 0
    gen(repo, {"data.bin": "payload"})
    assert run("add", "data.bin").exit_code == 0
    assert len(list((tmp_path / "shared-cache").rglob("xxh128/*/*"))) == 1


@pytest.mark.parametrize("url", ["~", "~/", "~/store"])
def test_committed_tilde_url_is_refused(repo: Path, tmp_path: Path, outside: Path,
                                        monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("HOME", str(outside))
    hostile_with_data(repo, "")
    commit_remote(repo, url)
    before = snapshot(outside)
    clone(repo, tmp_path)
    for args in (("push",), ("gc", "--remote", "--now", "--yes"), ("status", "--remote"),
                 ("fsck", "--remote", "--repair"), ("pull",)):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stdout, r.stderr)
        assert_one_error(r.stderr, "starts with '~', which only config.local may use")
    assert snapshot(outside) == before


def test_tilde_url_in_config_local_is_expanded(repo: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    r = run("remote", "add", "r", "~/store", "--default")
    assert r.exit_code == 1 and "only config.local may use" in r.stderr
    assert "remote" not in (repo / ".dvlite" / "config").read_text()
    assert run("remote", "add", "r", "~/store", "--default", "--local").exit_code == 0
    gen(repo, {"data.bin": "payload"})
    assert run("add", "data.bin").exit_code == 0
    r = run("push")
    assert r.exit_code == 0, r.stderr
    assert (home / "store" / "dvlite-format").is_file()


BAD_URLS = {
    "": "is empty", "   ": "is empty", " /srv/x": "surrounding spaces",
    ".": "is inside the repository", "store": "is inside the repository",
    ".git": "is inside the repository", ".dvlite/remote": "is inside the repository",
    "sub/../.git/x": "is inside the repository", "..": "contains the repository",
    "/": "contains the repository", "file://relative/x": "not an absolute file:// url",
}


@pytest.mark.parametrize("url", sorted(BAD_URLS))
def test_bad_url_refused_when_written(repo: Path, url: str) -> None:
    before = snapshot(repo / ".dvlite")
    for args in (("remote", "add", "r", url, "--default"),
                 ("remote", "add", "r", url, "--local")):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert_one_error(r.stderr, BAD_URLS[url])
    assert run("remote", "add", "r", "/srv/ok").exit_code == 0
    after_add = snapshot(repo / ".dvlite")
    for args in (("remote", "modify", "r", "url", url), ("config", "remote.r.url", url),
                 ("config", "--local", "remote.r.url", url)):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert_one_error(r.stderr, BAD_URLS[url])
    assert snapshot(repo / ".dvlite") == after_add != before


@pytest.mark.parametrize("url", sorted(BAD_URLS))
def test_bad_committed_url_refused_before_anything_is_written(
        repo: Path, tmp_path: Path, url: str) -> None:
    hostile_with_data(repo, "")
    commit_remote(repo, url)
    victim = clone(repo, tmp_path)
    before = snapshot(tmp_path)
    for args in (("push",), ("gc", "--remote", "--now", "--yes"), ("pull",)):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert_one_error(r.stderr, BAD_URLS[url])
    # state.db is a hint db whose sqlite files settle when a connection is closed,
    # in the source repository too; the test judges every other file
    volatile = ("victim/.dvlite/state.db", "victim/.dvlite/lock", "victim/.dvlite/cache/",
                "repo/.dvlite/state.db")
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(volatile)} == {
        k: v for k, v in before.items() if not k.startswith(volatile)}
    assert not (victim / "dvlite-format").exists() and not (victim / "packs").exists()
    # the remote can still be repaired with dvlite itself
    assert run("remote", "modify", "r", "url", str(tmp_path / "store")).exit_code == 0
    assert run("push").exit_code == 0


def test_dvlite_folder_that_is_a_symlink_is_refused(repo: Path, tmp_path: Path,
                                                    outside: Path) -> None:
    shutil.move(repo / ".dvlite", outside / "dvl")
    (repo / ".dvlite").symlink_to(outside / "dvl")
    commit_all(repo, "linked .dvlite")
    before = snapshot(outside)
    victim = clone(repo, tmp_path)
    assert (victim / ".dvlite").is_symlink()
    gen(victim, {"data.bin": "payload"})
    for args in (("status",), ("add", "data.bin"), ("checkout",), ("gc", "--yes")):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert_one_error(r.stderr, ".dvlite is a symlink")
    assert snapshot(outside) == before


@pytest.mark.parametrize("name", ["cache", "cache/tmp", "cache/xxh128", "cache/xxh128/ab",
                                  "lock", "state.db", "state.db-journal", "remotes.db",
                                  "runs"])
def test_symlink_inside_dvlite_is_refused(repo: Path, tmp_path: Path, outside: Path,
                                          name: str) -> None:
    link = repo / ".dvlite" / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside / ("ab" if name.endswith(("ab", "tmp", "cache", "runs")) else
                               "ab/notes"))
    commit_all(repo, "linked")
    before = snapshot(outside)
    victim = clone(repo, tmp_path)
    assert (victim / ".dvlite" / name).is_symlink()
    gen(victim, {"data.bin": "payload"})
    for args in (("add", "data.bin"), ("gc", "--workspace")):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert_one_error(r.stderr, f".dvlite/{name} is a symlink")
    assert snapshot(outside) == before
