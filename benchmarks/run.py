"""dvlite's benchmark (`make bench`): add, status and checkout on three datasets, with
peak memory, against DVC on the same data in the same run, and against floors.

    python benchmarks/run.py                       # dvlite alone, full size
    python benchmarks/run.py --dvc /path/to/dvc    # interleaved with DVC, prints ratios
    python benchmarks/run.py --scale 0.01 --only small --runs 1   # a quick look

Each timing is the median of `--runs` runs (default 3); with DVC the runs alternate
(DVC then dvlite, then dvlite then DVC, ...) so a busy neighbour on a shared machine
hurts both alike. Dirty pages are flushed (`sync`) before each write-heavy run. The
data is in the page cache for every tool (it was just generated), so these numbers
measure the tools, not the disk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from floors import Floor, measure_floors
from gen import DATASETS, Dataset, all_files, generate, touch_some
from report import Row, render
from tools import Dvc, Dvlite, Sample, Tool


@dataclass
class Bench:
    args: argparse.Namespace
    tools: list[Tool]
    work: Path
    rows: list[Row] = field(default_factory=list)

    def order(self, round_no: int) -> list[Tool]:
        """Alternate which tool goes first, so neither always runs on a cooler machine."""
        return self.tools[::-1] if round_no % 2 == 0 else self.tools

    def repeat(self, dataset: str, op: str, step: Callable[[Tool, int], Sample],
               extra: Callable[[Tool, int], object] | None = None) -> Row:
        row = Row(dataset, op)
        for i in range(self.args.runs):
            for tool in self.order(i):
                row.samples.setdefault(tool.name, []).append(step(tool, i))
                if extra is not None:
                    row.extra.setdefault(tool.name, []).append(extra(tool, i))
        self.rows.append(row)
        print(row.progress_line(), flush=True)
        return row


def repo_dir(bench: Bench, tool: Tool, ds: Dataset) -> Path:
    return bench.work / tool.name / ds.name


def startup(bench: Bench) -> None:
    empties = {}
    for tool in bench.tools:
        empties[tool.name] = bench.work / tool.name / "empty"
        tool.fresh_repo(empties[tool.name])
    bench.repeat("-", "--help", lambda t, _: t.run(empties[t.name], "--help"))
    bench.repeat("-", "status (empty repo)", lambda t, _: t.run(empties[t.name], "status"))


def remove_data(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def copy_data(src: Path, dest: Path) -> None:
    if not dest.exists():
        subprocess.run(["cp", "-r", str(src), str(dest)], check=True)


def bench_dataset(bench: Bench, ds: Dataset) -> None:
    src = bench.work / "src" / ds.name / ds.target
    src.parent.mkdir(parents=True, exist_ok=True)
    print(f"\n# {ds.name}: {ds.label} (scale {bench.args.scale})", flush=True)
    generate(ds, src, bench.args.scale)
    want = sorted(p.stat().st_size for p in all_files(src))
    for tool in bench.tools:
        repo = repo_dir(bench, tool, ds)
        repo.mkdir(parents=True, exist_ok=True)
        copy_data(src, repo / ds.target)

    def add(tool: Tool, _: int) -> Sample:
        repo = repo_dir(bench, tool, ds)
        tool.fresh_repo(repo)
        os.sync()
        return tool.run(repo, "add", ds.target)

    bench.repeat(ds.name, "add", add)
    # One untimed status per tool first: "no-op status" is the steady state of a workspace
    # that was looked at before, which both tools cache (DVC's index, dvlite's state).
    time.sleep(1.1)  # let the files written by add age past dvlite's 1 s racy window
    for tool in bench.tools:
        tool.run(repo_dir(bench, tool, ds), "status")
    bench.repeat(ds.name, "status (no-op)",
                 lambda t, _: t.run(repo_dir(bench, t, ds), "status"))
    if ds.is_dir:
        touch_status(bench, ds)

    def checkout(tool: Tool, _: int) -> Sample:
        repo = repo_dir(bench, tool, ds)
        remove_data(repo / ds.target)
        os.sync()
        sample = tool.run(repo, "checkout")
        got = sorted(p.stat().st_size for p in all_files(repo / ds.target))
        if got != want:
            raise RuntimeError(f"{tool.name} checkout of {ds.name} restored the wrong files")
        return sample

    bench.repeat(ds.name, "checkout (data deleted)", checkout)


def touch_status(bench: Bench, ds: Dataset) -> None:
    """`status` after changing the mtime of 1% of the files; for dvlite also how many
    files were hashed again (state db rows rewritten)."""
    before: dict[str, dict[object, tuple[object, ...]]] = {}

    def step(tool: Tool, round_no: int) -> Sample:
        repo = repo_dir(bench, tool, ds)
        touch_some(repo / ds.target, 0.01, round_no + 1)
        if isinstance(tool, Dvlite):
            before[tool.name] = tool.state_rows(repo)
        return tool.run(repo, "status")

    def rehashed(tool: Tool, _: int) -> object:
        if not isinstance(tool, Dvlite):
            return None
        after = tool.state_rows(repo_dir(bench, tool, ds))
        old = before[tool.name]
        return sum(1 for k, v in after.items() if old.get(k) != v)

    n = max(1, len(all_files(bench.work / "src" / ds.name / ds.target)) // 100)
    row = bench.repeat(ds.name, f"status after touching 1% ({n} files)", step, rehashed)
    row.note = f"expected re-hashes: {n}"


def machine() -> dict[str, str]:
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    fs = subprocess.run(["df", "-T", "."], capture_output=True, text=True, check=False)
    fstype = fs.stdout.splitlines()[-1].split()[1] if fs.returncode == 0 else "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"nproc": str(os.cpu_count()), "ram": mem, "filesystem": fstype, "cpu": cpu,
            "python": platform.python_version(), "kernel": platform.release()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="shrink datasets (e.g. 0.01)")
    p.add_argument("--only", action="append", choices=sorted(DATASETS),
                   help="run only this dataset (repeatable)")
    p.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    p.add_argument("--dvc", help="path to a dvc executable to compare with")
    p.add_argument("--workdir", default=os.environ.get("DVLITE_BENCH_DIR", "/tmp/dvlite-bench"))
    p.add_argument("--markdown", help="also write the result tables to this file")
    p.add_argument("--keep", action="store_true", help="keep the repositories afterwards")
    p.add_argument("--no-floors", action="store_true", help="skip the floor measurements")
    p.add_argument("--render", metavar="RESULTS_JSON",
                   help="print the tables of an earlier run's results.json and exit")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        return render_saved(args)
    work = Path(args.workdir) / f"scale-{args.scale}"
    work.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).parent / "dvlite")
    tools: list[Tool] = [Dvlite(exe)]
    if args.dvc:
        tools.insert(0, Dvc(args.dvc))
    bench = Bench(args, tools, work)
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    started = time.time()
    startup(bench)
    floors = []
    for name in args.only or list(DATASETS):
        ds = DATASETS[name]
        bench_dataset(bench, ds)
        if not args.no_floors:
            floors.extend(measure_floors(bench.work / "src" / ds.name / ds.target, ds.name,
                                         bench.work / "floor", args.runs))
    if not args.keep:
        for tool in tools:
            shutil.rmtree(work / tool.name, ignore_errors=True)
    text = render(bench.rows, floors, info, args, time.time() - started)
    print("\n" + text)
    (work / "results.json").write_text(json.dumps(
        {"machine": info, "rows": [r.to_dict() for r in bench.rows],
         "floors": [asdict(f) for f in floors], "runs": args.runs, "scale": args.scale,
         "elapsed": time.time() - started}, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


def render_saved(args: argparse.Namespace) -> int:
    saved = json.loads(Path(args.render).read_text())
    rows = [Row.from_dict(r) for r in saved["rows"]]
    floors = [Floor(**f) for f in saved["floors"]]
    args.runs = saved.get("runs", args.runs)
    args.scale = saved.get("scale", args.scale)
    text = render(rows, floors, saved["machine"], args, saved.get("elapsed", 0.0))
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
