"""The tools under test (dvlite, DVC) and how to time one of their commands.

Each command runs in a child process; we take its wall time and its peak RSS (from
`os.wait4`, so only that child and the processes it waited for count).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TIME = shutil.which("time", path="/usr/bin:/bin")


@dataclass(frozen=True, slots=True)
class Sample:
    seconds: float
    rss_mib: float
    rc: int
    cpu: float = 0.0  # user + system seconds of the child (robust on a busy machine)


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run `cmd`, returning wall time and peak RSS of the child.

    The peak RSS comes from GNU time, not from our own wait4(): a child forked from this
    (large) process inherits our page high-water mark until it execs, which would
    inflate every figure.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [TIME, "-q", "-f", "%M %U %S", "-o", rss.name, *cmd] if TIME else cmd
        start = time.perf_counter()
        proc = subprocess.run(wrapped, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        elapsed = time.perf_counter() - start
        text = rss.read().strip()
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr.decode(errors="replace")[-2000:])
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode} in {cwd}")
    fields = text.splitlines()[-1].split() if text else []
    try:
        kib, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
    except (IndexError, ValueError):
        kib, cpu = 0, 0.0
    return Sample(elapsed, kib / 1024, proc.returncode, cpu)


def quiet_run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {cwd}: {proc.stderr[-2000:]}")


class Tool:
    """One data-versioning tool: how to init a repo, reset it and run its commands."""

    name: str
    meta_dir: str
    pointer_suffix: str

    def __init__(self, exe: str) -> None:
        self.exe = exe
        self.env = dict(os.environ)
        # Run as installed: with bytecode cached (the untimed set-up writes it), not
        # compiled from source on every start when the caller's shell disables that.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def init_cmds(self, repo: Path) -> list[list[str]]:
        raise NotImplementedError

    def cmd(self, *args: str) -> list[str]:
        return [self.exe, *args]

    def fresh_repo(self, repo: Path) -> None:
        """A brand-new git repo + tool init at `repo`, keeping whatever data is there;
        caches, state and pointers of earlier runs are removed."""
        repo.mkdir(parents=True, exist_ok=True)
        for name in (".git", self.meta_dir, ".gitignore", *self.extra_dirs(repo)):
            p = repo / name
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        for p in repo.glob(f"*{self.pointer_suffix}"):
            p.unlink()
        quiet_run(["git", "init", "-q"], repo)
        quiet_run(["git", "config", "user.email", "bench@example.com"], repo)
        quiet_run(["git", "config", "user.name", "bench"], repo)
        for c in self.init_cmds(repo):
            quiet_run(c, repo, self.env)

    def extra_dirs(self, repo: Path) -> list[str]:  # noqa: ARG002 - overridden
        return []

    def run(self, repo: Path, *args: str) -> Sample:
        return timed(self.cmd(*args), repo, self.env)


class Dvlite(Tool):
    name = "dvlite"
    meta_dir = ".dvlite"
    pointer_suffix = ".dvl"

    def init_cmds(self, repo: Path) -> list[list[str]]:  # noqa: ARG002 - same signature
        return [self.cmd("-q", "init")]

    def state_rows(self, repo: Path) -> dict[object, tuple[object, ...]]:
        """The state db's rows, keyed by their first column (to count re-hashed files)."""
        import sqlite3

        db = repo / self.meta_dir / "state.db"
        if not db.exists():
            return {}
        conn = sqlite3.connect(db)
        try:
            table = conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' LIMIT 1").fetchone()
            if table is None:
                return {}
            rows = conn.execute(f"SELECT * FROM {table[0]}").fetchall()
        finally:
            conn.close()
        return {r[0]: tuple(r[1:]) for r in rows}


class Dvc(Tool):
    name = "dvc"
    meta_dir = ".dvc"
    pointer_suffix = ".dvc"

    def __init__(self, exe: str) -> None:
        super().__init__(exe)
        self.env["DVC_NO_ANALYTICS"] = "1"

    def extra_dirs(self, repo: Path) -> list[str]:  # noqa: ARG002 - same signature
        return [".dvc-site"]

    def init_cmds(self, repo: Path) -> list[list[str]]:
        # The site cache (DVC's hash state and index) is normally keyed by the repo path
        # under /var/tmp; keep it inside the repo so a fresh repo really starts cold.
        return [
            self.cmd("init", "-q"),
            self.cmd("config", "core.analytics", "false"),
            self.cmd("config", "--local", "core.site_cache_dir", str(repo / ".dvc-site")),
        ]

    def cmd(self, *args: str) -> list[str]:
        if args and args[0] in ("add", "checkout", "status"):
            return [self.exe, args[0], "-q", *args[1:]]
        return [self.exe, *args]
