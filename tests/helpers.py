"""Shared test helpers: run the CLI, lay out files, drive git, check repository invariants."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from dvlite.cli.main import app
from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.core.pointer import Pointer
from dvlite.storage.hashing import hash_file

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run(*args: str, cwd: Path | None = None) -> Result:
    """Run the CLI in-process through typer's CliRunner (from `cwd` if given)."""
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        r = CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    return Result(r.exit_code, r.stdout, r.stderr)


def run_proc(*args: str, cwd: Path, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run dvlite as a subprocess, like a user."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "dvlite", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group `pgid`, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def wait_for(ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll for an event (a marker file, a process gone) with a bounded wait."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return out.stdout


def gen(root: Path, tree: dict[str, object]) -> None:
    """Lay out files: {"a.txt": "text", "d": {"b.bin": b"bytes"}}."""
    for name, content in tree.items():
        path = root / name
        if isinstance(content, dict):
            path.mkdir(parents=True, exist_ok=True)
            gen(path, content)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else content
            assert isinstance(data, bytes)
            path.write_bytes(data)


def is_store_temp(key: str) -> bool:
    """A store-relative name (`tmp/x` or `algo/ab/.abc...dvlite-tmp-...`) of a temp file."""
    return key.startswith("tmp/") or ".dvlite-tmp-" in key


def store_temps(root: Path) -> list[Path]:
    """Temp files a killed writer left in a store (the cache or a folder remote): in its
    temp area, or beside the objects in the shard folders."""
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and is_store_temp(p.relative_to(root).as_posix()))


def check_repo(repo: Path, complete: bool = True) -> None:
    """Invariants after any state change: every cache object hashes to its name and is
    read-only, no temp files are left, every pointer's objects are present (unless not
    `complete`: a fetch stopped midway)."""
    cache = repo / ".dvlite" / "cache"
    for path in cache.rglob("*"):
        if path.is_dir() or is_store_temp(path.relative_to(cache).as_posix()):
            continue
        rel = path.relative_to(cache).parts
        if rel[0] == "bad":
            continue
        algo, shard, name = rel
        assert name.startswith(shard), path
        oid, _ = hash_file(path, algo)
        assert oid.hex == name, f"corrupt cache object {path}"
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), path
    leftovers = store_temps(cache)
    assert not leftovers, f"temp files left: {leftovers}"
    stray = [p for p in repo.rglob("*.dvlite-tmp-*") if not p.is_relative_to(cache)]
    assert not stray, f"workspace temp files left: {stray}"
    for pf in repo.rglob("*.dvl"):
        if ".dvlite" in pf.parts or ".git" in pf.parts or not complete:
            continue
        pointer = Pointer.from_bytes(pf.read_bytes(), str(pf))
        assert object_path(repo, pointer.oid).exists(), f"{pf}: object missing"
        if pointer.is_dir:
            manifest = Manifest.from_bytes(object_path(repo, pointer.oid).read_bytes(), "m")
            for e in manifest:
                assert object_path(repo, e.oid).exists(), f"{pf}: {e.relpath} missing"


def object_path(repo: Path, oid: Oid) -> Path:
    return repo / ".dvlite" / "cache" / oid.algo / oid.hex[:2] / oid.hex


def read_pointer(path: Path) -> Pointer:
    return Pointer.from_bytes(path.read_bytes(), str(path))


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file's bytes (and symlink targets) under root, excluding .git."""
    snap: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts:
            continue
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            snap[key] = "->" + os.readlink(path)
        elif path.is_file():
            snap[key] = path.read_bytes()
    return snap


def folder_remote_oids(root: Path, algo: str = "xxh128") -> set[str]:
    """Hex of every object in a folder remote: loose files and those in packs with an
    index (read with a parser of its own, independent of dvlite's)."""
    found = {p.name for p in (root / algo).glob("??/*") if ".dvlite-tmp-" not in p.name}
    packs = root / "packs" / algo
    for idx in packs.glob("*.idx"):
        if idx.with_suffix(".pack").is_file():
            lines = idx.read_text().splitlines()[1:]
            found.update(line.split(" ")[0] for line in lines)
    return found
