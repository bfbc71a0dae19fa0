"""Every command works from a subfolder, with targets relative to it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import check_repo, gen, git, read_pointer, run


def test_commands_from_subfolder(repo: Path) -> None:
    gen(repo, {"sub": {"deep": {"d": {"a": "1", "b": "2"}, "f": "3"}}})
    cwd = repo / "sub" / "deep"
    r = run("add", "d", "f", cwd=cwd)
    assert r.exit_code == 0, r.stderr
    assert read_pointer(cwd / "d.dvl").path == "d"
    assert (cwd / ".gitignore").read_text() == "/d\n/f\n"
    git(repo, "commit", "-qm", "add")
    assert run("status", "--exit-code", cwd=cwd).exit_code == 0
    (cwd / "d" / "a").write_text("x")
    r = run("status", "--json", "d/a", cwd=cwd / "d")
    assert r.exit_code == 0
    (cwd / "f").unlink()
    assert run("status", "--exit-code", "f", cwd=cwd).exit_code == 1
    assert run("checkout", "f", cwd=cwd).exit_code == 0
    assert (cwd / "f").read_text() == "3"
    r = run("diff", "--json", cwd=cwd / "d")
    assert [m["path"] for m in json.loads(r.stdout)["modified"]] == ["sub/deep/d/a"]
    assert run("checkout", "--force", "a", cwd=cwd / "d").exit_code == 0
    assert (cwd / "d" / "a").read_text() == "1"
    assert [i["path"] for i in json.loads(run("ls", "--json", cwd=cwd).stdout)] == [
        "sub/deep/d", "sub/deep/f"]
    assert run("fsck", cwd=cwd).exit_code == 0
    assert run("config", "core.autostage", cwd=cwd).stdout == "true\n"
    assert run("init", cwd=cwd).stdout.startswith("dvlite is already initialised")
    assert run("move", "f", "g", cwd=cwd).exit_code == 0
    assert (cwd / "g.dvl").exists()
    assert run("remove", "g.dvl", cwd=cwd).exit_code == 0
    assert not (cwd / "g.dvl").exists()
    check_repo(repo)
