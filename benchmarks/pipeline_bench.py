"""Pipeline benchmark: how long `repro` takes to decide that nothing needs to run.

Two pipelines, each reproduced once, then timed with nothing to do:

- `chain`: 50 stages, each copying the previous stage's output;
- `foreach`: one `foreach` over 200 items, each stage copying a shared input.

If DVC is installed at /work/dvc-venv/bin/dvc (or $DVC), the same pipelines run under
DVC in the same run, interleaved with dvlite, and the ratio of medians is printed.
Timings include interpreter start-up: they are what a user waits for.

    python benchmarks/pipeline_bench.py [--repeat 3] [--json]
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
from collections.abc import Callable
from pathlib import Path

DVC = Path(os.environ.get("DVC", "/work/dvc-venv/bin/dvc"))
DVLITE = [sys.executable, "-m", "dvlite"]
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "b",
       "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
       "GIT_COMMITTER_EMAIL": "b@example.com"}


def chain(n: int) -> str:
    lines = ["stages:"]
    for i in range(n):
        src = "data.txt" if i == 0 else f"s{i - 1}.txt"
        lines += [f"  s{i}:", f"    cmd: cp {src} s{i}.txt", f"    deps: [{src}]",
                  f"    outs: [s{i}.txt]"]
    return "\n".join(lines) + "\n"


def foreach(n: int) -> str:
    items = ", ".join(str(i) for i in range(n))
    return (f"stages:\n  copy:\n    foreach: [{items}]\n    do:\n"
            "      cmd: cp data.txt out-${item}.txt\n      deps:\n        - data.txt\n"
            "      outs:\n        - out-${item}.txt\n")


def sh(args: list[str], cwd: Path) -> None:
    proc = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")


def make_repo(root: Path, tool: str, pipeline: str) -> None:
    root.mkdir(parents=True)
    sh(["git", "init", "-q", "-b", "main"], root)
    (root / "data.txt").write_text("hello\n" * 1000)
    if tool == "dvc":
        sh([str(DVC), "init", "-q"], root)
        sh([str(DVC), "config", "core.analytics", "false"], root)
        (root / "dvc.yaml").write_text(pipeline)
        sh([str(DVC), "repro", "-q"], root)
    else:
        sh([*DVLITE, "init"], root)
        (root / "dvlite.yaml").write_text(pipeline)
        sh([*DVLITE, "-q", "repro"], root)


def timed(args: list[str], cwd: Path, check: Callable[[str], bool]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or not check(proc.stdout + proc.stderr):
        raise SystemExit(f"{' '.join(args)} did not report 'nothing to do':\n"
                         f"{proc.stdout}\n{proc.stderr}")
    return elapsed


def bench(work: Path, name: str, pipeline: str, repeat: int, with_dvc: bool) -> dict[str, float]:
    tools = ["dvlite", *(["dvc"] if with_dvc else [])]
    for tool in tools:
        make_repo(work / name / tool, tool, pipeline)
    times: dict[str, list[float]] = {t: [] for t in tools}
    for _ in range(repeat):  # interleaved, so machine noise hits both tools alike
        times["dvlite"].append(timed([*DVLITE, "repro"], work / name / "dvlite",
                                     lambda out: "nothing to run" in out and "Running" not in out))
        if with_dvc:
            times["dvc"].append(timed([str(DVC), "repro"], work / name / "dvc",
                                      lambda out: "Running stage" not in out))
    result = {f"{t}_s": statistics.median(v) for t, v in times.items()}
    if with_dvc:
        result["ratio_dvc_over_dvlite"] = result["dvc_s"] / result["dvlite_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-dvc", action="store_true")
    args = parser.parse_args()
    with_dvc = DVC.exists() and not args.no_dvc
    work = Path(tempfile.mkdtemp(prefix="dvlite-pipeline-bench-"))
    try:
        results = {
            "chain_50": bench(work, "chain", chain(50), args.repeat, with_dvc),
            "foreach_200": bench(work, "foreach", foreach(200), args.repeat, with_dvc),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"repro with nothing to do (median of {args.repeat}, target < 1 s):")
    for name, r in results.items():
        line = f"  {name:12} dvlite {r['dvlite_s']:.3f} s"
        if "dvc_s" in r:
            line += f"   dvc {r['dvc_s']:.3f} s   dvc/dvlite {r['ratio_dvc_over_dvlite']:.1f}x"
        print(line)


if __name__ == "__main__":
    main()
