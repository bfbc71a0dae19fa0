"""The run cache: identical inputs restore outputs instead of running the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvlite.errors import FormatError, UnsafePathError
from dvlite.pipeline import runcache
from dvlite.repo.repo import Repo
from tests.helpers import check_repo, run
from tests.pipeline.util import PY, lock, ran, setup_steps, step

PIPELINE = f"""\
stages:
  train:
    cmd: STEP_PARAM=train.lr {step("train", "model/", "data.txt")}
    deps: [data.txt]
    params: [train.lr]
    outs: [model]
  score:
    cmd: {step("score", "score.json", "model/a.txt")}
    deps: [model]
    metrics: [score.json]
"""


def _setup(repo: Path, lr: str = "0.1") -> None:
    setup_steps(repo, PIPELINE, {"data.txt": "d\n", "params.yaml": f"train:\n  lr: {lr}\n"})


def test_switching_a_param_back_restores_from_run_cache(repo: Path) -> None:
    _setup(repo)
    assert run("repro").exit_code == 0
    assert ran(repo) == ["train", "score"]
    first_lock = (repo / "dvlite.lock").read_bytes()
    first_model = (repo / "model" / "a.txt").read_text()
    assert "train.lr=0.1" in first_model
    (repo / "params.yaml").write_text("train:\n  lr: 0.5\n")
    assert run("repro").exit_code == 0
    assert ran(repo) == ["train", "score"]
    assert "train.lr=0.5" in (repo / "model" / "a.txt").read_text()
    (repo / "params.yaml").write_text("train:\n  lr: 0.1\n")
    r = run("repro")
    assert r.exit_code == 0
    assert ran(repo) == []
    assert "restored train from run cache" in r.stdout
    assert "restored score from run cache" in r.stdout
    assert (repo / "model" / "a.txt").read_text() == first_model
    assert (repo / "dvlite.lock").read_bytes() == first_lock
    assert run("repro").exit_code == 0
    assert ran(repo) == []
    check_repo(repo)


def test_force_ignores_the_run_cache(repo: Path) -> None:
    _setup(repo)
    assert run("repro").exit_code == 0
    ran(repo)
    assert run("repro", "--force").exit_code == 0
    assert ran(repo) == ["train", "score"]


def test_no_restore_when_objects_are_gone(repo: Path) -> None:
    _setup(repo)
    assert run("repro").exit_code == 0
    ran(repo)
    (repo / "score.json").unlink()
    for obj in (repo / ".dvlite" / "cache").rglob("*"):
        if obj.is_file() and obj.read_bytes().startswith(b"d\nmodel"[:1]) and b"score" in \
                obj.read_bytes():
            obj.chmod(0o644)
            obj.unlink()
    assert run("repro").exit_code == 0
    assert ran(repo) == ["score"]


def test_records_listed_and_imported(repo: Path, tmp_path: Path) -> None:
    _setup(repo)
    assert run("repro").exit_code == 0
    r = Repo.find(repo)
    files = runcache.record_files(r)
    assert len(files) == 2
    oids = runcache.record_oids(r)
    entries = lock(repo)
    outs = {h["hash"] for e in entries.values() for h in e["outs"]}  # type: ignore[union-attr]
    assert outs <= {str(o) for o in oids}
    assert len(oids) > len(outs)  # the folder's files too
    records = {p.name: p.read_bytes() for p in files}
    for p in files:
        p.unlink()
    assert runcache.import_records(r, records) == 2
    assert runcache.import_records(r, records) == 0
    assert sorted(p.name for p in runcache.record_files(r)) == sorted(records)
    bad = {"0" * 32: b'{"format": 1, "outs": [{"path": "../x", "hash": "xxh128:' + b"0" * 32
           + b'", "size": 1}]}'}
    with pytest.raises(UnsafePathError, match="unsafe"):
        runcache.import_records(r, bad)
    with pytest.raises(FormatError, match="invalid run-cache key"):
        runcache.import_records(r, {"../../evil": b"{}"})
    assert len(runcache.record_files(r)) == 2
    r.close()


def test_stages_without_outputs_or_with_uncached_ones_always_run(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  notify:
    cmd: {PY} -c "open('log.txt', 'a').write('notify\\\\n')"
    deps: [data.txt]
  table:
    cmd: {step("table", "table.csv", "data.txt")}
    deps: [data.txt]
    outs:
      - table.csv: {{cache: false}}
""", {"data.txt": "v1\n"})
    assert run("repro").exit_code == 0
    assert sorted(ran(repo)) == ["notify", "table"]
    (repo / "data.txt").write_text("v2\n")
    assert run("repro").exit_code == 0
    assert sorted(ran(repo)) == ["notify", "table"]
    (repo / "data.txt").write_text("v1\n")  # inputs of the first run again
    r = run("repro")
    assert r.exit_code == 0
    assert sorted(ran(repo)) == ["notify", "table"]
    assert "run cache" not in r.stdout
    assert not (repo / ".gitignore").exists()
