"""A guided tour of dvlite on a throw-away repository (`make demo`).

Builds a sample dataset (a few hundred small files and one ~100 MiB file) in a temporary
git repository, versions it with dvlite, edits it, travels back to the first commit and
checks that the bytes are exactly the first version's. Then it pushes to a local folder
remote, wipes the cache and the data, pulls them back and checks again.

Every command is printed before it runs. Exit status 0 means every check passed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
DVLITE = str(BIN / "dvlite")
SMALL_FILES = 300
BIG_SIZE = 100 << 20


class DemoFailedError(Exception):
    pass


def run(*cmd: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    shown = " ".join(["dvlite", *cmd[1:]] if cmd[0] == DVLITE else cmd)
    print(f"\n$ {shown}", flush=True)
    proc = subprocess.run(cmd, cwd=cwd, text=True, capture_output=True, check=False)
    for line in (proc.stdout + proc.stderr).rstrip().splitlines():
        print(f"  {line}")
    if check and proc.returncode != 0:
        raise DemoFailedError(f"'{shown}' exited {proc.returncode}")
    return proc


def dvlite(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(DVLITE, *args, cwd=cwd, check=check)


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run("git", *args, cwd=cwd)


def step(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def make_dataset(root: Path) -> None:
    """300 small files in 10 folders, plus one 100 MiB file of pseudo-random bytes."""
    images = root / "data" / "images"
    for i in range(SMALL_FILES):
        folder = images / f"class{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"img{i:04d}.txt").write_bytes(f"sample {i}\n".encode() * (1 + i % 50))
    seed = hashlib.sha256(b"dvlite demo").digest()
    block = hashlib.shake_256(seed).digest(1 << 20)
    with open(root / "data" / "model.bin", "wb") as f:
        for i in range(BIG_SIZE >> 20):
            f.write(bytes([i % 251]) + block[1:])


def fingerprint(top: Path) -> dict[str, str]:
    """sha256 of every file under `top` (independent of dvlite's own hashing)."""
    result = {}
    for path in sorted(top.rglob("*")):
        if path.is_file() and not path.name.endswith((".dvl", ".gitignore")):
            result[path.relative_to(top).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return result


def verify(repo: Path, expected: dict[str, str], label: str) -> None:
    actual = fingerprint(repo / "data")
    if actual != expected:
        keys = expected.keys() | actual.keys()
        wrong = sorted(k for k in keys if expected.get(k) != actual.get(k))
        raise DemoFailedError(f"{label}: {len(wrong)} file(s) differ, e.g. {wrong[:3]}")
    print(f"\nOK: {label}: all {len(actual)} files are byte-identical (checked with sha256)")


def tour(work: Path) -> None:
    repo = work / "project"
    repo.mkdir()
    step("A git repository with a dataset")
    git("init", "-q", "-b", "main", cwd=repo)
    git("config", "user.email", "demo@example.com", cwd=repo)
    git("config", "user.name", "dvlite demo", cwd=repo)
    make_dataset(repo)
    print(f"  created data/images ({SMALL_FILES} files) and data/model.bin (100 MiB)")

    step("Track the data with dvlite")
    dvlite("init", cwd=repo)
    dvlite("add", "data/images", "data/model.bin", cwd=repo)
    run("cat", "data/images.dvl", cwd=repo)
    git("commit", "-q", "-m", "v1 of the dataset", cwd=repo)
    first = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    v1 = fingerprint(repo / "data")
    dvlite("status", cwd=repo)

    step("Edit the data and record version 2")
    (repo / "data" / "images" / "class3" / "img0003.txt").write_text("relabelled\n")
    (repo / "data" / "images" / "class0" / "img0000.txt").unlink()
    (repo / "data" / "images" / "new.txt").write_text("a new sample\n")
    with open(repo / "data" / "model.bin", "r+b") as f:
        f.seek(50 << 20)
        f.write(b"fine-tuned weights")
    dvlite("status", cwd=repo, check=False)
    dvlite("add", "data/images", "data/model.bin", cwd=repo)
    git("commit", "-q", "-m", "v2 of the dataset", cwd=repo)
    v2 = fingerprint(repo / "data")

    step("What changed between the two commits")
    dvlite("diff", first, "HEAD", cwd=repo)

    step("Travel back to version 1")
    git("checkout", "-q", first, cwd=repo)
    dvlite("checkout", cwd=repo)
    verify(repo, v1, "after checkout of the first commit")
    git("checkout", "-q", "main", cwd=repo)
    dvlite("checkout", cwd=repo)
    verify(repo, v2, "back on main")

    remote_round_trip(repo, work / "remote", v2)


def remote_round_trip(repo: Path, remote: Path, expected: dict[str, str]) -> None:
    step("Share the data through a remote (a local folder here; s3://... works the same)")
    dvlite("remote", "add", "storage", str(remote), "--default", cwd=repo)
    dvlite("push", cwd=repo)
    step("Lose the cache and the workspace copy, then pull them back")
    print("\n$ rm -rf .dvlite/cache data/images data/model.bin")
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "data" / "images")
    (repo / "data" / "model.bin").unlink()
    dvlite("status", cwd=repo, check=False)
    dvlite("pull", cwd=repo)
    verify(repo, expected, "after pull from the remote")


def main() -> int:
    if not os.access(DVLITE, os.X_OK):
        print(f"error: {DVLITE} not found; run `make demo` (it installs dvlite first)",
              file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="dvlite-demo-"))
    try:
        tour(work)
    except DemoFailedError as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nDemo finished: every check passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
