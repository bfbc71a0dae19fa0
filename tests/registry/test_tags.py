"""`dvlite model register | assign | unassign | deprecate | list | show` on a real git
repository: the tags written (GTO's formats and messages), every refusal (nothing
tagged), which assignment wins, and the lineage `show` reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import gen, git, run
from tests.registry.util import ARTIFACTS, new_model, ok, registry_repo, tags


@pytest.fixture
def reg(repo: Path) -> Path:
    registry_repo(repo)
    return repo


def tag_message(repo: Path, tag: str) -> str:
    return git(repo, "for-each-ref", "--format=%(objecttype) %(contents)",
               f"refs/tags/{tag}").strip()


def peeled(repo: Path, tag: str) -> str:
    return git(repo, "rev-parse", f"{tag}^{{commit}}").strip()


def refused(*args: str) -> str:
    r = run(*args)
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith("error: ")
    return r.stderr


def test_every_tag_format_with_gtos_messages(reg: Path) -> None:
    c1 = git(reg, "rev-parse", "HEAD").strip()
    ok("model", "register", "clf")
    c2 = new_model(reg, 0.1)
    ok("model", "register", "clf", "--bump", "minor")
    ok("model", "assign", "clf", "prod", "--version", "v0.0.1")
    ok("model", "assign", "clf", "staging")
    ok("model", "unassign", "clf", "staging")
    ok("model", "deprecate", "clf", "--version", "v0.0.1")
    ok("model", "deprecate", "clf")
    assert sorted(tags(reg)) == sorted(["clf@v0.0.1", "clf@v0.1.0", "clf#prod#1",
                                        "clf#staging#2", "clf#staging!#3", "clf@v0.0.1!",
                                        "clf@deprecated"])
    assert peeled(reg, "clf@v0.0.1") == c1
    assert peeled(reg, "clf@v0.1.0") == c2
    assert peeled(reg, "clf#prod#1") == c1
    assert peeled(reg, "clf#staging!#3") == c2
    assert tag_message(reg, "clf@v0.0.1") == "tag Registering artifact clf version v0.0.1"
    assert tag_message(reg, "clf#prod#1") == \
        "tag Assigning stage prod to artifact clf version v0.0.1"
    assert tag_message(reg, "clf#staging!#3") == \
        "tag Unassigning stage 'staging' to artifact 'clf' version 'v0.1.0'"
    assert tag_message(reg, "clf@v0.0.1!") == "tag Deregistering artifact clf version v0.0.1"
    assert tag_message(reg, "clf@deprecated") == "tag Deprecating artifact 'clf'"


def test_given_version_bumps_and_message(reg: Path) -> None:
    ok("model", "register", "clf", "--version", "v1.2.3", "-m", "first real one")
    assert tag_message(reg, "clf@v1.2.3") == "tag first real one"
    new_model(reg, 0.1)
    ok("model", "register", "clf", "--bump", "major")
    new_model(reg, 0.2)
    ok("model", "register", "clf")
    assert {"clf@v1.2.3", "clf@v2.0.0", "clf@v2.0.1"} <= set(tags(reg))


def test_refusals_tag_nothing(reg: Path) -> None:
    assert "not declared" in refused("model", "register", "other")
    assert "not declared" in refused("model", "register", "clf", "HEAD~1")
    ok("model", "register", "clf", "--version", "v1.0.0")
    before = tags(reg)
    assert "already version v1.0.0" in refused("model", "register", "clf")
    new_model(reg, 0.1)
    assert "exists" in refused("model", "register", "clf", "--version", "v1.0.0")
    assert "not greater" in refused("model", "register", "clf", "--version", "v0.9.0")
    assert "no version of 'clf' is in stage 'prod'" in refused("model", "unassign", "clf",
                                                               "prod")
    assert "no active version v9.9.9" in refused("model", "assign", "clf", "prod",
                                                 "--version", "v9.9.9")
    assert "no registered version" in refused("model", "assign", "ghost", "prod")
    ok("model", "assign", "clf", "prod")
    before.append("clf#prod#1")
    assert "already in stage" in refused("model", "assign", "clf", "prod")
    assert sorted(tags(reg)) == sorted(before)
    r = run("model", "assign", "clf", "bad stage!")
    assert r.exit_code == 2
    assert sorted(tags(reg)) == sorted(before)


def test_untracked_path_is_refused_naming_it(reg: Path) -> None:
    gen(reg, {"dvlite.yaml": (reg / "dvlite.yaml").read_text().replace(
        "path: model.bin", "path: nothere.bin")})
    git(reg, "commit", "-qam", "bad path")
    err = refused("model", "register", "clf")
    assert "'nothere.bin' is not a tracked output" in err
    assert "dvlite.yaml:" in err
    assert tags(reg) == []


def test_latest_assignment_wins(reg: Path) -> None:
    ok("model", "register", "clf")
    new_model(reg, 0.1)
    ok("model", "register", "clf")
    new_model(reg, 0.2)
    ok("model", "register", "clf")
    ok("model", "assign", "clf", "prod", "--version", "v0.0.3")
    ok("model", "assign", "clf", "prod", "--version", "v0.0.1")  # a rollback
    listed = json.loads(ok("model", "list", "--json"))
    assert listed[0]["stages"] == {"prod": "v0.0.1"}
    assert listed[0]["latest"] == "v0.0.3"
    at_prod = json.loads(ok("ls", "clf#prod", "--json"))
    at_v1 = json.loads(ok("ls", "clf@v0.0.1", "--json"))
    at_latest = json.loads(ok("ls", "clf@latest", "--json"))
    assert at_prod == at_v1
    assert at_prod != at_latest
    ok("model", "assign", "clf", "prod", "--version", "v0.0.2")
    assert json.loads(ok("model", "list", "--json"))[0]["stages"] == {"prod": "v0.0.2"}
    ok("model", "unassign", "clf", "prod")  # v0.0.2 out: v0.0.1's assignment stands again
    assert json.loads(ok("model", "list", "--json"))[0]["stages"] == {"prod": "v0.0.1"}
    assert tags(reg).count("clf#prod!#4") == 1


def test_show_lineage(reg: Path) -> None:
    ok("model", "register", "clf")
    new_model(reg, 0.1)
    ok("model", "register", "clf")
    ok("model", "assign", "clf", "prod")
    shown = json.loads(ok("model", "show", "clf", "--json"))
    assert [v["version"] for v in shown] == ["v0.0.2", "v0.0.1"]
    newest = shown[0]
    assert newest["commit"] == git(reg, "rev-parse", "HEAD").strip()
    assert newest["stages"] == ["prod"]
    assert newest["author"] == "Test"
    assert newest["message"] == "Registering artifact clf version v0.0.2"
    assert newest["path"] == "model.bin"
    assert newest["size"] == len((reg / "model.bin").read_bytes())
    assert newest["hash"].startswith("xxh128:")
    lin = newest["lineage"]
    assert lin["stage"] == "train"
    assert "train.py" in lin["cmd"]
    assert [d["path"] for d in lin["deps"]] == ["train.py"]
    assert lin["params"] == {"params.yaml": {"train.lr": 0.1, "train.epochs": 3}}
    assert lin["metrics"] == {"scores.json": {"acc": 0.9, "loss.val": 0.2}}
    assert shown[1]["lineage"]["params"]["params.yaml"]["train.lr"] == 0.25
    assert shown[1]["hash"] != newest["hash"]
    text = ok("model", "show", "clf")
    assert "produced by stage 'train'" in text


def test_list_shows_declared_artifacts_without_tags(reg: Path) -> None:
    listed = json.loads(ok("model", "list", "--json"))
    assert listed == [{"name": "clf", "type": "model", "path": "model.bin",
                       "desc": "Digits classifier", "labels": ["sklearn", "digits"],
                       "latest": None, "stages": {}, "deprecated": False}]


def test_lightweight_tags_are_ignored(reg: Path) -> None:
    git(reg, "tag", "clf@v5.0.0")
    assert json.loads(ok("model", "list", "--json"))[0]["latest"] is None
    assert ARTIFACTS  # the declaration the fixture committed
