"""The run cache: outputs of earlier successful runs, keyed by their exact inputs.

A record lives at ``.dvlite/runs/<key>``; the key is the xxh128 of the canonical JSON
of the stage's command, folder, dependency hashes, parameter values and output
declarations; the record (JSON) lists the outputs' hashes. Records are small, immutable
for a given key (a later run of the same inputs overwrites it atomically), and refer to
objects in the cache, so `push --run-cache` moves the files of `record_files()` plus
their objects, `pull --run-cache` calls `import_records()`, and `gc` keeps only the
records `prune_records()` keeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dvlite.core.lockfile import HashInfo
from dvlite.core.oid import Oid, hash_bytes
from dvlite.core.paths import check_relpath
from dvlite.core.stages import Stage
from dvlite.errors import FormatError, MissingObjectsError, storage_error
from dvlite.storage.atomic import atomic_write
from dvlite.storage.remote.base import RECORD_KEY
from dvlite.workspace.outputs import load_manifest
from dvlite.workspace.repo import Repo

RUNS_DIR = "runs"
FORMAT = 1


def runs_dir(repo: Repo) -> Path:
    return repo.dvlite_dir / RUNS_DIR


def run_key(stage: Stage, deps: Iterable[HashInfo], params: Mapping[str, Any]) -> str:
    doc = {
        "cmd": stage.cmd,
        "wdir": stage.wdir,
        "deps": sorted([d.path, str(d.oid)] for d in deps),
        "params": params,
        "outs": sorted([o.path, o.cache] for o in stage.outs),
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hash_bytes("xxh128", text.encode()).hex


def save(repo: Repo, key: str, stage: Stage, outs: Iterable[HashInfo]) -> None:
    doc = {"format": FORMAT, "stage": stage.name, "cmd": stage.cmd,
           "outs": [h.to_dict("") for h in sorted(outs, key=lambda h: h.path)]}
    folder = runs_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / key, (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode(),
                 fsync=False)


def parse_record(data: bytes, source: str) -> list[HashInfo]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"{source}: not a run-cache record ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(
            doc.get("outs"), list):
        raise FormatError(f"{source}: not a run-cache record")
    outs = [HashInfo.from_dict(d, "", source) for d in doc["outs"]]
    for h in outs:
        check_relpath(h.path, "run-cache path")
    return outs


def lookup(repo: Repo, key: str) -> list[HashInfo] | None:
    """The outputs recorded for `key`, or None (no record, or an unreadable one)."""
    try:
        data = (runs_dir(repo) / key).read_bytes()
        return parse_record(data, f"run-cache record {key}")
    except (OSError, FormatError):
        return None


def restorable(repo: Repo, outs: Iterable[HashInfo]) -> bool:
    """Whether every object the outputs need is in the cache."""
    try:
        needed = set(_objects(repo, outs))
    except (MissingObjectsError, FormatError):
        return False
    return len(repo.cache.exists_many(needed)) == len(needed)


def _objects(repo: Repo, outs: Iterable[HashInfo]) -> Iterable[Oid]:
    for h in outs:
        yield h.oid
        if h.nfiles is not None:
            yield from (e.oid for e in load_manifest(repo, h.oid))


# -- moving records between machines (used by push/pull --run-cache) -----------------


def record_files(repo: Repo) -> list[Path]:
    """Every run-cache record file; its name is the key, its bytes go to the remote as is."""
    folder = runs_dir(repo)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if RECORD_KEY.fullmatch(p.name) and p.is_file())


def prune_records(repo: Repo, used: set[Oid], dry_run: bool = False) -> list[str]:
    """Delete the records that could restore an output nothing in `used` references (a
    run no kept commit or workspace recorded; unreadable records too): otherwise they
    would pin every old output forever. A record all of whose outputs are in `used`
    stays, so repro can still restore those runs. Returns the keys deleted (or, with
    `dry_run`, that would be). The caller holds the repository lock."""
    doomed = []
    for path in record_files(repo):
        outs = lookup(repo, path.name)
        if outs is None or not {h.oid for h in outs} <= used:
            doomed.append(path)
    if not dry_run:
        for path in doomed:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise storage_error(exc, f"removing run-cache record {path.name}") from exc
    return [p.name for p in doomed]


def import_records(repo: Repo, records: Mapping[str, bytes]) -> int:
    """Store records fetched from elsewhere ({key: bytes}); each is validated first.
    Returns how many were new. Raises `FormatError` for a bad key or record."""
    folder = runs_dir(repo)
    added = 0
    for key, data in sorted(records.items()):
        if not RECORD_KEY.fullmatch(key):
            raise FormatError(f"invalid run-cache key {key!r}")
        parse_record(data, f"run-cache record {key}")
        target = folder / key
        if target.is_file():
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, f"creating {folder}") from exc
        atomic_write(target, data, fsync=False)
        added += 1
    return added
