"""The model registry's two timings (docs/benchmarks.md, "Model registry"):

(a) `dvlite model show NAME` with 50 versions and 100 stage assignments (target < 0.5 s);
(b) `dvlite get URL NAME#prod` from a bare repository of 1,000 commits, the model 100 MiB
    on a folder remote (target < 2x a plain `cp` of the model + 0.5 s), and the commits
    it fetched (target: one).

    python benchmarks/registry_bench.py [--runs 5] [--mib 100] [--commits 1000]

Each timing is the median of `--runs` runs of dvlite as a subprocess, like a user.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# as installed for a user: bytecode cached (a checkout that never writes it compiles
# every module on every run, a third of a second on this machine)
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x", "GIT_CONFIG_NOSYSTEM": "1"}
DVLITE = [sys.executable, "-m", "dvlite"]


def sh(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(args, cwd=cwd, env=env or ENV, check=True, capture_output=True,
                          text=True).stdout


def timed(cwd: Path, *args: str, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    sh(cwd, *args, env=env)
    return time.perf_counter() - start


def project(root: Path, remote: Path) -> None:
    sh(root, "git", "init", "-q", "-b", "main")
    sh(root, "git", "config", "gc.auto", "0")
    sh(root, *DVLITE, "init")
    sh(root, *DVLITE, "remote", "add", "store", str(remote), "--default")
    (root / "dvlite.yaml").write_text("artifacts:\n  clf:\n    path: model.bin\n")


def bench_show(tmp: Path, runs: int) -> float:
    root = tmp / "show"
    root.mkdir()
    project(root, tmp / "show-store")
    for i in range(50):
        (root / "model.bin").write_bytes(f"model {i}".encode())
        sh(root, *DVLITE, "add", "model.bin")
        sh(root, "git", "add", "-A")
        sh(root, "git", "commit", "-qm", f"model {i}")
        sh(root, *DVLITE, "model", "register", "clf")
    for i in range(100):
        stage = ("prod", "staging", "dev", "canary")[i % 4]
        version = f"v0.0.{1 + (i * 7) % 50}"
        subprocess.run([*DVLITE, "model", "assign", "clf", stage, "--version", version],
                       cwd=root, env=ENV, capture_output=True, check=False)
    n_tags = len(sh(root, "git", "tag").split())
    sh(root, *DVLITE, "model", "show", "clf", "--json")  # warm-up: bytecode, page cache
    times = [timed(root, *DVLITE, "model", "show", "clf", "--json") for _ in range(runs)]
    print(f"(a) model show: {n_tags} tags, median {statistics.median(times):.3f} s "
          f"(runs {', '.join(f'{t:.3f}' for t in times)})")
    return statistics.median(times)


def bench_get(tmp: Path, runs: int, mib: int, commits: int) -> None:
    root = tmp / "get"
    root.mkdir()
    store = tmp / "get-store"
    project(root, store)
    (root / "model.bin").write_bytes(os.urandom(mib << 20))
    sh(root, *DVLITE, "add", "model.bin")
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-qm", "model")
    sh(root, *DVLITE, "push")
    sh(root, *DVLITE, "model", "register", "clf")
    sh(root, *DVLITE, "model", "assign", "clf", "prod")
    # the history after it: fast-import writes 1,000 small commits in one process
    head = sh(root, "git", "rev-parse", "HEAD").strip()
    stream = []
    for i in range(commits - 1):
        stream.append(f"commit refs/heads/main\ncommitter b <b@x> {1700000000 + i} +0000\n"
                      f"data 4\nc{i:03d}\n" + (f"from {head}\n" if i == 0 else "") +
                      f"M 644 inline notes/n{i}.txt\ndata {len(str(i))}\n{i}\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input="".join(stream),
                   text=True, check=True, env=ENV)
    origin = tmp / "origin.git"
    sh(tmp, "git", "clone", "-q", "--bare", str(root), str(origin))
    src = store / "xxh128"
    obj = next(p for p in src.rglob("*") if p.is_file() and p.stat().st_size == mib << 20)
    cp_times, get_times, fetched = [], [], []
    for i in range(runs):
        dest = tmp / f"cp{i}"
        cp_times.append(timed(tmp, "cp", str(obj), str(dest)))
        dest.unlink()
        work = tmp / f"serve{i}"
        work.mkdir()
        env = {**ENV, "DVLITE_CACHE_DIR": str(tmp / f"user-cache{i}"),
               "GIT_TRACE_PACKET": str(tmp / f"trace{i}")}
        get_times.append(timed(work, *DVLITE, "get", f"file://{origin}", "clf#prod",
                               "-o", "model.bin", "--json", env=env))
        trace = (tmp / f"trace{i}").read_text(errors="replace")
        fetched.append(trace.count("fetch< shallow") + trace.count("fetch> shallow"))
        shutil.rmtree(work)
    cp_med, get_med = statistics.median(cp_times), statistics.median(get_times)
    count = int(sh(origin, "git", "rev-list", "--count", "--all"))
    print(f"(b) get {mib} MiB from {count} commits: median {get_med:.3f} s; cp median "
          f"{cp_med:.3f} s; target {2 * cp_med + 0.5:.3f} s; shallow lines in the "
          f"protocol trace per run: {fetched}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--commits", type=int, default=1000)
    ap.add_argument("--only", choices=("show", "get"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dvlite-registry-bench-") as tmp:
        if args.only != "get":
            bench_show(Path(tmp), args.runs)
        if args.only != "show":
            bench_get(Path(tmp), args.runs, args.mib, args.commits)
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
