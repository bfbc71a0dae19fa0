"""`dvlite repro`: what runs, when, and what is recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import check_repo, run, run_proc
from tests.pipeline.util import PY, lock, ran, setup_steps, step

CHAIN = f"""\
stages:
  prepare:
    cmd: {step("prepare", "data/prep.txt", "data/raw.txt")}
    deps: [data/raw.txt]
    params: [prepare.factor]
    outs: [data/prep.txt]
  train:
    cmd: {step("train", "model.txt", "data/prep.txt", "train.cfg")}
    deps: [data/prep.txt, train.cfg]
    params: [train.lr]
    outs: [model.txt]
  evaluate:
    cmd: {step("evaluate", "report.txt", "model.txt")}
    deps: [model.txt]
    outs: [report.txt]
  other:
    cmd: {step("other", "other.txt", "data/raw.txt")}
    deps: [data/raw.txt]
    outs: [other.txt]
"""
PARAMS = "prepare:\n  factor: 2\ntrain:\n  lr: 0.1\n"


def _chain(repo: Path) -> None:
    setup_steps(repo, CHAIN, {"data": {"raw.txt": "raw\n"}, "params.yaml": PARAMS,
                              "train.cfg": "cfg\n"})


def test_first_repro_runs_all_in_order_and_records_lock(repo: Path) -> None:
    _chain(repo)
    r = run("repro")
    assert r.exit_code == 0, r.stderr
    order = ran(repo)
    assert sorted(order) == ["evaluate", "other", "prepare", "train"]
    assert order.index("prepare") < order.index("train") < order.index("evaluate")
    assert (repo / "report.txt").read_text() == "raw\nprepare\ncfg\ntrain\nevaluate\n"
    entries = lock(repo)
    assert sorted(entries) == ["evaluate", "other", "prepare", "train"]
    train = entries["train"]
    assert isinstance(train, dict)
    assert train["params"] == {"params.yaml": {"train.lr": 0.1}}
    assert train["deps"][0]["path"] == "data/prep.txt"
    assert train["deps"][0]["hash"].startswith("xxh128:")
    assert train["outs"][0]["size"] == len("raw\nprepare\ncfg\ntrain\n")
    assert "/model.txt" in (repo / ".gitignore").read_text().splitlines()
    assert "/prep.txt" in (repo / "data" / ".gitignore").read_text().splitlines()
    check_repo(repo)


def test_second_repro_runs_nothing(repo: Path) -> None:
    _chain(repo)
    assert run("repro").exit_code == 0
    ran(repo)
    before = (repo / "dvlite.lock").read_bytes()
    r = run("repro")
    assert r.exit_code == 0
    assert ran(repo) == []
    assert "nothing to run" in r.stdout
    assert (repo / "dvlite.lock").read_bytes() == before


def test_changed_dep_reruns_exactly_downstream(repo: Path) -> None:
    _chain(repo)
    assert run("repro").exit_code == 0
    ran(repo)
    (repo / "train.cfg").write_text("cfg v2\n")
    assert run("repro").exit_code == 0
    assert ran(repo) == ["train", "evaluate"]
    (repo / "data" / "raw.txt").write_text("new raw\n")
    assert run("repro").exit_code == 0
    order = ran(repo)
    assert sorted(order) == ["evaluate", "other", "prepare", "train"]
    assert (repo / "report.txt").read_text() == "new raw\nprepare\ncfg v2\ntrain\nevaluate\n"


def test_modified_output_is_restored_and_downstream_untouched(repo: Path) -> None:
    _chain(repo)
    assert run("repro").exit_code == 0
    ran(repo)
    (repo / "data" / "prep.txt").write_text("edited\n")
    r = run("repro")
    assert r.exit_code == 0
    # same inputs as the recorded run: its output comes back from the run cache
    assert "restored prepare from run cache" in r.stdout
    assert ran(repo) == []
    assert (repo / "data" / "prep.txt").read_text() == "raw\nprepare\n"
    check_repo(repo)


def test_changed_param_reruns_only_the_stage_reading_it(repo: Path) -> None:
    _chain(repo)
    assert run("repro").exit_code == 0
    ran(repo)
    (repo / "params.yaml").write_text(PARAMS.replace("lr: 0.1", "lr: 0.2"))
    dry = run("repro", "--dry-run")
    assert dry.exit_code == 0
    assert "would run 'train': parameter 'train.lr' changed (0.1 -> 0.2)" in dry.stdout
    assert ran(repo) == []
    assert run("repro").exit_code == 0
    # train's output is the same bytes (step.py ignores lr here), so evaluate stays put
    assert ran(repo) == ["train"]
    train = lock(repo)["train"]
    assert isinstance(train, dict)
    assert train["params"] == {"params.yaml": {"train.lr": 0.2}}


def test_unrelated_param_changes_nothing(repo: Path) -> None:
    _chain(repo)
    assert run("repro").exit_code == 0
    ran(repo)
    (repo / "params.yaml").write_text(PARAMS + "unused: 5\n")
    assert run("repro").exit_code == 0
    assert ran(repo) == []


def test_changed_cmd_and_missing_output_rerun(repo: Path) -> None:
    _chain(repo)
    assert run("repro").exit_code == 0
    ran(repo)
    (repo / "other.txt").unlink()
    r = run("repro", "--dry-run")
    assert "would run 'other': output 'other.txt' is missing" in r.stdout
    assert run("repro").exit_code == 0
    assert ran(repo) == []  # restored from the run cache, not run
    assert (repo / "other.txt").read_text() == "raw\nother\n"
    (repo / "dvlite.yaml").write_text(CHAIN.replace("other other.txt", "other2 other.txt"))
    r = run("repro", "--dry-run")
    assert "would run 'other': command changed" in r.stdout
    assert run("repro").exit_code == 0
    assert ran(repo) == ["other2"]


def test_target_limits_to_stage_and_upstream(repo: Path) -> None:
    _chain(repo)
    assert run("repro", "train").exit_code == 0
    assert ran(repo) == ["prepare", "train"]
    assert not (repo / "report.txt").exists()
    assert sorted(lock(repo)) == ["prepare", "train"]
    r = run("repro", "nosuch")
    assert r.exit_code == 1
    assert "unknown stage 'nosuch'" in r.stderr


def test_force_runs_everything_and_dry_run_runs_nothing(repo: Path) -> None:
    _chain(repo)
    r = run("repro", "--dry-run")
    assert r.exit_code == 0
    assert "would run 'prepare': no entry in dvlite.lock" in r.stdout
    assert "would run 'evaluate'" in r.stdout
    assert ran(repo) == []
    assert not (repo / "dvlite.lock").exists()
    assert run("repro").exit_code == 0
    ran(repo)
    assert run("repro", "--force").exit_code == 0
    assert sorted(ran(repo)) == ["evaluate", "other", "prepare", "train"]


def test_dry_run_json(repo: Path) -> None:
    _chain(repo)
    r = run("repro", "--dry-run", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert sorted(doc["would_run"]) == ["evaluate", "other", "prepare", "train"]
    assert doc["ran"] == []


def test_frozen_never_runs_always_changed_always_runs(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  frozen:
    cmd: {step("frozen", "f.txt")}
    outs: [f.txt]
    frozen: true
  always:
    cmd: {step("always", "a.txt")}
    outs: [a.txt]
    always_changed: true
""")
    assert run("repro").exit_code == 0
    assert ran(repo) == ["always"]
    r = run("repro")
    assert r.exit_code == 0
    assert ran(repo) == ["always"]  # never from the run cache either
    assert "Stage 'frozen' is frozen" in r.stdout


def test_persist_output_is_kept_and_uncached_output_only_hashed(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  grow:
    cmd: {PY} -c "open('log.txt','a').write('grow\\\\n'); open('acc.txt','a').write('x')"
    outs:
      - acc.txt: {{persist: true, cache: false}}
    always_changed: true
""")
    assert run("repro").exit_code == 0
    assert run("repro").exit_code == 0
    assert (repo / "acc.txt").read_text() == "xx"
    entry = lock(repo)["grow"]
    assert isinstance(entry, dict)
    assert entry["outs"][0]["size"] == 2
    assert not (repo / ".gitignore").exists() or "/acc.txt" not in (repo / ".gitignore").read_text()
    check_repo(repo)


def test_folder_output_and_dep(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  make:
    cmd: {step("make", "feats/")}
    outs: [feats]
  use:
    cmd: {step("use", "out.txt", "feats/a.txt")}
    deps: [feats]
    outs: [out.txt]
""")
    assert run("repro").exit_code == 0
    assert ran(repo) == ["make", "use"]
    entry = lock(repo)["make"]
    assert isinstance(entry, dict)
    assert entry["outs"][0]["nfiles"] == 2
    assert run("repro").exit_code == 0
    assert ran(repo) == []
    check_repo(repo)


def test_wdir_runs_in_its_folder_relative_to_dvlite_yaml(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  sub:
    cmd: {PY} ../step.py sub out.txt in.txt
    wdir: sub
    deps: [in.txt]
    outs: [out.txt]
""", {"sub": {"in.txt": "in\n"}})
    assert run("repro").exit_code == 0
    assert (repo / "sub" / "out.txt").read_text() == "in\nsub\n"
    entry = lock(repo)["sub"]
    assert isinstance(entry, dict)
    assert entry["deps"][0]["path"] == "sub/in.txt"


def test_dvlite_yaml_in_subfolder_has_its_own_lock(repo: Path) -> None:
    setup_steps(repo, "stages: {}\n", {"sub": {"in.txt": "in\n", "dvlite.yaml": f"""\
stages:
  nested:
    cmd: {PY} ../step.py nested out.txt in.txt
    deps: [in.txt]
    outs: [out.txt]
"""}})
    assert run("repro").exit_code == 0
    assert (repo / "sub" / "out.txt").read_text() == "in\nnested\n"
    text = (repo / "sub" / "dvlite.lock").read_text()
    assert "path: in.txt" in text
    assert not (repo / "dvlite.lock").exists()


def test_works_from_a_subfolder(repo: Path) -> None:
    _chain(repo)
    assert run("repro", "prepare", cwd=repo / "data").exit_code == 0
    assert ran(repo) == ["prepare"]


def test_output_not_produced_is_an_error_and_not_recorded(repo: Path) -> None:
    setup_steps(repo, "stages:\n  lazy:\n    cmd: echo nothing\n    outs: [never.txt]\n")
    r = run("repro")
    assert r.exit_code == 1
    assert "dvlite.yaml:4: stage 'lazy' did not produce its output 'never.txt'" in r.stderr
    assert not (repo / "dvlite.lock").exists()


def test_modified_output_is_saved_to_cache_before_rerun(repo: Path) -> None:
    _chain(repo)
    assert run("repro").exit_code == 0
    (repo / "other.txt").write_text("precious hand edit\n")
    assert run("repro", "--force", "other").exit_code == 0
    cached = [p.read_text() for p in (repo / ".dvlite" / "cache").rglob("*")
              if p.is_file() and p.stat().st_size == len("precious hand edit\n")]
    assert "precious hand edit\n" in cached


def test_lock_is_deterministic_and_keeps_other_stages(repo: Path) -> None:
    _chain(repo)
    assert run("repro").exit_code == 0
    first = (repo / "dvlite.lock").read_text()
    assert run("repro", "--force", "other").exit_code == 0
    assert (repo / "dvlite.lock").read_text() == first
    # one block per stage, sorted, separated by blank lines
    names = [line.strip()[:-1] for line in first.splitlines()
             if line.startswith("  ") and not line.startswith("   ")]
    assert names == sorted(names)
    assert first.count("\n\n") == 3


def test_stage_removed_from_pipeline_drops_its_lock_entry(repo: Path) -> None:
    _chain(repo)
    assert run("repro").exit_code == 0
    (repo / "dvlite.yaml").write_text(CHAIN.split("  other:", maxsplit=1)[0])
    assert run("repro", "--force", "prepare").exit_code == 0
    assert "other" not in lock(repo)


def test_parallel_jobs_run_independent_stages(repo: Path) -> None:
    stages = "\n".join(f"""\
  s{i}:
    cmd: {step(f"s{i}", f"o{i}.txt", "data/raw.txt")}
    deps: [data/raw.txt]
    outs: [o{i}.txt]""" for i in range(4))
    join = f"""
  join:
    cmd: {step("join", "all.txt", *[f"o{i}.txt" for i in range(4)])}
    deps: [{", ".join(f"o{i}.txt" for i in range(4))}]
    outs: [all.txt]
"""
    setup_steps(repo, "stages:\n" + stages + join, {"data": {"raw.txt": "r\n"}})
    assert run("repro", "-j", "3").exit_code == 0
    order = ran(repo)
    assert sorted(order) == ["join", "s0", "s1", "s2", "s3"]
    assert order[-1] == "join"
    assert sorted(lock(repo)) == ["join", "s0", "s1", "s2", "s3"]
    assert run("repro", "-j", "3").exit_code == 0
    assert ran(repo) == []
    check_repo(repo)


def test_dep_inside_an_upstream_output_folder_sees_the_new_bytes(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  make:
    cmd: {step("make", "feats/", "in.txt")}
    deps: [in.txt]
    outs: [feats]
  use:
    cmd: {step("use", "out.txt", "feats/a.txt")}
    deps: [feats/a.txt]
    outs: [out.txt]
""", {"in.txt": "one\n"})
    assert run("repro").exit_code == 0
    assert ran(repo) == ["make", "use"]
    (repo / "in.txt").write_text("two\n")
    assert run("repro").exit_code == 0
    assert ran(repo) == ["make", "use"]
    assert (repo / "out.txt").read_text() == "two\nmake\nuse\n"
    assert run("repro").exit_code == 0
    assert ran(repo) == []


def test_json_and_quiet_keep_stdout_clean_of_command_output(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  talk:
    cmd: echo hello from the command && {step("talk", "t.txt")}
    outs: [t.txt]
    always_changed: true
""")
    r = run_proc("repro", "--json", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ran"] == ["talk"]
    assert "hello from the command" in r.stderr
    quiet = run_proc("-q", "repro", cwd=repo)
    assert quiet.returncode == 0
    assert quiet.stdout == ""
    assert "hello from the command" in quiet.stderr
    plain = run_proc("repro", cwd=repo)
    assert "hello from the command" in plain.stdout
    assert plain.stdout.index("Running stage 'talk'") < plain.stdout.index("hello from")


@pytest.mark.e2e
def test_concurrent_repros_of_different_stages_keep_both_entries(repo: Path) -> None:
    stages = "".join(f"""\
  s{i}:
    cmd: {step(f"s{i}", f"o{i}.txt")}
    outs: [o{i}.txt]
""" for i in range(6))
    setup_steps(repo, "stages:\n" + stages)
    procs = [subprocess.Popen([sys.executable, "-m", "dvlite", "-q", "repro", *[
        f"s{j}" for j in range(i, 6, 2)]], cwd=repo, stderr=subprocess.PIPE, text=True)
        for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sorted(lock(repo)) == [f"s{i}" for i in range(6)]
    assert run("repro").exit_code == 0
    assert sorted(ran(repo)) == [f"s{i}" for i in range(6)]  # each ran exactly once
    check_repo(repo)
