"""`dvlite doctor`: the facts for a bug report, without contacting remotes unless asked."""

from __future__ import annotations

import errno
import json
import os
import platform
from pathlib import Path

import pytest

from dvlite import __version__
from tests.helpers import gen, run
from tests.remote.s3fixtures import BUCKET, S3, moto_endpoint, s3

__all__ = ["moto_endpoint", "s3"]


def _link_works(folder: Path) -> bool:
    (folder / "a").write_text("x")
    try:
        os.link(folder / "a", folder / "b")
    except OSError as exc:
        assert exc.errno in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP)
        return False
    return True


def test_doctor_reports_versions_cache_links_and_remotes(repo: Path, tmp_path: Path) -> None:
    gen(repo, {"f": "data"})
    assert run("add", "f").exit_code == 0
    assert run("remote", "add", "shared", str(tmp_path / "shared"), "--default").exit_code == 0
    assert run("push").exit_code == 0
    # never reachable: doctor must not try unless asked
    assert run("remote", "add", "dead", "s3://nowhere/x").exit_code == 0
    for key, value in (("endpoint_url", "http://user:secret@127.0.0.1:9"), ("retries", "1"),
                       ("connect_timeout", "1"), ("layout", "1")):
        assert run("remote", "modify", "dead", key, value).exit_code == 0
    cache = repo / ".dvlite" / "cache"
    before = sorted(os.listdir(cache))
    r = run("doctor", "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["dvlite"] == __version__
    assert report["python"].startswith(platform.python_version())
    assert report["dependencies"]["typer"] and report["dependencies"]["s3fs"]
    assert report["git"] and report["git"][0].isdigit()
    assert report["root_user"] == (os.geteuid() == 0)
    facts = report["repository"]
    assert facts["root"] == str(repo) and facts["cache_dir"] == str(cache)
    assert facts["cache_type"] == "reflink,copy" and facts["hash"] == "xxh128"
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    assert facts["links"]["copy"] is True
    assert facts["links"]["hardlink"] == _link_works(probe_dir)
    assert facts["links"]["symlink"] is True
    assert sorted(os.listdir(cache)) == before  # the probe leaves nothing behind
    by_name = {r["name"]: r for r in facts["remotes"]}
    assert by_name["shared"] == {"name": "shared", "url": str(tmp_path / "shared"),
                                 "default": True, "layout": 2, "layout_option": False,
                                 "checked": None}
    assert by_name["dead"]["layout"] == 1 and by_name["dead"]["layout_option"] is True
    assert by_name["dead"]["checked"] is None  # not contacted
    assert "secret" not in r.stdout

    r = run("doctor", "--remote", "--json")
    by_name = {r["name"]: r for r in json.loads(r.stdout)["repository"]["remotes"]}
    assert by_name["shared"]["checked"] == "layout 2"
    assert by_name["dead"]["checked"].startswith("error: ")

    text = run("doctor", "-r", "shared")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0] == f"dvlite {__version__}"
    assert f"cache: {cache} (cache.type reflink,copy, hash xxh128)" in lines
    assert any(line.startswith("links in the cache folder: copy yes, reflink ")
               for line in lines)
    assert (f"remote shared: {tmp_path / 'shared'} (default, layout 2); "
            "remote says: layout 2") in lines
    assert "remote dead: s3://nowhere/x (layout 1 (option))" in lines


def test_doctor_asks_an_s3_remote_only_with_remote(repo: Path, s3: S3) -> None:
    assert run("remote", "add", "s3", f"s3://{BUCKET}/p").exit_code == 0
    assert run("remote", "modify", "s3", "endpoint_url", s3.endpoint).exit_code == 0
    gen(repo, {"f": "data"})
    assert run("add", "f").exit_code == 0
    assert run("push", "-r", "s3").exit_code == 0
    remote = json.loads(run("doctor", "--json").stdout)["repository"]["remotes"][0]
    assert remote["checked"] is None
    remote = json.loads(run("doctor", "-r", "s3", "--json").stdout)["repository"]["remotes"][0]
    assert remote["checked"] == "layout 2"


def test_doctor_outside_a_repository_and_with_an_unknown_remote(repo: Path,
                                                                 tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run("doctor", "--json", cwd=elsewhere)
    assert r.exit_code == 0
    report = json.loads(r.stdout)
    assert report["repository"] is None
    assert report["problem"].startswith("not a dvlite repository")
    assert "repository: none (not a dvlite repository" in run("doctor", cwd=elsewhere).stdout
    r = run("doctor", "-r", "nope")
    assert r.exit_code == 1 and r.stderr.startswith("error: unknown remote 'nope'")


@pytest.mark.skipif(os.geteuid() != 0, reason="the warning is about running as root")
def test_doctor_warns_root_about_link_cache_types(repo: Path) -> None:
    assert "warning" not in run("doctor").stderr
    assert run("config", "cache.type", "hardlink,copy").exit_code == 0
    r = run("doctor")
    assert "warning: running as root with cache.type hardlink" in r.stderr
    assert "running as root with cache.type hardlink" in " ".join(
        json.loads(run("doctor", "--json").stdout)["warnings"])
