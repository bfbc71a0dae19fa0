"""`dvlite.lock`: canonical bytes, strict reading, merge-friendly layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvlite.core.lockfile import HashInfo, LockEntry, dumps, loads
from dvlite.core.oid import Oid
from dvlite.errors import FormatError, UnsafePathError
from tests.helpers import git, run
from tests.pipeline.util import lock, ran, setup_steps, step

OID = Oid.parse("xxh128:" + "ab" * 16)


def _entry(name: str, cmd: str = "run") -> LockEntry:
    return LockEntry(name, cmd, deps=(HashInfo("sub/b.txt", OID, 2), HashInfo("sub/a", OID, 5, 2)),
                     outs=(HashInfo("sub/out.bin", OID, 9),),
                     params={"sub/params.yaml": {"z": 1, "a.b": [1, 2]}})


def test_round_trip_and_canonical_order() -> None:
    entries = {"zeta": _entry("zeta"), "alpha": _entry("alpha", "other")}
    data = dumps(entries, "sub")
    assert data == dumps(dict(reversed(list(entries.items()))), "sub")
    text = data.decode()
    assert text.index("  alpha:") < text.index("  zeta:")
    assert "    deps:\n    - path: a\n      hash: xxh128:" in text
    assert "\n\n  zeta:" in text  # a blank line between stage blocks
    back = loads(data, "sub/dvlite.lock")
    assert back["zeta"] == LockEntry("zeta", "run", deps=tuple(sorted(
        _entry("zeta").deps, key=lambda h: h.path)), outs=_entry("zeta").outs,
        params={"sub/params.yaml": {"a.b": [1, 2], "z": 1}})


@pytest.mark.parametrize(("body", "error", "message"), [
    ("stages:\n  a:\n    cmd: x\n    outs:\n    - {path: ../../etc/passwd, hash: "
     f"'{OID}', size: 1}}\n", UnsafePathError, "unsafe lockfile path"),
    ("stages:\n  a:\n    cmd: x\n    deps:\n    - {path: /abs, hash: 'xxh128:00', size: 1}\n",
     UnsafePathError, "unsafe"),
    ("stages:\n  a:\n    cmd: x\n    outs:\n    - {path: f, hash: 'md5:00', size: 1}\n",
     FormatError, "dvlite.lock: stage 'a'"),
    ("stages:\n  a:\n    deps: []\n", FormatError, "needs a 'cmd'"),
    ("stages:\n  a:\n    cmd: x\n    outs:\n    - {path: f, hash: 'xxh128:00', size: -1x}\n",
     FormatError, "dvlite.lock"),
    ("schema: 9\nstages: {}\n", FormatError, "unsupported schema 9"),
    ("- a list\n", FormatError, "expected 'schema'"),
])
def test_bad_lock_files_are_refused(body: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        loads(body.encode(), "dvlite.lock")


def test_a_bad_lock_file_stops_repro_with_one_error(repo: Path) -> None:
    setup_steps(repo, f"stages:\n  a:\n    cmd: {step('a', 'a.txt')}\n    outs: [a.txt]\n")
    (repo / "dvlite.lock").write_text("stages:\n  a:\n    cmd: x\n    outs:\n"
                                      f"    - {{path: ../x, hash: '{OID}', size: 1}}\n")
    r = run("repro")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: dvlite.lock: stage 'a': unsafe lockfile path '../x'")
    assert not (repo / "a.txt").exists()


def test_branches_changing_different_stages_merge_without_conflict(repo: Path) -> None:
    stages = "".join(f"""\
  s{i}:
    cmd: {step(f"s{i}", f"o{i}.txt", f"in{i}.txt")}
    deps: [in{i}.txt]
    outs: [o{i}.txt]
""" for i in range(3))
    setup_steps(repo, "stages:\n" + stages, {f"in{i}.txt": f"{i}\n" for i in range(3)})
    (repo / ".git" / "info" / "exclude").write_text("log.txt\n")
    assert run("repro").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "other")
    (repo / "in0.txt").write_text("changed 0\n")
    assert run("repro").exit_code == 0
    git(repo, "commit", "-qam", "change s0")
    git(repo, "checkout", "-q", "main")
    assert run("checkout").exit_code == 0
    (repo / "in2.txt").write_text("changed 2\n")
    assert run("repro").exit_code == 0
    git(repo, "commit", "-qam", "change s2")
    ran(repo)
    git(repo, "merge", "-q", "--no-edit", "other")  # raises on a conflict
    assert run("checkout").exit_code == 0
    assert sorted(lock(repo)) == ["s0", "s1", "s2"]
    assert run("repro").exit_code == 0
    assert ran(repo) == []
