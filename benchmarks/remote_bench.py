"""Remote transfer benchmark: push and pull against DVC, to a local-folder remote and to
S3 (moto's server on 127.0.0.1), on the datasets of `gen.py`.

    python benchmarks/remote_bench.py --dvc /work/dvc-venv/bin/dvc
    python benchmarks/remote_bench.py --dvc /work/dvc-venv/bin/dvc --scale 0.1 --runs 1
    python benchmarks/remote_bench.py --dvc ... --only small --remote s3

Per dataset and remote, each run (DVC then dvlite, alternating who goes first) pushes to
a fresh, empty remote location, then (small files only) times a no-op push and a status
against the remote, then wipes the cache and the workspace data and times a pull. For
the 20,000 small files it also clones the repo afresh and pulls one file inside the
folder. S3 requests are counted from moto's request log. Peak RSS is the child's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen import DATASETS, Dataset, all_files, generate
from report import Row
from run import copy_data, machine, remove_data
from tools import TIME, Dvc, Dvlite, Sample, Tool, quiet_run

# (dataset, operation prefix) -> (min DVC/dvlite ratio, max dvlite RSS MiB)
TARGETS: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("big", "push s3"): (3.0, 300.0),
    ("big", "pull s3"): (10.0, 300.0),
    ("big", "push local"): (3.0, None),
    ("big", "pull local"): (3.0, None),
    ("small", "push s3"): (3.0, None),
    ("small", "pull s3"): (3.0, None),
    ("small", "push local"): (3.0, None),
    ("small", "pull local"): (3.0, None),
    ("small", "no-op push"): (10.0, None),
    ("small", "status --remote"): (10.0, None),
}
BUCKET = "bench"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
         "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class RemoteRow(Row):
    requests: dict[str, list[int]] = field(default_factory=dict)

    def target(self) -> tuple[float | None, float | None, float | None] | None:
        for (ds, prefix), (ratio, rss) in TARGETS.items():
            if ds == self.dataset and self.op.startswith(prefix):
                return (ratio, None, rss)
        return None

    def verdict(self) -> str:
        if self.note.startswith("objects moved"):
            got = self.extra.get("dvlite", [])
            return "yes" if got and all(g == 1 for g in got) else "NO"
        return super().verdict()

    def target_text(self) -> str:
        if self.note.startswith("objects moved"):
            return "moves 1 object"
        return super().target_text()


class Moto:
    """moto's S3 server as a child process; its request log counts requests."""

    def __init__(self, work: Path) -> None:
        self.log = work / "moto.log"
        self._offset = 0
        self._count = 0
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        exe = str(Path(sys.executable).parent / "moto_server")
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "wb"),  # noqa: SIM115 - child owns it
                                     env={**os.environ, **CREDS})
        import boto3

        self.client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
        for _ in range(200):
            try:
                self.client.create_bucket(Bucket=BUCKET)
                break
            except Exception:
                time.sleep(0.05)

    def requests(self) -> int:
        """Requests logged so far (waits for the log to settle: lines land after replies)."""
        while True:
            with open(self.log, "rb") as f:
                f.seek(self._offset)
                data = f.read()
            end = data.rfind(b"\n") + 1
            self._offset += end
            # Not `HTTP/1.1"`: werkzeug colours some status lines (206, 304, 4xx), and
            # the escape code then stands between the version and the quote.
            new = data[:end].count(b' HTTP/1.1')
            self._count += new
            if not new:
                return self._count
            time.sleep(0.3)

    def wipe(self, prefix: str) -> None:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                      Prefix=prefix)
        for page in pages:
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:  # busy serving a backlog: the results are in
            self.proc.kill()
            self.proc.wait()


def timed_out(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[Sample, str]:
    """Like tools.timed, keeping stdout (for --json)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [TIME, "-q", "-f", "%M %U %S", "-o", rss.name, *cmd] if TIME else cmd
        start = time.perf_counter()
        proc = subprocess.run(wrapped, cwd=cwd, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        fields = (rss.read().strip().splitlines() or [""])[-1].split()
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr.decode(errors="replace")[-3000:])
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode} in {cwd}")
    kib, cpu = (int(fields[0]), float(fields[1]) + float(fields[2])) if fields else (0, 0.0)
    return Sample(elapsed, kib / 1024, proc.returncode, cpu), proc.stdout.decode()


@dataclass
class Bench:
    args: argparse.Namespace
    tools: list[Tool]
    work: Path
    moto: Moto | None = None
    rows: list[RemoteRow] = field(default_factory=list)

    def order(self, round_no: int) -> list[Tool]:
        return self.tools if round_no % 2 == 0 else self.tools[::-1]

    def repo(self, tool: Tool, ds: Dataset) -> Path:
        return self.work / tool.name / ds.name

    def row(self, ds: str, op: str) -> RemoteRow:
        for r in self.rows:
            if r.dataset == ds and r.op == op:
                return r
        r = RemoteRow(ds, op)
        self.rows.append(r)
        return r

    def time(self, tool: Tool, ds: Dataset, op: str, *args: str,
             counted: bool = False) -> Sample:
        before = self.moto.requests() if counted and self.moto else 0
        sample = tool.run(self.repo(tool, ds), *args)
        row = self.row(ds.name, op)
        row.samples.setdefault(tool.name, []).append(sample)
        if counted and self.moto:
            row.requests.setdefault(tool.name, []).append(self.moto.requests() - before)
        return sample


def setup_repo(bench: Bench, tool: Tool, ds: Dataset, src: Path) -> None:
    repo = bench.repo(tool, ds)
    repo.mkdir(parents=True, exist_ok=True)
    tool.fresh_repo(repo)
    copy_data(src, repo / ds.target)
    quiet_run(tool.cmd("add", ds.target), repo, tool.env)
    quiet_run(["git", "add", "-A"], repo)
    quiet_run(["git", "commit", "-qm", "data"], repo)


def point_remote(bench: Bench, tool: Tool, ds: Dataset, kind: str, run: int) -> str:
    """Configure a fresh, empty remote location for this run; returns it."""
    repo = bench.repo(tool, ds)
    where = f"{tool.name}-{ds.name}-{run}"
    if kind == "local":
        url = str(bench.work / "remotes" / where)
        shutil.rmtree(url, ignore_errors=True)
    else:
        assert bench.moto is not None
        bench.moto.wipe(where + "/")
        url = f"s3://{BUCKET}/{where}"
    if isinstance(tool, Dvlite):
        quiet_run(tool.cmd("remote", "add", "bench", url, "--default", "--force"), repo,
                  tool.env)
        if kind == "s3":
            assert bench.moto is not None
            quiet_run(tool.cmd("remote", "modify", "bench", "endpoint_url",
                               bench.moto.endpoint), repo, tool.env)
    else:
        quiet_run(tool.cmd("remote", "add", "-d", "-f", "bench", url), repo, tool.env)
        if kind == "s3":
            assert bench.moto is not None
            quiet_run(tool.cmd("remote", "modify", "bench", "endpointurl",
                               bench.moto.endpoint), repo, tool.env)
    return where


def wipe_local(tool: Tool, repo: Path, ds: Dataset) -> None:
    remove_data(repo / ds.target)
    shutil.rmtree(repo / tool.meta_dir / "cache", ignore_errors=True)


def one_run(bench: Bench, tool: Tool, ds: Dataset, kind: str, *, run: int,
            want: list[int]) -> None:
    repo = bench.repo(tool, ds)
    where = point_remote(bench, tool, ds, kind, run)
    s3 = kind == "s3"
    os.sync()
    bench.time(tool, ds, f"push {kind}", "push", counted=s3)
    if ds.is_dir and ds.name == "small":
        bench.time(tool, ds, f"no-op push {kind}", "push", counted=s3)
        args = ("status", "--remote") if isinstance(tool, Dvlite) else ("status", "-c")
        bench.time(tool, ds, f"status --remote {kind}", *args, counted=s3)
        if s3 and run == bench.args.runs - 1:
            single_file(bench, tool, ds)
    wipe_local(tool, repo, ds)
    os.sync()
    bench.time(tool, ds, f"pull {kind}", "pull", counted=s3)
    got = sorted(p.stat().st_size for p in all_files(repo / ds.target))
    if got != want:
        raise RuntimeError(f"{tool.name} pull of {ds.name} from {kind} restored wrong files")
    if s3 and bench.moto is not None:
        bench.moto.wipe(where + "/")
    else:
        shutil.rmtree(bench.work / "remotes" / where, ignore_errors=True)


def single_file(bench: Bench, tool: Tool, ds: Dataset) -> None:
    """A fresh clone pulls one file inside the big folder: requests and objects moved."""
    assert bench.moto is not None
    repo = bench.repo(tool, ds)
    quiet_run(["git", "add", "-A"], repo)
    quiet_run(["git", "commit", "-qm", "remote", "--allow-empty"], repo)
    clone = bench.work / "clones" / tool.name
    shutil.rmtree(clone, ignore_errors=True)
    clone.parent.mkdir(parents=True, exist_ok=True)
    quiet_run(["git", "clone", "-q", str(repo), str(clone)], clone.parent)
    if isinstance(tool, Dvc):
        quiet_run(tool.cmd("config", "--local", "core.site_cache_dir",
                           str(clone / ".dvc-site")), clone, tool.env)
    target = sorted(all_files(repo / ds.target))[0].relative_to(repo).as_posix()
    before = bench.moto.requests()
    extra: object = None
    if isinstance(tool, Dvlite):
        sample, text = timed_out(tool.cmd("pull", target, "--json"), clone, tool.env)
        extra = json.loads(text).get("transferred")
    else:
        sample = timed_out(tool.cmd("pull", target), clone, tool.env)[0]
        extra = sum(1 for p in (clone / ".dvc" / "cache").rglob("*") if p.is_file()) \
            if (clone / ".dvc" / "cache").is_dir() else 0
    row = bench.row(ds.name, "pull 1 file, fresh clone s3")
    row.samples.setdefault(tool.name, []).append(sample)
    row.requests.setdefault(tool.name, []).append(bench.moto.requests() - before)
    row.extra.setdefault(tool.name, []).append(extra)
    row.note = "objects moved (dvlite --json; DVC: objects in its cache)"
    if not (clone / target).is_file():
        raise RuntimeError(f"{tool.name} pull {target} did not restore the file")


def bench_dataset(bench: Bench, ds: Dataset) -> None:
    src = bench.work / "src" / ds.name / ds.target
    src.parent.mkdir(parents=True, exist_ok=True)
    print(f"\n# {ds.name}: {ds.label} (scale {bench.args.scale})", flush=True)
    generate(ds, src, bench.args.scale)
    want = sorted(p.stat().st_size for p in all_files(src))
    for tool in bench.tools:
        setup_repo(bench, tool, ds, src)
    for kind in bench.args.remote or ["local", "s3"]:
        for run in range(bench.args.runs):
            for tool in bench.order(run):
                one_run(bench, tool, ds, kind, run=run, want=want)
        for r in bench.rows:
            if r.dataset == ds.name and r.op.endswith(kind):
                print(r.progress_line() + _req_text(r), flush=True)
    for tool in bench.tools:
        shutil.rmtree(bench.repo(tool, ds), ignore_errors=True)


def _req_text(r: RemoteRow) -> str:
    return "".join(f"  {t} requests {v}" for t, v in r.requests.items())


def _f(x: float | None, fmt: str) -> str:
    return "" if x is None else format(x, fmt)


def render(rows: list[RemoteRow], info: dict[str, str], args: argparse.Namespace,
           elapsed: float) -> str:
    lines = [
        f"Machine: {info['nproc']} cores ({info['cpu']}), {info['ram']} RAM, "
        f"{info['filesystem']} filesystem, Linux {info['kernel']}, Python {info['python']}. "
        f"Scale {args.scale:g}, median of {args.runs} run(s), total {elapsed / 60:.1f} min.",
        "",
        "| dataset | operation | dvlite s | dvlite peak RSS MiB | dvlite requests | DVC s "
        "| DVC peak RSS MiB | DVC requests | DVC / dvlite | target | met | notes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in rows:
        ratio = r.ratio()
        req = {t: (str(sorted(v)[len(v) // 2]) if v else "") for t, v in r.requests.items()}
        note = ""
        if r.extra:
            note = "objects moved: " + ", ".join(f"{t} {v[-1]}" for t, v in r.extra.items())
        cells = [r.dataset, r.op, _f(r.seconds("dvlite"), ".2f"), _f(r.rss("dvlite"), ".0f"),
                 req.get("dvlite", ""), _f(r.seconds("dvc"), ".2f"), _f(r.rss("dvc"), ".0f"),
                 req.get("dvc", ""), f"{ratio:.1f}x" if ratio is not None else "",
                 r.target_text(), r.verdict(), note]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="shrink datasets (e.g. 0.1)")
    p.add_argument("--only", action="append", choices=sorted(DATASETS),
                   help="run only this dataset (repeatable)")
    p.add_argument("--remote", action="append", choices=["local", "s3"],
                   help="only this kind of remote (repeatable)")
    p.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    p.add_argument("--dvc", help="path to a dvc executable to compare with")
    p.add_argument("--workdir", default=os.environ.get("DVLITE_BENCH_DIR",
                                                       "/tmp/dvlite-remote-bench"))
    p.add_argument("--markdown", help="also write the result table to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(args.workdir) / f"scale-{args.scale}"
    work.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).parent / "dvlite")
    tools: list[Tool] = [Dvlite(exe)]
    if args.dvc:
        tools.insert(0, Dvc(args.dvc))
    for t in tools:
        t.env.update(CREDS)
    moto = Moto(work) if "s3" in (args.remote or ["s3"]) else None
    bench = Bench(args, tools, work, moto)
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    started = time.time()
    try:
        for name in args.only or list(DATASETS):
            bench_dataset(bench, DATASETS[name])
            save(bench, info, time.time() - started)  # partial results survive a kill
    finally:
        if moto is not None:
            moto.stop()
    print("\n" + save(bench, info, time.time() - started))
    return 0


def save(bench: Bench, info: dict[str, str], elapsed: float) -> str:
    text = render(bench.rows, info, bench.args, elapsed)
    dump: list[dict[str, Any]] = [{**r.to_dict(), "requests": r.requests} for r in bench.rows]
    (bench.work / "remote-results.json").write_text(
        json.dumps({"machine": info, "rows": dump}, indent=1))
    (bench.work / "remote-results.md").write_text(text + "\n")
    if bench.args.markdown:
        Path(bench.args.markdown).write_text(text + "\n")
    return text


if __name__ == "__main__":
    sys.exit(main())
