"""Experiments benchmark (docs/benchmarks.md, "Experiments"): three cases.

- `show`: `exp show -n 10` over 10 baselines with 10 experiments each (100 in all), for
  dvlite and, when DVC is installed at /work/dvc-venv/bin/dvc (or $DVC), for `dvc exp
  show` on the same project built the same way; interleaved, median of --repeat runs,
  plus each tool's first run (DVC caches what it collected), and `dvlite --help` for
  the start-up floor.
- `overhead`: `exp run -S train.lr=X` against a plain `repro` after writing the same
  value into params.yaml: the stage runs once in both; the difference of the medians is
  what recording an experiment costs.
- `runall`: 8 queued experiments of a 2 s CPU stage, `exp run --run-all -j 1` then
  `-j 2`, queued again between rounds; the ratio of the medians.

Timings include interpreter start-up: they are what a user waits for.

    python benchmarks/exp_bench.py [show|overhead|runall ...] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from tools import timed

DVC = Path(os.environ.get("DVC", "/work/dvc-venv/bin/dvc"))
DVLITE = [sys.executable, "-m", "dvlite"]
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "b",
       "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
       "GIT_COMMITTER_EMAIL": "b@example.com"}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)
TRAIN = """\
import json, time, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
start = time.process_time()
while time.process_time() - start < p["cpu"]:
    pass
open("model.bin", "w").write(f"model lr={p['lr']} seed={p['seed']}")
json.dump({"acc": round(1 - p["lr"], 4), "loss": p["lr"] * 2}, open("metrics.json", "w"))
"""
STAGE = """\
stages:
  train:
    cmd: {py} train.py
    deps: [train.py]
    params: [train.lr, train.seed, train.cpu]
    outs: [model.bin]
    metrics:
      - metrics.json:
          cache: false
"""


def sh(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {cwd}: {proc.stderr[-2000:]}")
    return proc.stdout


def tool_cmd(tool: str) -> list[str]:
    return DVLITE if tool == "dvlite" else [str(DVC)]


def project(root: Path, tool: str, cpu: float) -> Path:
    repo = root / tool
    repo.mkdir()
    sh(["git", "init", "-q", "-b", "main"], repo)
    sh([*tool_cmd(tool), "init", "-q"], repo)
    (repo / "train.py").write_text(TRAIN)
    (repo / "params.yaml").write_text(f"train:\n  lr: 0.1\n  seed: 0\n  cpu: {cpu}\n")
    name = "dvlite.yaml" if tool == "dvlite" else "dvc.yaml"
    (repo / name).write_text(STAGE.format(py=sys.executable))
    sh([*tool_cmd(tool), "repro", "-q"], repo)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-qm", "baseline 0"], repo)
    return repo


def set_lr(repo: Path, lr: float, cpu: float) -> None:
    (repo / "params.yaml").write_text(f"train:\n  lr: {lr}\n  seed: 0\n  cpu: {cpu}\n")


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def bench_show(root: Path, tools: list[str], repeat: int) -> dict[str, object]:
    repos = {}
    for tool in tools:
        repo = project(root, tool, 0.0)
        for b in range(10):
            if b:
                with (repo / "train.py").open("a") as f:
                    f.write(f"# baseline {b}\n")
                sh([*tool_cmd(tool), "repro", "-q"], repo)
                sh(["git", "commit", "-qam", f"baseline {b}"], repo)
            for e in range(10):
                sh([*tool_cmd(tool), "exp", "run", "-q", "-S",
                    f"train.lr={0.01 * (e + 1) + 0.001 * b:.4f}"], repo)
            sh(["git", "checkout", "-q", "--", "."], repo)  # the baseline's files again
        repos[tool] = repo
        print(f"  {tool}: 100 experiments on 10 baselines built", file=sys.stderr)
    cmds = {"dvlite": [*DVLITE, "exp", "show", "-n", "10"],
            "dvc": [str(DVC), "exp", "show", "-n", "10", "--no-pager"]}
    first = {t: timed(cmds[t], repos[t], ENV).seconds for t in tools}
    times: dict[str, list[float]] = {t: [] for t in tools}
    floor: list[float] = []  # dvlite's start-up alone, for scale
    for i in range(repeat):
        for tool in tools if i % 2 == 0 else reversed(tools):
            times[tool].append(timed(cmds[tool], repos[tool], ENV).seconds)
        floor.append(timed([*DVLITE, "--help"], repos["dvlite"], ENV).seconds)
    out: dict[str, object] = {t: {"first": round(first[t], 3),
                                  "median": round(median(times[t]), 3)} for t in tools}
    out["dvlite_help"] = round(median(floor), 3)
    rows = len(json.loads(sh([*DVLITE, "exp", "show", "-n", "10", "--json"],
                             repos["dvlite"])))
    out["dvlite_rows"] = rows
    if "dvc" in tools:
        out["ratio_median"] = round(median(times["dvc"]) / median(times["dvlite"]), 1)
        out["ratio_first"] = round(first["dvc"] / first["dvlite"], 1)
    return out


def bench_overhead(root: Path, repeat: int) -> dict[str, object]:
    repo = project(root, "dvlite", 0.0)
    plain, exp = [], []
    for i in range(repeat):
        set_lr(repo, 0.2 + i / 100, 0.0)
        plain.append(timed([*DVLITE, "repro", "-q"], repo, ENV).seconds)
        exp.append(timed([*DVLITE, "exp", "run", "-q", "-S", f"train.lr={0.5 + i / 100}"],
                         repo, ENV).seconds)
    return {"repro": round(median(plain), 3), "exp_run": round(median(exp), 3),
            "overhead": round(median(exp) - median(plain), 3)}


def bench_runall(root: Path, repeat: int) -> dict[str, object]:
    repo = project(root, "dvlite", 2.0)
    times: dict[int, list[float]] = {1: [], 2: []}
    for r in range(repeat):
        for jobs in (1, 2) if r % 2 == 0 else (2, 1):
            sh([*DVLITE, "exp", "remove", "--all", "-q"], repo)
            for e in range(8):
                sh([*DVLITE, "exp", "run", "--queue", "-q", "-n", f"q{e}", "-S",
                    f"train.seed={e + 1}"], repo)
            s = timed([*DVLITE, "exp", "run", "--run-all", "-j", str(jobs), "-q"], repo, ENV)
            if s.rc != 0:
                raise RuntimeError("exp run --run-all failed")
            times[jobs].append(s.seconds)
    return {"serial": round(median(times[1]), 2), "j2": round(median(times[2]), 2),
            "ratio": round(median(times[2]) / median(times[1]), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", default=["show", "overhead", "runall"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tools = ["dvlite", "dvc"] if DVC.exists() else ["dvlite"]
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="dvlite-exp-bench-") as tmp:
        for case in args.cases:
            root = Path(tmp) / case
            root.mkdir()
            if case == "show":
                results[case] = bench_show(root, tools, args.repeat)
            elif case == "overhead":
                results[case] = bench_overhead(root, args.repeat)
            elif case == "runall":
                results[case] = bench_runall(root, max(2, args.repeat // 2))
            else:
                ap.error(f"unknown case {case}")
            print(f"{case}: {json.dumps(results[case])}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
