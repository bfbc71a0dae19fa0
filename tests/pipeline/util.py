"""Helpers for pipeline tests: a tiny step script whose runs are counted in `log.txt`
(outside every output), and readers for the log and the lock file."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tests.helpers import gen

PY = sys.executable

# step.py NAME OUT [IN...]: OUT = the inputs' text + NAME; logs NAME in $DVLITE_ROOT/log.txt.
# A folder OUT (ending in /) gets two files. With STEP_PARAM=key, the value of `key` in
# params.yaml is written too, so outputs differ per parameter value.
STEP = r'''
import os, pathlib, sys
import yaml
name, out, *ins = sys.argv[1:]
data = "".join(pathlib.Path(i).read_text() for i in ins)
if os.environ.get("STEP_FAIL") == name:
    sys.exit(7)
key = os.environ.get("STEP_PARAM")
if key:
    doc = yaml.safe_load(open(os.path.join(os.environ["DVLITE_ROOT"], "params.yaml")))
    for part in key.split("."):
        doc = doc[part]
    data += f"{key}={doc}\n"
if out.endswith("/"):
    p = pathlib.Path(out); p.mkdir(parents=True, exist_ok=True)
    (p / "a.txt").write_text(data + name + "\n"); (p / "b.txt").write_text(name)
else:
    p = pathlib.Path(out); p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(data + name + "\n")
with open(os.path.join(os.environ["DVLITE_ROOT"], "log.txt"), "a") as f:
    f.write(name + "\n")
'''


# block.py NAME: writes part of NAME.txt, starts a child, records the group, then blocks
# (unless the file `go` exists: then it writes NAME.txt whole and exits).
BLOCK = r"""
import json, os, pathlib, subprocess, sys, time
name = sys.argv[1]
out = pathlib.Path(name + ".txt")
if pathlib.Path("go").exists():
    out.write_text("done " + name + "\n")
    sys.exit(0)
out.write_text("partial")
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
marker = pathlib.Path("started-" + name)
tmp = marker.with_suffix(".tmp")
tmp.write_text(json.dumps({"pgid": os.getpgid(0), "pids": [os.getpid(), child.pid]}))
tmp.replace(marker)
while True:
    out.write_text("partial, still writing " + str(time.time()))
    time.sleep(0.05)
"""


def step(name: str, out: str, *ins: str, script: str = "step.py") -> str:
    return " ".join([PY, script, name, out, *ins])


def setup_steps(root: Path, pipeline: str, extra: dict[str, object] | None = None) -> None:
    gen(root, {"step.py": STEP, "dvlite.yaml": pipeline, **(extra or {})})


def ran(root: Path) -> list[str]:
    """Stage names logged since the last call (and clears the log)."""
    log = root / "log.txt"
    if not log.exists():
        return []
    names = log.read_text().split()
    log.unlink()
    return names


def lock(root: Path) -> dict[str, object]:
    doc = yaml.safe_load((root / "dvlite.lock").read_text())
    assert isinstance(doc, dict)
    stages = doc["stages"]
    assert isinstance(stages, dict)
    return stages
