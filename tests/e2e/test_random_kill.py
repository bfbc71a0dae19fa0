"""kill -9 at random moments (RELIABILITY F5, complementing the named crash points of
F1-F4 and F21): for each command, run it as a subprocess and SIGKILL it after a delay
drawn from `random.Random(seed)`, over a fixed list of seeds.

After each kill: objects at their final names in the cache and in the folder remote are
whole (hash to their names; cache objects read-only), no manifest is there without its
files, every pointer names only cached objects, and each workspace data file is absent,
the old version or the new one, never a part. Then the same command, run again, finishes
the job: the result equals an un-killed reference run (workspace bytes, pointer and
.gitignore bytes, staged files, cache and remote object sets), `status --exit-code` is 0
and `check_repo` holds.

The reference runs also calibrate the kill window: delays are drawn between the CLI's
start-up time (before it, the process has touched nothing) and the wall time of the
fastest complete run seen so far, so kills land throughout the work. A kill that lands
after the process exited is harmless but tests nothing: that seed is tried again (same
draw, in the window shortened to that run's time); so is one that came before the work
began, later in the window, while no kill has yet landed mid-work. Each test asserts
that most seeds hit a running process, and (but for gc) that some left the work half
done.

A failure message names the command, the seed and the delay; data and seeds are fixed.
"""

from __future__ import annotations

import gc
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvlite.core.manifest import Manifest
from dvlite.core.oid import hash_bytes
from dvlite.core.pointer import Pointer
from dvlite.storage.atomic import TMP_MARK
from tests.helpers import check_repo, gen, git, is_store_temp, run, run_proc, store_temps

pytestmark = [pytest.mark.e2e, pytest.mark.crash]

# Fixed, so a failure reproduces; chosen so that their first draws fall one in each eighth
# of [0, 1), latest first: the kills spread over the whole window, and a kill that comes
# too late (the process had exited) shrinks the window early, for the seeds after it.
SEEDS = (900, 517, 241, 779, 945, 262, 343, 585)
DATA_SEED = 2026
# A kill that came after the process exited is drawn again in the shortened window; one
# that came before the work began, later in the window (until one has landed mid-work).
MAX_ATTEMPTS = 3
ALGO = "xxh128"
MANIFEST_HEAD = b'{"format": '
DATA = ("data", "model.bin")


def _dataset(repo: Path) -> None:
    """200 files, ~48 MiB: a folder of 190 small files and 9 big ones, and a big file."""
    rng = random.Random(DATA_SEED)
    small = repo / "data" / "small"
    small.mkdir(parents=True)
    for i in range(190):
        (small / f"s{i:03}.bin").write_bytes(rng.randbytes(rng.randint(0, 40_000)))
    big = repo / "data" / "big"
    big.mkdir()
    for i in range(9):
        (big / f"b{i}.bin").write_bytes(rng.randbytes(4_500_000 + i))
    (repo / "model.bin").write_bytes(rng.randbytes(5_000_000))


def ok(*args: str, cwd: Path) -> None:
    r = run(*args, cwd=cwd)
    assert r.exit_code == 0, (args, r.stdout, r.stderr)


def _drop_data(repo: Path) -> None:
    shutil.rmtree(repo / "data")
    (repo / "model.bin").unlink()


# -- scenarios: a starting repository (in root/repo, its remote in root/store) ------------


def _added(repo: Path) -> None:
    _dataset(repo)
    ok("add", *DATA, cwd=repo)
    git(repo, "commit", "-qm", "data")


def _with_remote(repo: Path) -> None:
    _added(repo)
    # relative to the repo root, so every copy of the scenario has its own remote
    ok("remote", "add", "origin", "../store", "--default", cwd=repo)


def _pushed_and_wiped(repo: Path) -> None:
    _with_remote(repo)
    ok("push", cwd=repo)
    shutil.rmtree(repo / ".dvlite" / "cache")
    _drop_data(repo)


def _deleted(repo: Path) -> None:
    _added(repo)
    _drop_data(repo)


def _with_garbage(repo: Path) -> None:
    """2,000 cache objects that nothing references: added, then the pointer dropped."""
    _added(repo)
    junk = repo / "junk"
    junk.mkdir()
    for i in range(2000):
        (junk / f"j{i}").write_bytes(b"junk %d\n" % i)
    ok("add", "junk", cwd=repo)
    git(repo, "rm", "-q", "--cached", "junk.dvl")
    (repo / "junk.dvl").unlink()
    shutil.rmtree(junk)


@dataclass(frozen=True)
class Scenario:
    args: tuple[str, ...]
    prepare: Callable[[Path], None]
    min_midway: int = 1  # kills that must leave the work half done


SCENARIOS = {
    "add": Scenario(("add", *DATA), _dataset),
    "checkout": Scenario(("checkout",), _deleted),
    # one upload at a time, so a kill lands between two of them more often
    "push": Scenario(("push", "-j", "1"), _with_remote),
    "pull": Scenario(("pull",), _pushed_and_wiped),
    # gc deletes in the last ~15% of its run (after reading every unused object to find
    # the manifests), so a kill mid-delete is likely, not certain; F4 covers it exactly.
    "gc": Scenario(("gc",), _with_garbage, min_midway=0),
}


# -- state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    files: dict[str, str]  # workspace data file -> digest
    pointers: dict[str, bytes]  # *.dvl and .gitignore files -> bytes
    staged: tuple[str, ...]
    cache: frozenset[str]
    remote: frozenset[str]


def _user_files(repo: Path) -> list[Path]:
    return [p for p in repo.rglob("*") if p.is_file() and not p.is_symlink()
            and not {".git", ".dvlite"} & set(p.relative_to(repo).parts)]


# (name, device, inode, size, mtime) -> (hash, is a manifest): clones share object files
# through hard links, so most are hashed once, not once per check.
_HASHED: dict[tuple[str, int, int, int, int], tuple[str, bool]] = {}


def _hash_object(path: Path) -> tuple[str, bool]:
    st = path.stat()
    key = (path.name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _HASHED:
        data = path.read_bytes()
        _HASHED[key] = (hash_bytes(ALGO, data).hex, data.startswith(MANIFEST_HEAD))
    return _HASHED[key]


def objects(store: Path, where: str, *, read_only: bool) -> frozenset[str]:
    """Names of the objects at their final names in a store (loose, or in a pack with an
    index), each checked whole; and every manifest among them must have all its files
    there too."""
    root = store / ALGO
    names: dict[str, bytes | None] = {}  # name -> the manifest's bytes, if it is one
    for path in root.rglob("*") if root.exists() else []:
        if not path.is_file() or is_store_temp(path.relative_to(store).as_posix()):
            continue
        digest, is_manifest = _hash_object(path)
        assert path.parent.name == path.name[:2], f"{where}: stray file {path}"
        assert digest == path.name, f"{where}: partial object {path}"
        if read_only:
            assert not path.stat().st_mode & 0o222, f"{where}: writable object {path}"
        names[path.name] = path.read_bytes() if is_manifest else None
    names.update(_packed_objects(store, where))
    for name, manifest in names.items():
        if manifest is not None:
            lacking = [e.relpath for e in Manifest.from_bytes(manifest, name)
                       if e.oid.hex not in names]
            assert not lacking, f"{where}: manifest {name} without its files {lacking[:3]}"
    return frozenset(names)


def _packed_objects(store: Path, where: str) -> dict[str, bytes | None]:
    """The objects of every pack whose index arrived, each hashed from the pack's bytes."""
    found: dict[str, bytes | None] = {}
    for idx in sorted((store / "packs" / ALGO).glob("*.idx")):
        pack = idx.with_suffix(".pack")
        assert pack.is_file(), f"{where}: index {idx.name} without its pack"
        blob = pack.read_bytes()
        assert hash_bytes(ALGO, blob).hex == pack.stem, f"{where}: partial pack {pack}"
        for line in idx.read_text().splitlines()[1:]:
            name, offset, size = line.split(" ")
            data = blob[int(offset):int(offset) + int(size)]
            assert hash_bytes(ALGO, data).hex == name, f"{where}: bad {name} in {pack}"
            found[name] = data if data.startswith(MANIFEST_HEAD) else None
    return found


def state(root: Path, where: str) -> State:
    repo = root / "repo"
    files, pointers = {}, {}
    for path in _user_files(repo):
        rel = path.relative_to(repo).as_posix()
        if path.name.endswith(".dvl") or path.name == ".gitignore":
            pointers[rel] = path.read_bytes()
        elif TMP_MARK in path.name:
            # a killed checkout's temp file: hidden, beside its target
            assert path.name.startswith("."), f"{where}: visible temp file {rel}"
        else:
            files[rel] = hash_bytes(ALGO, path.read_bytes()).hex
    staged = tuple(git(repo, "diff", "--cached", "--name-only").split())
    return State(files, pointers, staged,
                 objects(repo / ".dvlite" / "cache", f"{where}: cache", read_only=True),
                 objects(root / "store", f"{where}: remote", read_only=False))


def pointed_objects(pointers: dict[str, bytes], cache: Path, where: str) -> set[str]:
    """Every object the pointers name (folder manifests expanded, when cached)."""
    needed = set()
    for rel, data in pointers.items():
        if not rel.endswith(".dvl"):
            continue
        pointer = Pointer.from_bytes(data, f"{where}: {rel}")  # whole, parseable
        needed.add(pointer.oid.hex)
        manifest = cache / ALGO / pointer.oid.hex[:2] / pointer.oid.hex
        if pointer.is_dir and manifest.exists():
            needed |= {e.oid.hex for e in Manifest.from_bytes(manifest.read_bytes(), rel)}
    return needed


def check_killed(root: Path, before: State, ref: State, where: str) -> State:
    """The invariants F1-F4 assert after a kill, for a kill at any moment."""
    now = state(root, where)  # objects whole, manifests complete, temps hidden
    for rel, digest in now.files.items():
        assert digest in (before.files.get(rel), ref.files.get(rel)), f"{where}: partial {rel}"
    kept = before.files.keys() & ref.files.keys()
    assert kept <= now.files.keys(), f"{where}: lost {sorted(kept - now.files.keys())[:3]}"
    cache = root / "repo" / ".dvlite" / "cache"
    was_cached = pointed_objects(before.pointers, cache, where) <= before.cache
    for rel, data in now.pointers.items():
        if was_cached or before.pointers.get(rel) != data:
            lacking = pointed_objects({rel: data}, cache, where) - now.cache
            assert not lacking, f"{where}: {rel} names objects not cached: {sorted(lacking)}"
    assert now.remote <= ref.remote | before.remote, f"{where}: unexpected remote objects"
    return now


# -- running and killing ---------------------------------------------------------------------


def _link_or_copy(src: str, dst: str) -> None:
    # Read-only files (cache, remote and git objects) are never written in place, so a
    # copy may share them; `objects` would catch a command making one writable.
    if os.stat(src).st_mode & 0o222:
        shutil.copy2(src, dst)
    else:
        os.link(src, dst)


def clone(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
    return dst


def _group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` is still running (zombies excluded)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


@dataclass(frozen=True)
class Ran:
    killed: bool
    seconds: float  # from start to exit, or to the kill


def launch(repo: Path, args: tuple[str, ...], delay: float | None, where: str) -> Ran:
    """Run dvlite in its own process group; SIGKILL it after `delay` seconds unless it
    exits first (the CLI process only, like the OOM killer). Returns once every child it
    started (e.g. git) has ended too, so a re-run does not race an orphan for git's lock."""
    log = repo.parent / "stderr.log"
    with open(log, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "dvlite", *args], cwd=repo,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        pidfd = os.pidfd_open(proc.pid)  # readable when the process exits
        try:
            exited, _, _ = select.select([pidfd], [], [], delay)
        finally:
            os.close(pidfd)
        seconds = time.monotonic() - start
        if not exited:
            proc.kill()  # no effect if it exited just now
        code = proc.wait(timeout=300)
    deadline = time.monotonic() + 60
    while _group_alive(proc.pid):
        assert time.monotonic() < deadline, f"{where}: children still running"
        time.sleep(0.01)
    assert code in (0, -signal.SIGKILL), f"{where}: exit {code}: {log.read_text()}"
    return Ran(code == -signal.SIGKILL, seconds)


def startup_time(repo: Path) -> float:
    return launch(repo, ("--version",), None, "--version").seconds


def reference(base: Path, dst: Path, args: tuple[str, ...]) -> tuple[Path, float]:
    """An un-killed run on a copy of `base`, and its wall time."""
    root = clone(base, dst)
    ran = launch(root / "repo", args, None, f"{args[0]} reference")
    assert not ran.killed
    return root, ran.seconds


def finish(root: Path, args: tuple[str, ...], before: State, ref: State, where: str) -> None:
    """Re-run the command: it finishes the job exactly like the un-killed run."""
    repo = root / "repo"
    r = run(*args, cwd=repo)
    assert r.exit_code == 0, f"{where}: re-run failed: {r.stderr}"
    for leftover in store_temps(repo / ".dvlite" / "cache"):
        leftover.unlink()  # a killed writer's temp file; gc removes it after an hour
    assert state(root, where) == ref, f"{where}: re-run differs from the reference"
    r = run("status", "--exit-code", cwd=repo)
    assert r.exit_code == 0, f"{where}: {r.stdout}"
    check_repo(repo)
    if ref.remote != before.remote:  # a push
        r = run("status", "--remote", "--exit-code", cwd=repo)
        assert r.exit_code == 0, f"{where}: {r.stdout}"
    if store_temps(root / "store"):  # F21: gc clears a killed copy's temp from the remote
        ok("gc", "--remote", "--now", "--yes", cwd=repo)
        assert not store_temps(root / "store"), where
        assert state(root, where) == ref, where


@pytest.mark.parametrize("command", sorted(SCENARIOS))
def test_killed_at_random_then_rerun(template_repo: Path, tmp_path: Path, command: str) -> None:
    scenario = SCENARIOS[command]
    base = tmp_path / "base"
    repo = clone(template_repo, base / "repo")
    scenario.prepare(repo)
    before = state(base, f"{command} before")

    # The kill window ends at the fastest complete run seen, reference or not: on a busy
    # machine the reference may be slow, and kills would then land after the end.
    ref_root, window = reference(base, tmp_path / "reference", scenario.args)
    again_root, again = reference(base, tmp_path / "again", scenario.args)
    ref = state(ref_root, f"{command} reference")
    assert ref != before  # the command has work to do
    assert state(again_root, f"{command} again") == ref  # the outcome is deterministic
    window = min(window, again)
    lo = min(startup_time(repo), startup_time(repo))  # before it nothing is touched

    live = midway = 0
    for seed in SEEDS:
        draw = random.Random(seed).random()
        hit = False
        for attempt in range(MAX_ATTEMPTS):
            delay = lo + draw * max(window - lo, 0.0)
            where = f"{command} seed={seed} kill after {delay:.3f}s of {window:.3f}s"
            root = clone(base, tmp_path / f"seed{seed}-{attempt}")
            ran = launch(root / "repo", scenario.args, delay, where)
            after = check_killed(root, before, ref, where)
            midway += after not in (before, ref)
            finish(root, scenario.args, before, ref, where)
            # the in-process re-runs' sqlite connections close when collected, deleting
            # their -wal files: collect now, not in the middle of the rmtree
            gc.collect()
            shutil.rmtree(root)
            hit = hit or ran.killed
            if not ran.killed:
                # It finished before the kill: the work is shorter than the window said
                # (the machine was busier during the reference). Same draw, shorter window.
                window = min(window, ran.seconds)
            elif after == before and midway < scenario.min_midway:
                # Killed before it changed anything (a busy machine stretched its start):
                # while no kill has yet landed mid-work, try this seed later in the window.
                draw = (1 + draw) / 2
            else:
                break
        live += hit
    # guards against the test silently degrading into killing nothing
    counts = f"{command}: {live} of {len(SEEDS)} kills hit a running process, {midway} " \
        f"left the work half done (window {lo:.3f}-{window:.3f}s)"
    print(counts)
    assert live >= len(SEEDS) / 2 and midway >= scenario.min_midway, counts


def test_rerun_add_replaces_what_a_killed_pointer_write_left(repo: Path) -> None:
    """Found by the random kills above: a kill inside the atomic write of a pointer or
    .gitignore used to leave its temp file in the workspace for good."""
    gen(repo, {"data": {"a.txt": "alpha"}})
    r = run_proc("add", "data", cwd=repo, env={"DVLITE_FAULTPOINT": "atomic.before_rename"})
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert [p.name for p in repo.glob(f".*{TMP_MARK}*")] == [f".data.dvl{TMP_MARK}locked"]
    assert run("add", "data").exit_code == 0
    check_repo(repo)  # no workspace temp files left
    assert not list(repo.glob(f".*{TMP_MARK}*"))
