"""Plots benchmark: `dvlite plots show` of 10 plots of 10,000 points each, written as the
HTML page (and, with --formats, as SVG and PNG images too).

Each timing is the median of --repeat runs of `python -m dvlite plots show` in a fresh
git repository, interpreter start-up included: what a user waits for. The first run
builds the Vega JavaScript bundle and keeps it in `.dvlite/plots/`; it is timed apart
(`first`) and left out of the median. Target: the median under 2 s.

    python benchmarks/plots_bench.py [--repeat 5] [--formats html,svg] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DVLITE = [sys.executable, "-m", "dvlite"]
ENV = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
PLOTS, POINTS = 10, 10_000
TARGET_S = 2.0


def make_repo(root: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*DVLITE, "init", "-q"], cwd=root, check=True, env=ENV)
    entries = []
    for p in range(PLOTS):
        name = f"plot{p}.csv"
        rows = "".join(f"{i},{math.sin(i / 500 + p):.6f},{math.cos(i / 700):.6f}\n"
                       for i in range(POINTS))
        (root / name).write_text("step,loss,acc\n" + rows)
        template = ("linear", "scatter")[p % 2]
        entries.append(f"  - {name}: {{x: step, y: [loss, acc], template: {template}}}\n")
    (root / "dvlite.yaml").write_text("plots:\n" + "".join(entries))


def timed(root: Path, fmt: str) -> float:
    start = time.perf_counter()
    subprocess.run([*DVLITE, "-q", "plots", "show", "--format", fmt, "-o", f"out-{fmt}"],
                   cwd=root, check=True, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--formats", default="html")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root)
        first = timed(root, "html")  # builds and keeps the bundle
        for fmt in args.formats.split(","):
            runs = [timed(root, fmt) for _ in range(args.repeat)]
            results[fmt] = {"median_s": round(statistics.median(runs), 3),
                            "runs_s": [round(r, 3) for r in runs]}
        page = (root / "out-html" / "index.html").stat().st_size
    doc = {"plots": PLOTS, "points": POINTS, "first_html_s": round(first, 3),
           "page_bytes": page, "target_s": TARGET_S, **results}
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"{PLOTS} plots x {POINTS:,} points; first run (builds the bundle) {first:.2f} s; "
          f"page {page / 1e6:.1f} MB")
    for fmt, r in results.items():
        met = "met" if r["median_s"] < TARGET_S else "missed"
        print(f"  {fmt}: median {r['median_s']:.2f} s of {r['runs_s']} "
              f"(target < {TARGET_S} s: {met})")


if __name__ == "__main__":
    main()
