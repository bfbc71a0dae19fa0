"""Every crash point the code calls is listed, so `DVLITE_FAULTPOINT=list` is complete."""

from __future__ import annotations

import ast
from pathlib import Path

import dvlite
from dvlite._fault import POINTS
from tests.helpers import run_proc

PACKAGE = Path(dvlite.__file__).parent
DYNAMIC = {"transfer.py": ("push", "fetch", "get")}  # f"{point}.after_object" callers


def _called_points() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "faultpoint"):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant):
                found.add(str(arg.value))
            else:
                found.update(f"{op}.after_object" for op in DYNAMIC[path.name])
    return found


def test_every_called_point_is_listed() -> None:
    called = _called_points()
    assert called, "no faultpoint calls found"
    assert called == set(POINTS)


def test_list_prints_every_point(tmp_path: Path) -> None:
    r = run_proc(cwd=tmp_path, env={"DVLITE_FAULTPOINT": "list"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == list(POINTS)
