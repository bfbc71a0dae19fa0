"""GTO, the other tool on the same tags, reads what dvlite writes: its own parser for every
tag, and its registry API for the versions, the latest and the stages (GTO is a test
dependency only, never one of dvlite's)."""

from __future__ import annotations

import json
from pathlib import Path

import gto.api as gto_api
import gto.tag as gto_tag

from tests.helpers import git
from tests.registry.util import new_model, ok, registry_repo, tags


def test_gto_parses_every_tag_dvlite_writes(repo: Path) -> None:
    registry_repo(repo)
    ok("model", "register", "clf")
    new_model(repo, 0.1)
    ok("model", "register", "clf")
    ok("model", "assign", "clf", "prod", "--version", "v0.0.1")
    ok("model", "assign", "clf", "staging")
    ok("model", "unassign", "clf", "staging")
    ok("model", "deprecate", "clf", "--version", "v0.0.1")
    ok("model", "deprecate", "clf")
    actions = {t: gto_tag.parse_name(t)["action"].value for t in tags(repo)}
    assert actions == {"clf@v0.0.1": "register", "clf@v0.0.2": "register",
        "clf#prod#1": "assign", "clf#staging#2": "assign", "clf#staging!#3": "unassign",
        "clf@v0.0.1!": "deregister", "clf@deprecated": "deprecate"}


def test_gto_agrees_on_versions_latest_and_stages(repo: Path) -> None:
    registry_repo(repo)
    ok("model", "register", "clf")
    new_model(repo, 0.1)
    ok("model", "register", "clf")
    new_model(repo, 0.2)
    ok("model", "register", "clf", "--bump", "minor")
    ok("model", "assign", "clf", "prod", "--version", "v0.0.2")
    ok("model", "assign", "clf", "staging")
    ours = json.loads(ok("model", "list", "--json"))[0]
    latest = gto_api.find_latest_version(str(repo), "clf")
    assert latest.version == ours["latest"] == "v0.1.0"
    for stage, version in ours["stages"].items():
        found = gto_api.find_versions_in_stage(str(repo), "clf", stage)
        assert [v.version for v in found] == [version]
    prod = gto_api.find_versions_in_stage(str(repo), "clf", "prod")[0]
    assert prod.commit_hexsha == git(repo, "rev-parse", "clf#prod#1^{commit}").strip()
