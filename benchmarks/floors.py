"""Floors: how fast the machine does the bare work, so tool timings have a yardstick.

- `cp -r` of the dataset (what any copy-based add or checkout must at least do),
- Python creating all the files with the same sizes (one open/write/close per file),
- Python reading and hashing every file with xxh128, one thread.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import xxhash
from gen import all_files

_BUF = bytes(range(256)) * 4096  # 1 MiB


@dataclass(frozen=True, slots=True)
class Floor:
    dataset: str
    what: str
    seconds: float


def _cp(src: Path, dest: Path) -> float:
    os.sync()
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(src), str(dest)], check=True)
    return time.perf_counter() - start


def _create(files: list[tuple[str, int]], dest: Path) -> float:
    os.sync()
    start = time.perf_counter()
    made: set[str] = set()
    for rel, size in files:
        path = dest / rel
        parent = os.path.dirname(path)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        with open(path, "wb") as f:
            left = size
            while left:
                left -= f.write(_BUF[: min(left, len(_BUF))])
    return time.perf_counter() - start


def _read_hash(paths: list[Path]) -> float:
    start = time.perf_counter()
    buf = bytearray(1 << 20)
    for p in paths:
        h = xxhash.xxh3_128()
        with open(p, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                h.update(memoryview(buf)[:n])
        h.hexdigest()
    return time.perf_counter() - start


def measure_floors(src: Path, dataset: str, scratch: Path, runs: int) -> list[Floor]:
    paths = all_files(src)
    base = src if src.is_dir() else src.parent
    files = [(p.relative_to(base).as_posix(), p.stat().st_size) for p in paths]
    cp, create, read = [], [], []
    for _ in range(runs):
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        cp.append(_cp(src, scratch / "copy"))
        create.append(_create(files, scratch / "made"))
        read.append(_read_hash(paths))
    shutil.rmtree(scratch, ignore_errors=True)
    return [
        Floor(dataset, "cp -r", statistics.median(cp)),
        Floor(dataset, "Python: create every file", statistics.median(create)),
        Floor(dataset, "Python: read + xxh128 every file (1 thread)", statistics.median(read)),
    ]
