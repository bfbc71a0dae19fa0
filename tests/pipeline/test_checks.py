"""`checks:` in dvlite.yaml and `dvlite metrics check`: each rule passing and failing,
nested keys, missing values, baselines at named commits, `--json`, exit codes, and the
validation errors (file, line and key)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dvlite.core.checks import Check, Limit
from dvlite.core.stages import parse_file
from dvlite.errors import FormatError, UnsafePathError
from tests.helpers import gen, git, run


def _commit(repo: Path, files: dict[str, object], msg: str) -> str:
    gen(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", msg)
    return git(repo, "rev-parse", "HEAD").strip()


def _checks(*entries: str) -> str:
    return "checks:\n" + "".join(f"  - {e}\n" for e in entries)


def _check(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    r = run("metrics", "check", "--json", *args)
    assert "Traceback" not in r.stderr
    return r.exit_code, json.loads(r.stdout)


@pytest.mark.parametrize(("rule", "old", "new", "ok"), [
    ("min: 0.9", None, 0.9, True),
    ("min: 0.9", None, 0.89, False),
    ("max: 0.5", None, 0.5, True),
    ("max: 0.5", None, 0.51, False),
    ("max_drop: 0.01", 0.92, 0.91, True),  # 0.92 - 0.91 is not exactly 0.01 in binary
    ("max_drop: 0.01", 0.92, 0.9, False),
    ("max_drop: 0.01", 0.92, 0.99, True),  # a rise is no drop
    ("max_drop: 5%", 0.8, 0.76, True),
    ("max_drop: 5%", 0.8, 0.75, False),
    ("max_rise: 0.1", 0.5, 0.6, True),
    ("max_rise: 0.1", 0.5, 0.61, False),
    ("max_rise: 5%", 2.0, 2.1, True),
    ("max_rise: '5%'", 2.0, 2.11, False),
    ("max_rise: 10%", -2.0, -1.8, True),  # relative to the baseline's size
    ("max_rise: 10%", -2.0, -1.7, False),
])
def test_each_rule_passes_and_fails(repo: Path, rule: str, old: float | None, new: float,
                                    ok: bool) -> None:
    pipeline = "checks:\n  - metric: m.json:score\n    " + rule + "\n"
    _commit(repo, {"dvlite.yaml": pipeline, "m.json": json.dumps({"score": old})}, "base")
    gen(repo, {"m.json": json.dumps({"score": new})})
    code, doc = _check(repo)
    assert code == (0 if ok else 1), doc
    assert doc["ok"] is ok
    (row,) = doc["checks"]
    assert row["metric"] == "m.json:score"
    assert row["value"] == new
    assert row["ok"] is ok
    assert (row["reason"] == "") is ok
    key = rule.split(":", maxsplit=1)[0]
    assert list(row["rules"]) == [key]


def test_json_shape_and_table(repo: Path) -> None:
    pipeline = _checks("{metric: 'eval/m.json:acc', min: 0.9, max_drop: 0.01}",
                       "{metric: 'eval/m.json:train.loss', max: 0.5, max_rise: 5%}")
    _commit(repo, {"dvlite.yaml": pipeline,
                   "eval": {"m.json": '{"acc": 0.95, "train": {"loss": 0.3}}'}}, "base")
    gen(repo, {"eval": {"m.json": '{"acc": 0.945, "train": {"loss": 0.4}}'}})
    code, doc = _check(repo)
    assert code == 1
    assert doc == {"ok": False, "against": "HEAD", "checks": [
        {"metric": "eval/m.json:acc", "file": "eval/m.json", "key": "acc", "value": 0.945,
         "baseline": 0.95, "rules": {"min": "0.9", "max_drop": "0.01"}, "ok": True,
         "reason": ""},
        {"metric": "eval/m.json:train.loss", "file": "eval/m.json", "key": "train.loss",
         "value": 0.4, "baseline": 0.3, "rules": {"max": "0.5", "max_rise": "5%"},
         "ok": False, "reason": "rose 0.1 from 0.3, more than max_rise 5%"}]}
    r = run("metrics", "check")
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["Metric", "Value", "HEAD", "Rule", "Result"]
    assert lines[1].split() == ["eval/m.json:acc", "0.945", "0.95", "min", "0.9,",
                                "max_drop", "0.01", "pass"]
    assert lines[2].startswith("eval/m.json:train.loss  0.4    0.3   max 0.5, max_rise 5%")
    assert lines[2].endswith("fail: rose 0.1 from 0.3, more than max_rise 5%")
    gen(repo, {"eval": {"m.json": '{"acc": 0.95, "train": {"loss": 0.3}}'}})
    r = run("metrics", "check")
    assert r.exit_code == 0, r.stdout
    assert [line.split()[-1] for line in r.stdout.splitlines()[1:]] == ["pass", "pass"]


def test_against_a_named_older_commit(repo: Path) -> None:
    pipeline = _checks("{metric: 'm.json:acc', max_drop: 0.05}")
    first = _commit(repo, {"dvlite.yaml": pipeline, "m.json": '{"acc": 0.9}'}, "v1")
    _commit(repo, {"m.json": '{"acc": 0.8}'}, "v2")
    gen(repo, {"m.json": '{"acc": 0.8}'})
    assert _check(repo)[0] == 0  # against HEAD: no drop
    code, doc = _check(repo, "--against", first)
    assert code == 1
    (row,) = doc["checks"]
    assert row["baseline"] == 0.9
    assert doc["against"] == first
    assert _check(repo, "--against", "HEAD~1")[0] == 1
    r = run("metrics", "check", "--against", "nosuchrev")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: unknown revision 'nosuchrev'")


def test_missing_metric_file_key_and_non_number_fail_named(repo: Path) -> None:
    pipeline = _checks("{metric: 'm.json:acc', min: 0.5}", "{metric: 'm.json:f1', min: 0.5}",
                       "{metric: 'gone.json:acc', min: 0.5}", "{metric: 'm.json:name', min: 1}")
    _commit(repo, {"dvlite.yaml": pipeline, "m.json": '{"acc": 0.9, "name": "x"}'}, "v1")
    code, doc = _check(repo)
    assert code == 1
    reasons = [(c["ok"], c["reason"]) for c in doc["checks"]]
    assert reasons == [(True, ""), (False, "m.json:f1 is missing in the workspace"),
                       (False, "gone.json is missing in the workspace"),
                       (False, "m.json:name is not a number in the workspace: 'x'")]
    gen(repo, {"m.json": "{not json"})
    code, doc = _check(repo)
    assert code == 1
    assert doc["checks"][0]["reason"].startswith(
        "m.json cannot be read in the workspace: m.json")


def test_missing_baseline_value_fails_only_rules_that_need_it(repo: Path) -> None:
    pipeline = _checks("{metric: 'm.json:acc', min: 0.5}",
                       "{metric: 'm.json:acc', max_drop: 1%}",
                       "{metric: 'm.json:loss', max_rise: 0.1}")
    _commit(repo, {"dvlite.yaml": pipeline, "m.json": '{"acc": 0.9}'}, "v1")
    gen(repo, {"m.json": '{"acc": 0.9, "loss": 0.2}'})
    code, doc = _check(repo)
    assert code == 1
    rows = doc["checks"]
    assert [r["ok"] for r in rows] == [True, True, False]
    assert rows[2]["reason"] == "m.json:loss is missing in HEAD"
    assert rows[2]["baseline"] is None


def test_no_commit_yet_baseline_is_missing(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q")
    assert run("init", cwd=root).exit_code == 0
    gen(root, {"dvlite.yaml": _checks("{metric: 'm.json:acc', min: 0.5}",
                                      "{metric: 'm.json:acc', max_drop: 0.1}"),
               "m.json": '{"acc": 0.9}'})
    r = run("metrics", "check", "--json", cwd=root)
    assert r.exit_code == 1
    rows = json.loads(r.stdout)["checks"]
    assert [(c["ok"], c["reason"]) for c in rows] == [
        (True, ""), (False, "m.json is missing in HEAD")]


def test_checks_in_a_subfolder_are_relative_to_their_file(repo: Path) -> None:
    _commit(repo, {"sub": {"dvlite.yaml": _checks("{metric: 'out/m.json:a.b', min: 1}"),
                           "out": {"m.json": '{"a": {"b": 2}}'}}}, "v1")
    code, doc = _check(repo)
    assert code == 0
    assert doc["checks"][0]["metric"] == "sub/out/m.json:a.b"


def test_without_checks_nothing_changes(repo: Path) -> None:
    gen(repo, {"data.csv": "a\n"})
    r = run("metrics", "check")
    assert (r.exit_code, r.stdout) == (0, "No checks: add a checks: section to dvlite.yaml.\n")
    assert _check(repo) == (0, {"ok": True, "against": "HEAD", "checks": []})
    assert run("stage", "add", "-n", "a", "-d", "data.csv", "-o", "a.txt",
               "cp data.csv a.txt").exit_code == 0
    assert run("repro").exit_code == 0
    assert run("metrics", "check").exit_code == 0


def test_stage_add_and_repro_keep_a_checks_section(repo: Path) -> None:
    text = ("stages:\n  a:\n    cmd: cp data.csv a.txt\n    deps: [data.csv]\n"
            "    outs: [a.txt]\n\n# gate\nchecks:\n  - metric: m.json:acc\n    min: 0.5\n")
    gen(repo, {"data.csv": "a\n", "dvlite.yaml": text, "m.json": '{"acc": 0.9}'})
    assert run("stage", "add", "-n", "b", "-d", "a.txt", "-o", "b.txt",
               "cp a.txt b.txt").exit_code == 0
    new = (repo / "dvlite.yaml").read_text()
    assert new.index("  b:\n") < new.index("# gate\nchecks:")
    assert new.endswith("checks:\n  - metric: m.json:acc\n    min: 0.5\n")
    stages, checks = parse_file(new, "dvlite.yaml")
    assert [s.name for s in stages] == ["a", "b"]
    assert checks == (Check("m.json", "acc", min=0.5, dvfile="dvlite.yaml", line=15),)
    assert run("repro").exit_code == 0
    assert (repo / "b.txt").read_text() == "a\n"
    assert run("metrics", "check").exit_code == 0


def test_parsed_records() -> None:
    text = ("checks:\n  - metric: m.json:acc\n    max_drop: 2.5%\n"
            "  - {metric: 'm.json:a.b', max_rise: 3, min: -1, max: 4}\n")
    assert parse_file(text, "d/dvlite.yaml")[1] == (
        Check("d/m.json", "acc", max_drop=Limit(2.5, relative=True), dvfile="d/dvlite.yaml",
              line=2),
        Check("d/m.json", "a.b", min=-1.0, max=4.0, max_rise=Limit(3.0),
              dvfile="d/dvlite.yaml", line=4))


BAD = [
    ("checks: {metric: m.json:a}\n", 1, "'checks' must be a list"),
    ("checks:\n  - m.json:a\n", 2, "a check is a mapping with 'metric'"),
    ("checks:\n  - metric: m.json:a\n    mni: 1\n", 3,
     "check 'm.json:a': unknown key 'mni'; did you mean 'min'?"),
    ("checks:\n  - metric: m.json:a\n    max_dorp: 1\n", 3,
     "unknown key 'max_dorp'; did you mean 'max_drop'?"),
    ("checks:\n  - min: 1\n", 2, "check: 'metric' (FILE:KEY) is missing"),
    ("checks:\n  - metric: m.json\n    min: 1\n", 2,
     "'metric' must be FILE:KEY (like metrics.json:accuracy), not 'm.json'"),
    ("checks:\n  - metric: 'm.json:'\n    min: 1\n", 2, "with a dotted KEY"),
    ("checks:\n  - metric: 'm.json:a..b'\n    min: 1\n", 2, "with a dotted KEY"),
    ("checks:\n  - metric: 3\n    min: 1\n", 2, "'metric' must be FILE:KEY"),
    ("checks:\n  - metric: m.json:a\n", 2,
     "check 'm.json:a': no rule; give at least one of 'min', 'max', 'max_drop', 'max_rise'"),
    ("checks:\n  - metric: m.json:a\n    min: high\n", 3,
     "check 'm.json:a': 'min' must be a number, not 'high'"),
    ("checks:\n  - metric: m.json:a\n    max: true\n", 3, "'max' must be a number, not True"),
    ("checks:\n  - metric: m.json:a\n    min: 2\n    max: 1\n", 4,
     "'max' (1) is below 'min' (2)"),
    ("checks:\n  - metric: m.json:a\n    max_drop: 5 percent\n", 3,
     "'max_drop' must be a number or a percentage like '5%', not '5 percent'"),
    ("checks:\n  - metric: m.json:a\n    max_rise: -5%\n", 3,
     "'max_rise' must be a number or a percentage like '5%', not '-5%'"),
    ("checks:\n  - metric: m.json:a\n    max_rise: [1]\n", 3, "'max_rise' must be a number"),
    ("checks:\n  - metric: m.json:a\n    max_drop: -1\n", 3,
     "'max_drop' must not be negative, not -1"),
    ("chekcs: []\n", 1, "unknown key 'chekcs'; did you mean 'checks'?"),
]
UNSAFE = [
    ("checks:\n  - metric: ../m.json:a\n    min: 1\n", 2, "'..'"),
    ("checks:\n  - metric: /etc/m.json:a\n    min: 1\n", 2,
     "unsafe metrics file '/etc/m.json': absolute or non-POSIX path"),
    ("checks:\n  - metric: 'C:/m.json:a'\n    min: 1\n", 2, "absolute or non-POSIX path"),
]


@pytest.mark.parametrize(("text", "line", "msg"), BAD + UNSAFE)
def test_validation_errors_name_file_line_and_key(text: str, line: int, msg: str) -> None:
    kind = UnsafePathError if (text, line, msg) in UNSAFE else FormatError
    with pytest.raises(kind) as info:
        parse_file(text, "dvlite.yaml")
    assert info.value.msg.startswith(f"dvlite.yaml:{line}: "), info.value.msg
    assert msg in info.value.msg


@pytest.mark.parametrize(("text", "line", "msg"), [
    *BAD[2:4], ("checks:\n  - metric: ../../m.json:a\n    min: 1\n", 2, "'..'")])
def test_validation_errors_through_the_cli(repo: Path, text: str, line: int, msg: str) -> None:
    gen(repo, {"sub": {"dvlite.yaml": "stages: {}\n" + text}})
    for args in (("metrics", "check"), ("repro",), ("metrics", "show")):
        r = run(*args)
        assert r.exit_code == 1, args
        assert r.stderr.startswith(f"error: sub/dvlite.yaml:{line + 1}: "), r.stderr
        assert msg in r.stderr


DOCS = Path(__file__).parents[2] / "docs"


def test_the_documented_checks_section_parses() -> None:
    section = (DOCS / "pipelines.md").read_text().split("## Metric checks")[1]
    yaml_text = section.split("```yaml\n")[1].split("```")[0]
    checks = parse_file(yaml_text, "dvlite.yaml")[1]
    assert [c.metric for c in checks] == ["metrics.json:accuracy", "metrics.json:eval.loss"]
    assert checks[1].max_rise == Limit(5.0, relative=True)


def test_ci_recipes_gate_on_the_checks_before_pushing() -> None:
    text = (DOCS / "ci.md").read_text()
    for recipe in (text.split("```yaml\n")[1], text.split("```groovy\n")[1]):
        body = recipe.split("```")[0]
        assert "dvlite metrics check --against origin/main" in body
        assert body.index("dvlite metrics check") < body.index("dvlite push")


def test_a_cached_metrics_file_is_read_at_the_baseline_through_its_lock(repo: Path) -> None:
    text = ("stages:\n  m:\n    cmd: cp src.json m.json\n    deps: [src.json]\n"
            "    metrics:\n      - m.json: {cache: true}\n"
            + _checks("{metric: 'm.json:acc', max_drop: 0.1}"))
    gen(repo, {"dvlite.yaml": text, "src.json": '{"acc": 0.9}'})
    assert run("repro").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    assert "m.json" not in git(repo, "ls-files")  # only in the cache, through dvlite.lock
    gen(repo, {"src.json": '{"acc": 0.7}'})
    assert run("repro").exit_code == 0
    code, doc = _check(repo)
    assert code == 1
    assert (doc["checks"][0]["value"], doc["checks"][0]["baseline"]) == (0.7, 0.9)


def test_without_git_only_absolute_bounds_can_be_checked(tmp_path: Path) -> None:
    root = tmp_path / "nogit"
    root.mkdir()
    assert run("init", "--no-scm", cwd=root).exit_code == 0
    gen(root, {"dvlite.yaml": _checks("{metric: 'm.json:acc', min: 0.5}"),
               "m.json": '{"acc": 0.9}'})
    r = run("metrics", "check", "--json", cwd=root)
    assert r.exit_code == 0
    assert json.loads(r.stdout)["checks"][0]["baseline"] is None
    gen(root, {"dvlite.yaml": _checks("{metric: 'm.json:acc', max_drop: 5%}")})
    r = run("metrics", "check", cwd=root)
    assert r.exit_code == 2
    assert "--no-scm" in r.stderr


def test_stage_add_to_a_file_with_only_checks_keeps_them(repo: Path) -> None:
    gen(repo, {"data.csv": "a\n", "dvlite.yaml": _checks("{metric: 'm.json:acc', min: 0.5}")})
    assert run("stage", "add", "-n", "a", "-d", "data.csv", "-o", "a.txt",
               "cp data.csv a.txt").exit_code == 0
    stages, checks = parse_file((repo / "dvlite.yaml").read_text(), "dvlite.yaml")
    assert [s.name for s in stages] == ["a"]
    assert [(c.metric, c.min) for c in checks] == [("m.json:acc", 0.5)]
