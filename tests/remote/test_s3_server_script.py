"""remotes/s3_server.py works as documented: run it, paste its commands, push and pull."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import gen, run

SCRIPT = Path(__file__).resolve().parents[2] / "remotes" / "s3_server.py"


@pytest.mark.e2e
@pytest.mark.s3
def test_s3_server_script_round_trip(repo):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--port", "0", "--name", "demo"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines = []
        while len(lines) < 4:
            line = proc.stdout.readline()
            assert line, "server exited early"
            if line.strip().startswith("dvlite "):
                lines.append(line.strip())
        for line in lines:
            r = run(*shlex.split(line)[1:])
            assert r.exit_code == 0, (line, r.stderr)
        assert "secret_access_key" not in (repo / ".dvlite" / "config").read_text()
        gen(repo, {"d": {"x": "x" * 1000}})
        assert run("add", "d").exit_code == 0
        assert run("push").exit_code == 0
        shutil.rmtree(repo / ".dvlite" / "cache")
        shutil.rmtree(repo / "d")
        assert run("pull").exit_code == 0
        assert (repo / "d" / "x").read_text() == "x" * 1000
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        if proc.stdout is not None:
            proc.stdout.close()
