"""`stage add`, `dag`, `params diff`, `metrics show`, `metrics diff`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import gen, git, run
from tests.pipeline.util import PY, setup_steps, step


def test_stage_add_appends_keeps_comments_and_validates(repo: Path) -> None:
    gen(repo, {"data.csv": "x\n", "dvlite.yaml": "# my pipeline\nstages:\n    first:  # hi\n"
               "        cmd: echo 1\n"})
    r = run("stage", "add", "-n", "prep", "-d", "data.csv", "-o", "prep.csv", "-p", "prep.k",
            "-p", "cfg.json:a.b,c", "-m", "m.json", "cp data.csv prep.csv")
    assert r.exit_code == 0, r.stderr
    assert "Added stage 'prep'" in r.stdout
    text = (repo / "dvlite.yaml").read_text()
    assert text.startswith("# my pipeline\nstages:\n    first:  # hi\n")
    assert "    prep:\n        cmd: cp data.csv prep.csv\n" in text
    gen(repo, {"params.yaml": "prep:\n  k: 1\n", "cfg.json": '{"a": {"b": 2}, "c": 3}'})
    dry = run("repro", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "would run 'prep'" in dry.stdout
    dup = run("stage", "add", "-n", "prep", "echo again")
    assert dup.exit_code == 1
    assert "stage 'prep' already exists (dvlite.yaml:5)" in dup.stderr
    bad = run("stage", "add", "-n", "two", "-o", "prep.csv", "echo")
    assert bad.exit_code == 1
    assert "output 'prep.csv' is also written by stage 'prep'" in bad.stderr
    assert (repo / "dvlite.yaml").read_text() == text


def test_stage_add_accepts_a_dependency_that_comes_later(repo: Path) -> None:
    # the data may come from a pull or a download step: repro names it if it never comes
    r = run("stage", "add", "-n", "train", "-d", "later.txt", "-o", "model.txt",
            "cp later.txt model.txt")
    assert r.exit_code == 0, r.stderr
    assert "later.txt" in (repo / "dvlite.yaml").read_text()
    failed = run("repro")
    assert failed.exit_code == 1
    assert failed.stderr.startswith("error: dvlite.yaml:")
    assert "stage 'train': dependency 'later.txt' does not exist" in failed.stderr
    gen(repo, {"later.txt": "now\n"})
    assert run("repro").exit_code == 0, run("repro").stderr
    assert (repo / "model.txt").read_text() == "now\n"


def test_stage_add_stages_the_pipeline_in_git(repo: Path) -> None:
    assert run("stage", "add", "-n", "a", "-o", "a.txt", "echo a > a.txt").exit_code == 0
    assert git(repo, "diff", "--cached", "--name-only").split() == ["dvlite.yaml"]
    git(repo, "reset", "-q")
    assert run("stage", "add", "--no-stage", "-n", "b", "-o", "b.txt",
               "echo b > b.txt").exit_code == 0
    assert git(repo, "diff", "--cached", "--name-only").split() == []
    assert run("config", "core.autostage", "false").exit_code == 0
    assert run("stage", "add", "-n", "c", "-o", "c.txt", "echo c > c.txt").exit_code == 0
    assert "dvlite.yaml" not in git(repo, "diff", "--cached", "--name-only")
    assert "  c:\n" in (repo / "dvlite.yaml").read_text()


def test_stage_add_creates_the_file(repo: Path) -> None:
    r = run("stage", "add", "-n", "hello", "-o", "hello.txt", "--", "echo", "hi", ">",
            "hello.txt")
    assert r.exit_code == 0, r.stderr
    assert (repo / "dvlite.yaml").read_text() == (
        "stages:\n  hello:\n    cmd: echo hi > hello.txt\n    outs:\n    - hello.txt\n")
    assert run("repro").exit_code == 0
    assert (repo / "hello.txt").read_text() == "hi\n"


def test_dag_text_mermaid_dot(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  a:
    cmd: {step("a", "a.txt")}
    outs: [a.txt]
  b:
    cmd: {step("b", "b.txt", "a.txt")}
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: {step("c", "c.txt", "a.txt", "b.txt")}
    deps: [a.txt, b.txt]
    outs: [c.txt]
""")
    text = run("dag")
    assert text.exit_code == 0
    assert text.stdout.splitlines() == ["a", "b  <- a", "c  <- a, b"]
    mermaid = run("dag", "--mermaid").stdout
    assert mermaid.startswith("flowchart TD\n")
    assert "s0 --> s2" in mermaid and "s1 --> s2" in mermaid and "s0 --> s1" in mermaid
    dot = run("dag", "--dot").stdout
    assert '"a" -> "b";' in dot and '"b" -> "c";' in dot
    assert run("dag", "--dot", "--mermaid").exit_code == 2
    doc = json.loads(run("dag", "--json").stdout)
    assert doc["stages"][2] == {"name": "c", "file": "dvlite.yaml", "upstream": ["a", "b"]}


METRICS_PIPELINE = f"""\
stages:
  train:
    cmd: {PY} train.py
    deps: [train.py]
    params:
      - train.lr
      - cfg.toml: [model.depth]
    outs: [model.bin]
    metrics: [scores.json]
"""
TRAIN = """\
import json, tomllib, yaml
lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
depth = tomllib.load(open("cfg.toml", "rb"))["model"]["depth"]
open("model.bin", "w").write(f"{lr} {depth}")
json.dump({"acc": round(1 - lr, 3), "nested": {"loss": lr * 2}, "name": "m"},
          open("scores.json", "w"))
"""


def _metrics_repo(repo: Path) -> None:
    gen(repo, {"dvlite.yaml": METRICS_PIPELINE, "train.py": TRAIN,
               "params.yaml": "train:\n  lr: 0.25\n", "cfg.toml": "[model]\ndepth = 3\n"})
    assert run("repro").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")


def test_params_diff_between_revisions_and_workspace(repo: Path) -> None:
    _metrics_repo(repo)
    r = run("params", "diff")
    assert r.exit_code == 0
    assert "No parameter changed." in r.stdout
    gen(repo, {"params.yaml": "train:\n  lr: 0.5\n", "cfg.toml": "[model]\ndepth = 4\n"})
    r = run("params", "diff", "--json")
    assert json.loads(r.stdout) == {
        "cfg.toml": {"model.depth": {"old": 3, "new": 4, "diff": 1}},
        "params.yaml": {"train.lr": {"old": 0.25, "new": 0.5, "diff": 0.25}},
    }
    text = run("params", "diff").stdout
    assert "params.yaml  train.lr     0.25  0.5  +0.25" in text
    assert run("repro").exit_code == 0
    git(repo, "commit", "-qam", "v2")
    between = json.loads(run("params", "diff", "HEAD~1", "HEAD", "--json").stdout)
    assert between["params.yaml"]["train.lr"] == {"old": 0.25, "new": 0.5, "diff": 0.25}
    assert json.loads(run("params", "diff", "HEAD", "--json").stdout) == {}


def test_metrics_show_and_diff(repo: Path) -> None:
    _metrics_repo(repo)
    shown = run("metrics", "show", "--json")
    assert json.loads(shown.stdout) == {
        "workspace": {"scores.json": {"acc": 0.75, "nested.loss": 0.5, "name": "m"}}}
    table = run("metrics", "show").stdout.splitlines()
    assert table[0].split() == ["Path", "Key", "Value"]
    assert "scores.json  acc          0.75" in table
    gen(repo, {"params.yaml": "train:\n  lr: 0.5\n"})
    assert run("repro").exit_code == 0
    diff = json.loads(run("metrics", "diff", "--json").stdout)
    assert diff == {"scores.json": {"acc": {"old": 0.75, "new": 0.5, "diff": -0.25},
                                    "nested.loss": {"old": 0.5, "new": 1.0, "diff": 0.5}}}
    diff_table = run("metrics", "diff").stdout
    assert "scores.json  acc          0.75  0.5  -0.25" in diff_table
    git(repo, "commit", "-qam", "v2")
    every = json.loads(run("metrics", "show", "--all-commits", "--json").stdout)
    values = {rev: v.get("scores.json", {}).get("acc") for rev, v in every.items()}
    head = git(repo, "rev-parse", "HEAD").strip()
    first = git(repo, "rev-parse", "HEAD~1").strip()
    assert values["workspace"] == 0.5
    assert values[head] == 0.5
    assert values[first] == 0.75
    assert json.loads(run("metrics", "diff", "HEAD~1", "HEAD", "--json").stdout)[
        "scores.json"]["acc"]["diff"] == -0.25


def test_cached_metrics_are_read_from_the_cache_at_a_revision(repo: Path) -> None:
    _metrics_repo(repo)
    text = METRICS_PIPELINE.replace("metrics: [scores.json]",
                                    "metrics:\n      - scores.json: {cache: true}")
    gen(repo, {"dvlite.yaml": text})
    git(repo, "rm", "-q", "--cached", "scores.json")
    assert run("repro", "--force").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "cached metrics")
    assert "/scores.json" in (repo / ".gitignore").read_text()
    r = run("metrics", "show", "--all-commits", "--json")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert json.loads(r.stdout)[head] == {"scores.json": {"acc": 0.75, "nested.loss": 0.5,
                                                          "name": "m"}}


def test_bad_revision_is_a_clear_error(repo: Path) -> None:
    _metrics_repo(repo)
    r = run("metrics", "diff", "nosuchrev")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: unknown revision 'nosuchrev'")


def test_repro_stages_the_lock_and_gitignore_unless_autostage_is_off(repo: Path) -> None:
    setup_steps(repo, f"stages:\n  a:\n    cmd: {step('a', 'out/a.txt')}\n"
                "    outs: [out/a.txt]\n")
    assert run("repro").exit_code == 0
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert sorted(staged) == ["dvlite.lock", "out/.gitignore"]
    git(repo, "reset", "-q")
    assert run("config", "core.autostage", "false").exit_code == 0
    assert run("repro", "--force").exit_code == 0
    assert git(repo, "diff", "--cached", "--name-only").split() == []


def test_commands_on_a_repository_without_stages_or_commits(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    assert run("init", cwd=root).exit_code == 0
    r = run("repro", cwd=root)
    assert r.exit_code == 0
    assert "No stages to run" in r.stdout
    assert run("dag", cwd=root).stdout == ""
    gen(root, {"params.yaml": "lr: 1\n"})
    diff = run("params", "diff", "--json", cwd=root)
    assert diff.exit_code == 0, diff.stderr
    assert json.loads(diff.stdout) == {"params.yaml": {"lr": {"old": None, "new": 1}}}
    assert json.loads(run("metrics", "diff", "--json", cwd=root).stdout) == {}


def test_stage_add_options_wdir_uncached_outputs_always_changed(repo: Path) -> None:
    gen(repo, {"sub": {"in.txt": "x\n"}})
    r = run("stage", "add", "-n", "s", "-w", "sub", "-d", "in.txt", "-O", "cache.txt",
            "--always-changed", "--", "cp", "in.txt", "cache.txt")
    assert r.exit_code == 0, r.stderr
    assert (repo / "dvlite.yaml").read_text() == (
        "stages:\n  s:\n    cmd: cp in.txt cache.txt\n    wdir: sub\n    deps:\n    - in.txt\n"
        "    outs:\n    - cache.txt:\n        cache: false\n    always_changed: true\n")
    assert run("repro").exit_code == 0
    assert (repo / "sub" / "cache.txt").read_text() == "x\n"
    assert not (repo / "sub" / ".gitignore").exists()
    bad = run("stage", "add", "-n", "t", "-w", "../..", "echo")
    assert bad.exit_code == 1
    assert "unsafe wdir" in bad.stderr


def test_output_in_a_git_ignored_folder_warns_but_succeeds(repo: Path) -> None:
    setup_steps(repo, f"stages:\n  a:\n    cmd: {step('a', 'build/a.txt')}\n"
                "    outs: [build/a.txt]\n", {".gitignore": "build/\n"})
    r = run("repro")
    assert r.exit_code == 0, r.stderr
    assert "warning: not staged in git" in r.stderr
    assert "dvlite.lock" in git(repo, "diff", "--cached", "--name-only").split()
