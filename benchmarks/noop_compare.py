"""Start-up and no-op timings of two dvlite builds, interleaved in one run: `--help`,
`status` in an empty repository, and a no-op `status` of the 20,000 small files.

    python benchmarks/noop_compare.py --before /path/to/old/venv/bin/dvlite
    python benchmarks/noop_compare.py --before OLD --after NEW --runs 9 --scale 0.1

For a change that must not make these slower (a refactoring, a new import): each round
runs both builds, alternating which goes first, and the table gives medians of wall and
CPU time (CPU time is the steadier figure on a busy machine) and before / after ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gen import DATASETS, generate
from tools import Dvlite, Sample


def _prepare(tool: Dvlite, work: Path, src: Path) -> tuple[Path, Path]:
    empty, small = work / "empty", work / "small"
    tool.fresh_repo(empty)
    if not (small / "data").exists():
        small.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-r", str(src), str(small / "data")], check=True)
    tool.fresh_repo(small)
    tool.run(small, "add", "data")
    time.sleep(1.1)  # past the state db's 1 s racy window: the next status is a no-op
    tool.run(small, "status")
    return empty, small


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", required=True, help="the dvlite executable to compare with")
    p.add_argument("--after", default=str(Path(sys.executable).parent / "dvlite"))
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--workdir", default="/tmp/dvlite-noop-bench")
    args = p.parse_args(argv)
    work = Path(args.workdir) / f"scale-{args.scale}"
    src = work / "src" / "data"
    src.parent.mkdir(parents=True, exist_ok=True)
    generate(DATASETS["small"], src, args.scale)
    tools = {"before": Dvlite(args.before), "after": Dvlite(args.after)}
    repos = {name: _prepare(tool, work / name, src) for name, tool in tools.items()}
    cases = {"--help": lambda n: tools[n].run(repos[n][0], "--help"),
             "status (empty repo)": lambda n: tools[n].run(repos[n][0], "status"),
             "status (no-op, small)": lambda n: tools[n].run(repos[n][1], "status")}
    samples: dict[tuple[str, str], list[Sample]] = {}
    for i in range(args.runs):
        for case, step in cases.items():
            for name in (["before", "after"] if i % 2 else ["after", "before"]):
                samples.setdefault((case, name), []).append(step(name))
    print("| case | before s | after s | before CPU s | after CPU s | before / after (wall)"
          " | same, CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for case in cases:
        b, a = samples[(case, "before")], samples[(case, "after")]
        wall = [x.seconds / y.seconds for x, y in zip(b, a, strict=True)]
        cpu = [x.cpu / y.cpu for x, y in zip(b, a, strict=True) if y.cpu]
        cpu_text = f"{statistics.median(cpu):.2f}x" if cpu else ""
        print(f"| {case} | {statistics.median(s.seconds for s in b):.3f} | "
              f"{statistics.median(s.seconds for s in a):.3f} | "
              f"{statistics.median(s.cpu for s in b):.2f} | "
              f"{statistics.median(s.cpu for s in a):.2f} | "
              f"{statistics.median(wall):.2f}x | {cpu_text} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
