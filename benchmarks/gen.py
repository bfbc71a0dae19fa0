"""The benchmark datasets: generated once, deterministically, then copied per tool.

- `big`: one 2 GiB file
- `small`: 20,000 files of 1-8 KiB in 100 folders
- `medium`: 200 files of 5 MiB

`scale` shrinks sizes and counts for quick runs (`--scale 0.01`).
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

MiB = 1 << 20
_BLOCK = 64 * MiB  # random bytes reused with a unique stamp per chunk: cheap to generate


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    label: str
    target: str  # the path the tools track, relative to the repo ("data" or "data.bin")
    is_dir: bool


DATASETS = {
    "big": Dataset("big", "one 2 GiB file", "data.bin", False),
    "small": Dataset("small", "20,000 files of 1-8 KiB in 100 folders", "data", True),
    "medium": Dataset("medium", "200 files of 5 MiB", "data", True),
}


def _random_block() -> bytes:
    return random.Random(1234).randbytes(_BLOCK)


def _write(path: Path, size: int, stamp: int, block: bytes) -> None:
    """`size` bytes: slices of the random block, each chunk starting with a unique stamp so
    no two files (or chunks) are equal."""
    with open(path, "wb") as f:
        offset = 0
        chunk_no = 0
        while offset < size:
            n = min(MiB, size - offset)
            head = f"{stamp}:{chunk_no}:".encode()
            start = (stamp * 7919 + chunk_no * 104729) % (_BLOCK - MiB)
            f.write((head + block[start : start + n])[:n])
            offset += n
            chunk_no += 1


def generate(ds: Dataset, dest: Path, scale: float) -> None:
    """Write dataset `ds` at `dest` (a file or a folder) unless it is already complete."""
    marker = dest.parent / f".{ds.name}-{scale}.done"
    if marker.exists():
        return
    block = _random_block()
    rng = random.Random(42)
    if ds.name == "big":
        _write(dest, max(MiB, int(2048 * MiB * scale)), 1, block)
    elif ds.name == "small":
        count = max(200, int(20_000 * scale))
        for i in range(count):
            folder = dest / f"dir{i % 100:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            _write(folder / f"file{i:05d}.dat", rng.randint(1024, 8192), 10 + i, block)
    else:
        count = max(4, int(200 * scale))
        dest.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            _write(dest / f"part{i:03d}.bin", 5 * MiB, 100_000 + i, block)
    marker.touch()


def all_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    out: list[Path] = []
    for folder, _, names in os.walk(path):
        out.extend(Path(folder) / n for n in names)
    return sorted(out)


def touch_some(path: Path, fraction: float, round_no: int) -> list[Path]:
    """Change the mtime (not the content) of `fraction` of the files, a different slice
    each round; mtimes go a minute into the past so no tool treats them as racy."""
    files = all_files(path)
    n = max(1, int(len(files) * fraction))
    start = (round_no * n) % len(files)
    chosen = (files + files)[start : start + n]
    stamp = time.time_ns() - 60_000_000_000 + round_no * 1000
    for f in chosen:
        os.utime(f, ns=(stamp, stamp))
    return chosen


