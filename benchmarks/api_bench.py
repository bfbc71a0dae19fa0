"""Python API benchmark: `dvlite.api` and the `dvlite://` filesystem against `dvc.api` and
`DVCFileSystem`, on the same data in the same run.

    python benchmarks/api_bench.py --dvc-python /tmp/dvc-venv/bin/python
    python benchmarks/api_bench.py --dvc-python ... --scale 0.1 --runs 1   # a quick look
    python benchmarks/api_bench.py --dvc-python ... --only stream --only git-url

Four measurements, each in fresh child processes (dvlite's with this interpreter, DVC's
with `--dvc-python`: DVC lives in a venv of its own and is never a dependency of dvlite):

- `read`: `api.read` of 1,000 small files (1-8 KiB, inside one tracked folder) at an
  older revision, cache warm, against `dvc.api.read` in the same loop;
- `stream`: a 2 GiB tracked file streamed through the filesystem's `open` from the cache,
  1 MiB reads (GiB/s and the child's peak RSS);
- `s3`: 200 files of 5 MiB read into memory from an S3 remote (moto's server on
  127.0.0.1) by 8 threads through the filesystem, cache empty;
- `git-url`: the first `api.read` of a file from a git URL (`git daemon` on 127.0.0.1
  serving a bare repository with 1,000 commits): the objects git sent, counted by the
  server (git's trace2 `pack-objects` counter), against the repository's total.

Each child times its own work (start-up and imports excluded) and reports its peak RSS.
Rounds alternate which tool goes first; figures are medians over `--runs` rounds, and a
ratio is the median of the per-round ratios (DVC / dvlite).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen import MiB, _random_block, _write
from remote_bench import BUCKET, CREDS, Moto
from report import Row
from run import machine
from tools import Dvc, Dvlite, Sample, Tool, quiet_run

GiB = 1 << 30
ALL = ("read", "stream", "s3", "git-url")

# The children. Each gets one JSON argument, prints one JSON line: the seconds of its own
# work, its peak RSS and CPU, and what it read (sizes and a digest, checked by the parent).
PRELUDE = """
import hashlib, json, resource, sys, time
args = json.loads(sys.argv[1])
def report(seconds, **extra):
    # VmHWM, not ru_maxrss: that one keeps the page high-water mark of the (large) parent
    # this child was forked from, across exec.
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "rss_mib": hwm / 1024,
                      "cpu": ru.ru_utime + ru.ru_stime, **extra}))
"""

READ = {
    "dvlite": """
import dvlite.api
def read(path):
    return dvlite.api.read(path, repo=args["repo"], rev=args["rev"])
""",
    "dvc": """
import dvc.api
def read(path):
    return dvc.api.read(path, repo=args["repo"], rev=args["rev"], mode="rb")
""",
}
READ_LOOP = """
paths = open(args["paths"]).read().split()
digest = hashlib.sha256()
start = time.perf_counter()
for p in paths:
    digest.update(read(p))
report(time.perf_counter() - start, digest=digest.hexdigest(), files=len(paths))
"""

FS = {
    "dvlite": """
from dvlite.fs import DvliteFileSystem
fs = DvliteFileSystem(repo=args["repo"], rev=args["rev"])
""",
    "dvc": """
from dvc.api import DVCFileSystem
fs = DVCFileSystem(args["repo"], rev=args["rev"])
""",
}
STREAM = """
block, total = 1 << 20, 0
head = tail = b""
start = time.perf_counter()
with fs.open(args["path"], "rb") as f:
    while True:
        chunk = f.read(block)
        if not chunk:
            break
        if not total:
            head = chunk
        total += len(chunk)
        tail = chunk
elapsed = time.perf_counter() - start
report(elapsed, bytes=total, digest=hashlib.sha256(head + tail).hexdigest())
"""
THREADS = """
from concurrent.futures import ThreadPoolExecutor
paths = open(args["paths"]).read().split()
def fetch(path):
    with fs.open(path, "rb") as f:
        return f.read()
start = time.perf_counter()
with ThreadPoolExecutor(8) as pool:
    blobs = list(pool.map(fetch, paths))
elapsed = time.perf_counter() - start
digest = hashlib.sha256()
for b in blobs:
    digest.update(hashlib.sha256(b).digest())
report(elapsed, bytes=sum(map(len, blobs)), digest=digest.hexdigest())
"""
S3_FLOOR = """
import boto3
from concurrent.futures import ThreadPoolExecutor
s3 = boto3.client("s3", endpoint_url=args["endpoint"], region_name="us-east-1")
keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
    Bucket=args["bucket"], Prefix=args["prefix"]) for o in page.get("Contents", [])
    if o["Size"] == args["size"]]
def fetch(key):
    return s3.get_object(Bucket=args["bucket"], Key=key)["Body"].read()
start = time.perf_counter()
with ThreadPoolExecutor(8) as pool:
    blobs = list(pool.map(fetch, keys))
report(time.perf_counter() - start, bytes=sum(map(len, blobs)), files=len(keys))
"""
GIT_URL = {
    "dvlite": """
import dvlite.api
start = time.perf_counter()
data = dvlite.api.read(args["path"], repo=args["url"], rev=args["rev"])
report(time.perf_counter() - start, digest=hashlib.sha256(data).hexdigest())
""",
    "dvc": """
import dvc.api
start = time.perf_counter()
data = dvc.api.read(args["path"], repo=args["url"], rev=args["rev"], mode="rb")
report(time.perf_counter() - start, digest=hashlib.sha256(data).hexdigest())
""",
}


@dataclass
class ApiRow(Row):
    """One measurement; `extra` holds what the children returned beyond the timing."""

    check: Callable[[ApiRow], tuple[str, str]] | None = None

    def target_text(self) -> str:
        return self.check(self)[0] if self.check else ""

    def verdict(self) -> str:
        return self.check(self)[1] if self.check else ""

    def median_extra(self, tool: str, key: str) -> float | None:
        vals = [e[key] for e in self.extra.get(tool, []) if e.get(key) is not None]
        return statistics.median(vals) if vals else None


def ratio_check(minimum: float) -> Callable[[ApiRow], tuple[str, str]]:
    def check(row: ApiRow) -> tuple[str, str]:
        ratio = row.ratio()
        met = "" if ratio is None else ("yes" if ratio >= minimum else "NO")
        return f">= {minimum:g}x", met
    return check


def stream_check(row: ApiRow) -> tuple[str, str]:
    rate, rss = row.median_extra("dvlite", "gib_s"), row.rss("dvlite")
    met = "" if rate is None or rss is None else (
        "yes" if rate >= 1.0 and rss < 150 else "NO")
    return ">= 1 GiB/s, RSS < 150 MiB", met


def objects_check(row: ApiRow) -> tuple[str, str]:
    got = [e.get("objects") for e in row.extra.get("dvlite", [])]
    one = row.extra.get("one_commit", [None])[0]
    met = "" if not got or one is None else (
        "yes" if all(g is not None and g <= one for g in got) else "NO")
    return f"<= one commit's objects ({one})", met


@dataclass
class Bench:
    args: argparse.Namespace
    tools: list[Tool]
    work: Path
    rows: list[ApiRow] = field(default_factory=list)
    moto: Moto | None = None

    def order(self, round_no: int) -> list[Tool]:
        return self.tools if round_no % 2 == 0 else self.tools[::-1]

    def python(self, tool: Tool) -> str:
        return self.args.dvc_python if isinstance(tool, Dvc) else sys.executable

    def child(self, tool: Tool, code: str, payload: dict[str, Any],
              env: dict[str, str] | None = None) -> dict[str, Any]:
        # Never the home folder's per-user object cache (dvlite's): one of the work folder.
        env = {"XDG_CACHE_HOME": str(self.work / "xdg"), **(env or {})}
        proc = subprocess.run([self.python(tool), "-c", PRELUDE + code, json.dumps(payload)],
                              env={**tool.env, **env}, capture_output=True, text=True,
                              check=False, cwd=self.work)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-3000:])
            raise RuntimeError(f"{tool.name}'s child failed (exit {proc.returncode})")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result

    def measure(self, label: str, op: str, one: Callable[[Tool, int], dict[str, Any]],
                check: Callable[[ApiRow], tuple[str, str]] | None) -> ApiRow:
        row = ApiRow(label, op, check=check)
        for i in range(self.args.runs):
            for tool in self.order(i):
                res = one(tool, i)
                row.samples.setdefault(tool.name, []).append(
                    Sample(res["seconds"], res["rss_mib"], 0, res["cpu"]))
                row.extra.setdefault(tool.name, []).append(
                    {k: v for k, v in res.items() if k not in ("seconds", "rss_mib", "cpu")})
        self.rows.append(row)
        print(progress(row), flush=True)
        return row


def progress(row: ApiRow) -> str:
    parts = [f"{row.dataset:24} {row.op:44}"]
    for tool in row.samples:
        parts.append(f"{tool} {row.seconds(tool):7.3f} s {row.rss(tool):5.0f} MiB")
    ratio = row.ratio()
    if ratio is not None:
        parts.append(f"DVC/dvlite {ratio:.1f}x")
    return "  ".join(parts)


def new_repo(bench: Bench, tool: Tool, name: str) -> Path:
    repo = bench.work / tool.name / name
    if repo.exists():
        shutil.rmtree(repo)
    tool.fresh_repo(repo)
    return repo


def commit(repo: Path, message: str) -> str:
    quiet_run(["git", "add", "-A"], repo)
    quiet_run(["git", "commit", "-qm", message], repo)
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def wipe_cache(tool: Tool, repo: Path) -> None:
    shutil.rmtree(repo / tool.meta_dir / "cache", ignore_errors=True)
    if isinstance(tool, Dvc):
        shutil.rmtree(repo / ".dvc-site", ignore_errors=True)


def check_same(row: ApiRow, key: str, want: object) -> None:
    for tool, extras in row.extra.items():
        for e in extras:
            if e.get(key) != want:
                raise RuntimeError(f"{tool} read the wrong bytes in {row.op!r}: {e}")


# --- (a) api.read of 1,000 small files at an older revision, cache warm ---------------

def small_files(root: Path, count: int, version: int) -> list[str]:
    block = _random_block()
    rng = random.Random(7)
    names = []
    for i in range(count):
        path = root / "data" / f"dir{i % 10:02d}" / f"file{i:04d}.dat"
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, rng.randint(1024, 8192), 1000 * version + i, block)
        names.append(path.relative_to(root).as_posix())
    return names


def bench_read(bench: Bench) -> None:
    count = max(100, int(1000 * bench.args.scale))
    revs, paths_file = {}, bench.work / "read-paths.txt"
    for tool in bench.tools:
        repo = new_repo(bench, tool, "read")
        names = small_files(repo, count, 1)
        quiet_run(tool.cmd("add", "data"), repo, tool.env)
        revs[tool.name] = commit(repo, "v1")
        small_files(repo, count, 2)  # a newer version on top: the read is at the older one
        quiet_run(tool.cmd("add", "data"), repo, tool.env)
        commit(repo, "v2")
    paths_file.write_text("\n".join(names))
    want = hashlib.sha256()
    scratch = bench.work / "read-expected"
    shutil.rmtree(scratch, ignore_errors=True)
    small_files(scratch, count, 1)
    for n in names:
        want.update((scratch / n).read_bytes())

    def one(tool: Tool, _: int) -> dict[str, Any]:
        payload = {"repo": str(bench.work / tool.name / "read"), "rev": revs[tool.name],
                   "paths": str(paths_file)}
        return bench.child(tool, READ[tool.name] + READ_LOOP, payload)

    row = bench.measure(f"{count:,} small files", "api.read each, older rev, cache warm",
                        one, ratio_check(5.0))
    check_same(row, "digest", want.hexdigest())
    row.note = f"{count} reads in one process"


# --- (b) stream a 2 GiB file from the cache ------------------------------------------

def bench_stream(bench: Bench) -> None:
    size = max(16 * MiB, int(2 * GiB * bench.args.scale))
    src = bench.work / "src" / f"big-{size}.bin"
    if not src.exists():
        src.parent.mkdir(parents=True, exist_ok=True)
        _write(src, size, 1, _random_block())
    with open(src, "rb") as f:
        head = f.read(MiB)
        f.seek(-(size % MiB or MiB), os.SEEK_END)
        tail = f.read()
    want = hashlib.sha256(head + tail).hexdigest()
    revs = {}
    for tool in bench.tools:
        repo = new_repo(bench, tool, "stream")
        subprocess.run(["cp", str(src), str(repo / "big.bin")], check=True)
        quiet_run(tool.cmd("add", "big.bin"), repo, tool.env)
        revs[tool.name] = commit(repo, "big")

    def one(tool: Tool, _: int) -> dict[str, Any]:
        payload = {"repo": str(bench.work / tool.name / "stream"), "rev": revs[tool.name],
                   "path": "big.bin"}
        res = bench.child(tool, FS[tool.name] + STREAM, payload)
        res["gib_s"] = round(res["bytes"] / GiB / res["seconds"], 2)
        return res

    row = bench.measure(f"{size / GiB:.2g} GiB file", "fs.open, 1 MiB reads, from cache",
                        one, stream_check)
    check_same(row, "digest", want)
    check_same(row, "bytes", size)
    row.note = "GiB/s: " + ", ".join(
        f"{t} {row.median_extra(t, 'gib_s'):.2f}" for t in row.extra)


# --- (c) 200 x 5 MiB from S3, 8 threads -------------------------------------------

def bench_s3(bench: Bench) -> None:
    count = max(8, int(200 * bench.args.scale))
    if bench.moto is None:
        bench.moto = Moto(bench.work)
    moto = bench.moto
    block = _random_block()
    revs = {}
    for tool in bench.tools:
        repo = new_repo(bench, tool, "s3")
        for i in range(count):
            (repo / "data").mkdir(exist_ok=True)
            _write(repo / "data" / f"part{i:03d}.bin", 5 * MiB, 100_000 + i, block)
        url = f"s3://{BUCKET}/api-{tool.name}"
        moto.wipe(f"api-{tool.name}/")
        if isinstance(tool, Dvlite):
            quiet_run(tool.cmd("remote", "add", "s3", url, "--default"), repo, tool.env)
            quiet_run(tool.cmd("remote", "modify", "s3", "endpoint_url", moto.endpoint),
                      repo, tool.env)
        else:
            quiet_run(tool.cmd("remote", "add", "-d", "s3", url), repo, tool.env)
            quiet_run(tool.cmd("remote", "modify", "s3", "endpointurl", moto.endpoint),
                      repo, tool.env)
        quiet_run(tool.cmd("add", "data"), repo, tool.env)
        revs[tool.name] = commit(repo, "parts")
        quiet_run(tool.cmd("push"), repo, tool.env)
    names = [f"data/part{i:03d}.bin" for i in range(count)]
    paths_file = bench.work / "s3-paths.txt"
    paths_file.write_text("\n".join(names))
    want = hashlib.sha256()
    repo0 = bench.work / bench.tools[0].name / "s3"
    for n in names:
        want.update(hashlib.sha256((repo0 / n).read_bytes()).digest())

    def one(tool: Tool, _: int) -> dict[str, Any]:
        repo = bench.work / tool.name / "s3"
        wipe_cache(tool, repo)
        # dvlite keeps what it downloads in the per-user object cache: a fresh, empty one
        # for each run (and none in the home folder).
        user = bench.work / "user-cache"
        shutil.rmtree(user, ignore_errors=True)
        before = moto.requests()
        res = bench.child(tool, FS[tool.name] + THREADS,
                          {"repo": str(repo), "rev": revs[tool.name], "paths": str(paths_file)},
                          {"XDG_CACHE_HOME": str(user)})
        res["requests"] = moto.requests() - before
        shutil.rmtree(user, ignore_errors=True)
        res["mib_s"] = round(res["bytes"] / MiB / res["seconds"])
        return res

    row = bench.measure(f"{count} x 5 MiB, S3 remote", "fs.open().read(), 8 threads, no cache",
                        one, ratio_check(3.0))
    check_same(row, "digest", want.hexdigest())
    # The floor: the same objects (dvlite's loose copies) fetched by bare boto3 GETs from
    # 8 threads, from the same server on the same cores, with no hashing and no cache.
    dvlite = next((t for t in bench.tools if isinstance(t, Dvlite)), None)
    floor = []
    for _ in range(bench.args.runs if dvlite else 0):
        assert dvlite is not None
        res = bench.child(dvlite, S3_FLOOR, {"endpoint": moto.endpoint, "bucket": BUCKET,
                                             "prefix": "api-dvlite/", "size": 5 * MiB})
        if res["files"] != count:
            raise RuntimeError(f"the floor found {res['files']} objects, not {count}")
        floor.append(res["seconds"])
    row.note = "; ".join(
        f"{t}: {row.median_extra(t, 'mib_s'):.0f} MiB/s, "
        f"{row.median_extra(t, 'requests'):.0f} requests" for t in row.extra)
    if floor:
        row.note += f"; floor (boto3 GETs, 8 threads): {statistics.median(floor):.2f} s"


# --- (d) first api.read from a git URL (1,000 commits) ----------------------------

class GitDaemon:
    """`git daemon` on 127.0.0.1 serving `base`; git's trace2 events of the processes it
    starts (upload-pack, pack-objects) go to one file, which counts the objects sent."""

    def __init__(self, base: Path, work: Path) -> None:
        self.trace = work / "git-daemon.trace2"
        self.trace.write_text("")
        self._offset = 0
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            ["git", "daemon", "--listen=127.0.0.1", f"--port={self.port}", "--export-all",
             "--reuseaddr", f"--base-path={base}", str(base)],
            env={**os.environ, "GIT_TRACE2_EVENT": str(self.trace)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.05)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def objects_sent(self) -> int:
        """Objects in the packs sent since the last call (waits for the log to settle)."""
        total, quiet = 0, 0
        while quiet < 3:
            with open(self.trace, "rb") as f:
                f.seek(self._offset)
                data = f.read()
            end = data.rfind(b"\n") + 1
            self._offset += end
            for line in data[:end].splitlines():
                event = json.loads(line)
                if event.get("key") == "write_pack_file/wrote":
                    total += int(event["value"])
            quiet = quiet + 1 if not end else 0
            time.sleep(0.1)
        return total

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def history_stream(commits: int) -> bytes:
    """A git fast-import stream: `commits` commits on main, each changing a few files."""
    out, stamp = [], 1_700_000_000
    for i in range(commits):
        files = {"history/log.txt": "".join(f"step {j}\n" for j in range(i % 50 + 1)),
                 f"src/module{i % 20:02d}.py": f"VERSION = {i}\n" + "# code\n" * (i % 7)}
        out.append(f"commit refs/heads/main\nmark :{i + 1}\n"
                   f"committer Bench <bench@example.com> {stamp + i * 60} +0000\n"
                   f"data {len(f'step {i}')}\nstep {i}\n")
        if i:
            out.append(f"from :{i}\n")
        for path, text in files.items():
            raw = text.encode()
            out.append(f"M 100644 inline {path}\ndata {len(raw)}\n")
            out.append(raw.decode() + "\n")
    return "".join(out).encode()


def bench_git_url(bench: Bench) -> None:
    commits = 1000
    served = bench.work / "served"
    shutil.rmtree(served, ignore_errors=True)
    served.mkdir(parents=True)
    stream = history_stream(commits - 1)
    size = max(MiB, int(16 * MiB * bench.args.scale))
    src = bench.work / "src" / f"model-{size}.bin"
    src.parent.mkdir(parents=True, exist_ok=True)
    _write(src, size, 77, _random_block())
    want = hashlib.sha256(src.read_bytes()).hexdigest()
    one_commit: dict[str, int] = {}
    total_objects: dict[str, int] = {}
    for tool in bench.tools:
        repo = bench.work / tool.name / "history"
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir(parents=True)
        quiet_run(["git", "init", "-q", "-b", "main"], repo)
        for key, value in (("user.email", "bench@example.com"), ("user.name", "bench")):
            quiet_run(["git", "config", key, value], repo)
        subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=stream, check=True)
        quiet_run(["git", "checkout", "-qf", "main"], repo)
        for c in tool.init_cmds(repo):
            quiet_run(c, repo, tool.env)
        store = bench.work / tool.name / "history-remote"
        shutil.rmtree(store, ignore_errors=True)
        if isinstance(tool, Dvlite):
            quiet_run(tool.cmd("remote", "add", "store", str(store), "--default"), repo,
                      tool.env)
        else:
            quiet_run(tool.cmd("remote", "add", "-d", "store", str(store)), repo, tool.env)
        shutil.copy(src, repo / "model.bin")
        quiet_run(tool.cmd("add", "model.bin"), repo, tool.env)
        commit(repo, "model")
        quiet_run(["git", "tag", "v1"], repo)
        quiet_run(tool.cmd("push"), repo, tool.env)
        bare = served / f"{tool.name}.git"
        quiet_run(["git", "clone", "-q", "--bare", str(repo), str(bare)], served)
        for key in ("uploadpack.allowFilter", "uploadpack.allowAnySHA1InWant"):
            quiet_run(["git", "config", key, "true"], bare)
        count = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=bare,
                               capture_output=True, text=True, check=True).stdout.strip()
        if int(count) != commits:
            raise RuntimeError(f"{bare} has {count} commits, not {commits}")
        tree = subprocess.run(["git", "ls-tree", "-r", "-t", "HEAD"], cwd=bare,
                              capture_output=True, text=True, check=True).stdout
        one_commit[tool.name] = 2 + len(tree.splitlines())  # commit, root tree, entries
        objs = subprocess.run(["git", "rev-list", "--objects", "--all"], cwd=bare,
                              capture_output=True, text=True, check=True).stdout
        total_objects[tool.name] = len(objs.splitlines())
    daemon = GitDaemon(served, bench.work)
    try:
        for rev in (None, "v1"):
            def one(tool: Tool, round_no: int, rev: str | None = rev) -> dict[str, Any]:
                fresh = bench.work / "fresh" / f"{tool.name}-{rev}-{round_no}"
                shutil.rmtree(fresh, ignore_errors=True)
                (fresh / "tmp").mkdir(parents=True)
                # No clone or cache left by an earlier round: a new HOME and TMPDIR.
                env = {"HOME": str(fresh), "TMPDIR": str(fresh / "tmp"),
                       "XDG_CACHE_HOME": str(fresh / ".cache")}
                daemon.objects_sent()
                res = bench.child(tool, GIT_URL[tool.name],
                                  {"url": daemon.url(f"{tool.name}.git"), "path": "model.bin",
                                   "rev": rev}, env)
                res["objects"] = daemon.objects_sent()
                shutil.rmtree(fresh, ignore_errors=True)
                return res

            op = "first api.read, " + (f"rev {rev} (a tag)" if rev else "default branch")
            row = bench.measure(f"git URL, {commits:,} commits", op, one, objects_check)
            check_same(row, "digest", want)
            row.extra["one_commit"] = [one_commit.get("dvlite")]
            row.note = "objects sent by git (of " + ", ".join(
                f"{t} {total_objects[t]}" for t in total_objects) + " in the repository): " + \
                ", ".join(f"{t} {[e['objects'] for e in row.extra[t]]}"
                          for t in (x.name for x in bench.tools))
    finally:
        daemon.stop()


# --- report ----------------------------------------------------------------------

def _f(x: float | None, fmt: str) -> str:
    return "" if x is None else format(x, fmt)


def render(rows: list[ApiRow], info: dict[str, str], args: argparse.Namespace,
           elapsed: float, dvc_version: str) -> str:
    lines = [
        f"Machine: {info['nproc']} cores ({info['cpu']}), {info['ram']} RAM, "
        f"{info['filesystem']} filesystem, Linux {info['kernel']}, Python {info['python']}; "
        f"DVC {dvc_version}. Scale {args.scale:g}, median of {args.runs} run(s), "
        f"total {elapsed / 60:.1f} min.",
        "",
        "| data | operation | dvlite s | dvlite peak RSS MiB | DVC s | DVC peak RSS MiB "
        "| DVC / dvlite | target | met | notes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in rows:
        ratio = r.ratio()
        cells = [r.dataset, r.op, _f(r.seconds("dvlite"), ".3f"), _f(r.rss("dvlite"), ".0f"),
                 _f(r.seconds("dvc"), ".3f"), _f(r.rss("dvc"), ".0f"),
                 f"{ratio:.1f}x" if ratio is not None else "", r.target_text(), r.verdict(),
                 r.note]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dvc-python", help="the Python of a venv with dvc[s3] to compare with")
    p.add_argument("--scale", type=float, default=1.0, help="shrink the data (e.g. 0.1)")
    p.add_argument("--only", action="append", choices=ALL, help="one measurement (repeatable)")
    p.add_argument("--runs", type=int, default=3, help="rounds per measurement (median)")
    p.add_argument("--workdir", default=os.environ.get("DVLITE_BENCH_DIR",
                                                       "/tmp/dvlite-api-bench"))
    p.add_argument("--markdown", help="also write the result table to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(args.workdir) / f"scale-{args.scale}"
    work.mkdir(parents=True, exist_ok=True)
    tools: list[Tool] = [Dvlite(str(Path(sys.executable).parent / "dvlite"))]
    dvc_version = "-"
    if args.dvc_python:
        tools.insert(0, Dvc(str(Path(args.dvc_python).parent / "dvc")))
        dvc_version = subprocess.run([args.dvc_python, "-c", "import dvc; print(dvc.__version__)"],
                                     capture_output=True, text=True, check=True).stdout.strip()
    for t in tools:
        t.env.update(CREDS)
    bench = Bench(args, tools, work)
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()) + f", DVC {dvc_version}",
          flush=True)
    started = time.time()
    steps = {"read": bench_read, "stream": bench_stream, "s3": bench_s3,
             "git-url": bench_git_url}
    try:
        for name in args.only or ALL:
            steps[name](bench)
            save(bench, info, time.time() - started, dvc_version)
    finally:
        if bench.moto is not None:
            bench.moto.stop()
    print("\n" + save(bench, info, time.time() - started, dvc_version))
    return 0


def save(bench: Bench, info: dict[str, str], elapsed: float, dvc_version: str) -> str:
    text = render(bench.rows, info, bench.args, elapsed, dvc_version)
    rows = [{**r.to_dict(), "target": r.target_text()} for r in bench.rows]
    (bench.work / "api-results.json").write_text(
        json.dumps({"machine": info, "dvc": dvc_version, "rows": rows}, indent=1, default=str))
    (bench.work / "api-results.md").write_text(text + "\n")
    if bench.args.markdown:
        Path(bench.args.markdown).write_text(text + "\n")
    return text


if __name__ == "__main__":
    sys.exit(main())
