"""The run cache: identical inputs restore outputs instead of running the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dvlite.errors import FormatError, UnsafePathError
from dvlite.pipeline import runcache
from dvlite.workspace.repo import Repo
from tests.helpers import check_repo, git, run
from tests.pipeline.util import PY, ran, setup_steps, step

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


def _records(repo: Path) -> set[str]:
    return {p.name for p in (repo / ".dvlite" / "runs").iterdir()}


def test_gc_drops_records_of_runs_nothing_in_scope_uses(repo: Path) -> None:
    _setup(repo)
    assert run("repro").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "lr 0.1")
    committed = _records(repo)
    (repo / "params.yaml").write_text("train:\n  lr: 0.5\n")  # an experiment, not kept
    assert run("repro").exit_code == 0
    experiment = _records(repo) - committed
    assert len(experiment) == 2
    (repo / "params.yaml").write_text("train:\n  lr: 0.1\n")
    assert "restored train" in run("repro").stdout
    ran(repo)
    dry = run("gc", "--dry-run", "--json")
    assert sorted(json.loads(dry.stdout)["run_cache_records"]) == sorted(experiment)
    assert _records(repo) == committed | experiment
    r = run("gc")
    assert r.exit_code == 0, r.stderr
    assert "deleted 2 run-cache records" in r.stdout
    assert "deleted 0 objects" not in r.stdout  # the experiment's model and score went
    assert _records(repo) == committed
    check_repo(repo)
    (repo / "params.yaml").write_text("train:\n  lr: 0.5\n")
    assert run("repro").exit_code == 0
    assert ran(repo) == ["train", "score"]  # its record is gone: it runs again
    (repo / "params.yaml").write_text("train:\n  lr: 0.1\n")
    assert "restored train" in run("repro").stdout  # the committed run's record stays
    assert ran(repo) == []


def test_gc_workspace_frees_the_outputs_of_older_runs(repo: Path) -> None:
    _setup(repo)
    for lr in ("0.1", "0.2", "0.3"):
        (repo / "params.yaml").write_text(f"train:\n  lr: {lr}\n")
        assert run("repro").exit_code == 0
    assert len(_records(repo)) == 6
    r = run("gc", "--workspace", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["run_cache_records"]) == 4
    # per old run: the model's manifest and a.txt, and the score (b.txt never changes)
    assert len(doc["cache"]) == 3 * 2
    assert run("status", "--exit-code").exit_code == 0
    check_repo(repo)
