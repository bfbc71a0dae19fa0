"""SPEC promises that no other test holds on its own: -q and --json on every command,
repeatable options, every command from a subfolder, validation and config errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers import check_repo, gen, git, read_pointer, run, snapshot

PIPELINE = """\
stages:
  train:
    cmd: python train.py
    deps: [data]
    params: [lr]
    outs: [model.txt]
    metrics: [scores.json]
"""

TRAIN = """\
import json
lr = float(open("params.yaml").read().split(":")[1])
open("model.txt", "w").write("m")
json.dump({"acc": lr}, open("scores.json", "w"))
"""


def _files(repo: Path) -> dict[str, bytes | str]:
    """Every file but the state db (which reading commands may update)."""
    return {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/state")}


def _world(repo: Path, tmp_path: Path) -> Path:
    """Tracked data, a default folder remote, a pipeline with params and metrics, committed."""
    gen(repo, {"data": {"a.txt": "alpha", "b.txt": "beta"}, "params.yaml": "lr: 0.25\n",
               "dvlite.yaml": PIPELINE, "train.py": TRAIN})
    store = tmp_path / "store"
    assert run("remote", "add", "origin", str(store), "--default").exit_code == 0
    assert run("add", "data").exit_code == 0
    assert run("repro").exit_code == 0, run("repro").stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    return store


def test_quiet_prints_nothing_on_stdout_for_every_command(repo: Path, tmp_path: Path) -> None:
    _world(repo, tmp_path)
    gen(repo, {"extra.bin": b"x" * 100})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    commands: list[tuple[str, ...]] = [
        ("init",), ("add", "extra.bin"), ("status",), ("status", "--remote"),
        ("checkout",), ("diff",), ("ls",), ("fsck",), ("push",), ("fsck", "--remote"),
        ("fetch",), ("pull",), ("gc", "--dry-run"), ("gc",), ("gc", "--remote", "--yes"),
        ("remote", "add", "other", str(tmp_path / "other")), ("remote", "list"),
        ("remote", "modify", "other", "region", "x"), ("remote", "default", "origin"),
        ("remote", "remove", "other"), ("config", "core.remote"),
        ("config", "core.autostage", "true"), ("install",), ("uninstall",),
        ("stage", "add", "-n", "echo", "-o", "echo.txt", "echo hi > echo.txt"),
        ("repro",), ("repro", "--dry-run"), ("dag",), ("dag", "--mermaid"), ("dag", "--dot"),
        ("params", "diff"), ("metrics", "show"), ("metrics", "show", "--all-commits"),
        ("metrics", "diff"), ("move", "extra.bin", "moved.bin"), ("remove", "moved.bin"),
    ]
    for args in commands:
        for extra in ((), ("--json",)) if args[0] not in {"init", "move", "remove", "config",
                                                          "stage", "install", "uninstall"} \
                and args[:2] not in {("remote", "add"), ("remote", "modify"),
                                     ("remote", "default"), ("remote", "remove")} else ((),):
            if extra and args[0] == "dag" and len(args) > 1:
                continue
            r = run("-q", *args, *extra)
            assert (r.exit_code, r.stdout) == (0, ""), (args, extra, r.stdout, r.stderr)
    r = run("-q", "get", str(repo), "data", cwd=elsewhere)
    assert (r.exit_code, r.stdout) == (0, "")
    assert (elsewhere / "data" / "a.txt").read_text() == "alpha"
    check_repo(repo)


def test_json_of_every_reporting_command_parses(repo: Path, tmp_path: Path) -> None:
    _world(repo, tmp_path)
    docs = {}
    for args in (("push",), ("fetch",), ("pull",), ("status",), ("status", "--remote"),
                 ("checkout",), ("diff",), ("ls",), ("fsck",), ("fsck", "--remote"),
                 ("gc", "--dry-run"), ("remote", "list"), ("repro",), ("dag",),
                 ("params", "diff"), ("metrics", "show"), ("metrics", "diff"),
                 ("install",), ("uninstall",)):
        r = run(*args, "--json")
        assert r.exit_code == 0, (args, r.stderr)
        docs[args] = json.loads(r.stdout)
    for verb in ("push", "fetch", "pull"):  # counts, bytes, failures
        doc = docs[(verb,)]
        assert {"transferred", "bytes", "failed", "failures"} <= doc.keys(), (verb, doc)
        assert doc["failed"] == 0 and doc["failures"] == []
    # 2 files + manifest + model.txt + scores.json (metrics are cached for the run cache)
    assert docs[("push",)]["transferred"] == 5, docs[("push",)]
    assert docs[("push",)]["bytes"] > 0
    r = run("add", "--json", "data")
    assert json.loads(r.stdout)[0]["path"] == "data"


def test_push_failures_are_counted_in_json(repo: Path, tmp_path: Path) -> None:
    _world(repo, tmp_path)
    obj = read_pointer(repo / "data.dvl").oid
    cache_obj = repo / ".dvlite" / "cache" / obj.algo / obj.hex[:2] / obj.hex
    cache_obj.chmod(0o644)
    cache_obj.unlink()  # the folder manifest is gone: its files can't be pushed whole
    r = run("push", "--json")
    assert r.exit_code != 0
    doc = json.loads(r.stdout) if r.stdout else None
    assert r.stderr.startswith("error: ") and obj.hex in r.stderr
    if doc is not None:
        assert doc["failed"] >= 1


def test_repeatable_rev_given_once_per_value(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run("remote", "add", "origin", str(store), "--default").exit_code == 0
    revs = []
    for content in ("one", "two", "three"):
        gen(repo, {"m.bin": content})
        assert run("add", "m.bin").exit_code == 0
        git(repo, "commit", "-qm", content)
        revs.append(git(repo, "rev-parse", "HEAD").strip())
    r = run("push", "--rev", revs[0], "--rev", revs[1], "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["transferred"] == 2  # one and two, not three
    shutil.rmtree(repo / ".dvlite" / "cache")
    r = run("fetch", "--rev", revs[0], "--rev", revs[1], "--json")
    assert json.loads(r.stdout)["transferred"] == 2
    git(repo, "checkout", "-q", revs[0])
    assert run("checkout", "--force").exit_code == 0
    assert (repo / "m.bin").read_text() == "one"
    gen(repo, {"a": "A", "b": "B"})
    r = run("stage", "add", "-n", "s", "-d", "a", "-d", "b", "-o", "x", "-o", "y", "cat a b")
    assert r.exit_code == 0, r.stderr
    text = (repo / "dvlite.yaml").read_text()
    assert "- a" in text and "- b" in text and "- x" in text and "- y" in text


def test_remote_and_pipeline_commands_from_a_subfolder(repo: Path, tmp_path: Path) -> None:
    store = _world(repo, tmp_path)
    sub = repo / "deep" / "er"
    sub.mkdir(parents=True)
    for args in (("push",), ("fetch",), ("status", "--remote"), ("fsck", "--remote"),
                 ("gc", "--dry-run"), ("remote", "list"), ("repro",), ("dag",),
                 ("params", "diff"), ("metrics", "show"), ("metrics", "diff"),
                 ("install",), ("uninstall",)):
        r = run(*args, cwd=sub)
        assert r.exit_code == 0, (args, r.stderr)
    assert list(store.rglob("*/*/*"))
    shutil.rmtree(repo / "data")
    assert run("pull", "../../data/a.txt", cwd=sub).exit_code == 0
    assert (repo / "data" / "a.txt").read_text() == "alpha"
    assert not (repo / "data" / "b.txt").exists()
    # like `dvc stage add`: the stage goes to the dvlite.yaml of the folder it is added
    # in, its paths relative to it, and it runs there
    r = run("stage", "add", "-n", "sub", "-d", "../../params.yaml", "-o", "o.txt",
            "cat ../../params.yaml > o.txt", cwd=sub)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Added stage 'sub' to deep/er/dvlite.yaml")
    assert "sub:" not in (repo / "dvlite.yaml").read_text()
    assert run("repro", "sub", cwd=sub).exit_code == 0
    assert (sub / "o.txt").read_text() == "lr: 0.25\n"
    assert (sub / ".gitignore").read_text() == "/o.txt\n"
    assert "deep/er/o.txt" in run("dag", "--mermaid").stdout or "sub" in run("dag").stdout
    r = run("stage", "add", "-n", "sub", "-o", "p.txt", "echo", cwd=repo)
    assert r.exit_code == 1 and "already exists (deep/er/dvlite.yaml" in r.stderr, r.stderr


def test_init_again_changes_nothing_and_exits_0(repo: Path) -> None:
    before = snapshot(repo)
    index = (repo / ".git" / "index").read_bytes()
    r = run("init")
    assert r.exit_code == 0 and "already initialised" in r.stdout
    assert snapshot(repo) == before
    assert (repo / ".git" / "index").read_bytes() == index


def test_unknown_remote_is_one_error_line(repo: Path, tmp_path: Path) -> None:
    _world(repo, tmp_path)
    for args in (("push", "-r", "nope"), ("fetch", "-r", "nope"), ("pull", "-r", "nope"),
                 ("status", "--remote", "-r", "nope"), ("fsck", "--remote", "-r", "nope"),
                 ("gc", "--remote", "-r", "nope", "--yes"), ("remote", "remove", "nope"),
                 ("remote", "default", "nope"), ("remote", "modify", "nope", "region", "x")):
        r = run(*args)
        assert r.exit_code != 0, args
        lines = r.stderr.strip().splitlines()
        assert lines[0].startswith("error: ") and "nope" in lines[0], (args, r.stderr)
        assert all(x.startswith(("error: ", "hint: ")) for x in lines), (args, r.stderr)


def test_malformed_yaml_and_toml_inputs_are_one_error_line(repo: Path, tmp_path: Path) -> None:
    _world(repo, tmp_path)
    cases = [
        (".dvlite/config.local", "[core\nremote = 1\n", ("status",)),
        (".dvlite/config", "core = [\n", ("push",)),
        ("dvlite.yaml", "stages:\n  train: [unclosed\n", ("repro",)),
        ("dvlite.yaml", "stages:\n  train: [unclosed\n", ("dag",)),
        ("params.yaml", "lr: [1,\n", ("repro",)),
        ("params.yaml", "lr: [1,\n", ("params", "diff")),
        ("data.dvl", "path: data\ntype: [\n", ("status",)),
    ]
    for name, bad, args in cases:
        path = repo / name
        good = path.read_bytes() if path.exists() else None
        path.write_text(bad)
        try:
            r = run(*args)
        finally:
            if good is None:
                path.unlink()
            else:
                path.write_bytes(good)
        assert r.exit_code == 1, (name, args, r.exit_code, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert lines[0].startswith("error: "), (name, args, r.stderr)
        assert "Traceback" not in r.stderr and "unexpected" not in r.stderr, (name, r.stderr)
        assert Path(name).name in r.stderr, (name, args, r.stderr)


def test_unreadable_metrics_file_is_named_on_stderr(repo: Path, tmp_path: Path) -> None:
    _world(repo, tmp_path)
    (repo / "scores.json").write_text("{not json")
    for args in (("metrics", "show"), ("metrics", "diff"), ("metrics", "show", "--json")):
        r = run(*args)
        assert r.exit_code == 0, r.stderr
        assert r.stderr.startswith("warning: workspace: scores.json"), (args, r.stderr)
    r = run("metrics", "show", "--json")
    assert json.loads(r.stdout) == {"workspace": {}}


def test_pipeline_validation_names_file_and_stage(repo: Path) -> None:
    gen(repo, {"sub": {"dvlite.yaml": "stages:\n  bad:\n    cmd: echo\n    outz: [x]\n"}})
    r = run("repro")
    assert r.exit_code == 1
    assert "sub/dvlite.yaml" in r.stderr and "bad" in r.stderr and "outz" in r.stderr
    gen(repo, {"sub": {"dvlite.yaml": "stages:\n  up:\n    cmd: echo\n    outs: [../../x]\n"}})
    r = run("repro")
    assert r.exit_code == 1 and "sub/dvlite.yaml" in r.stderr and "up" in r.stderr, r.stderr
    (repo / "sub" / "dvlite.yaml").unlink()
    gen(repo, {"dvlite.yaml": "stages:\n  a:\n    cmd: echo\n    outs: [o]\n"
                              "  b:\n    cmd: echo\n    outs: [o]\n"})
    r = run("stage", "add", "-n", "c", "-o", "p", "echo")
    assert r.exit_code == 1 and "dvlite.yaml" in r.stderr and "o" in r.stderr, r.stderr
    assert "c:" not in (repo / "dvlite.yaml").read_text()


def test_status_malformed_or_unsafe_pointer_is_an_error(repo: Path) -> None:
    gen(repo, {"f": "1"})
    assert run("add", "f").exit_code == 0
    ptr = (repo / "f.dvl").read_text()
    (repo / "f.dvl").write_text(ptr.replace("path: f", "path: ../../etc/passwd"))
    for args in (("status",), ("status", "--exit-code"), ("status", "--json")):
        r = run(*args)
        assert r.exit_code == 1 and r.stderr.startswith("error: ") and "f.dvl" in r.stderr, (
            args, r.stderr)
        assert r.stdout == "", (args, r.stdout)


def test_remote_secrets_only_with_local(repo: Path) -> None:
    assert run("remote", "add", "s3r", "s3://bucket/p").exit_code == 0
    config = (repo / ".dvlite" / "config").read_text()
    for key in ("secret_access_key", "access_key_id", "session_token"):
        r = run("remote", "modify", "s3r", key, "SEKRIT")
        assert r.exit_code != 0 and r.stderr.startswith("error: ") and "--local" in r.stderr, (
            key, r.stderr)
        assert (repo / ".dvlite" / "config").read_text() == config
        assert run("remote", "modify", "s3r", key, "SEKRIT", "--local").exit_code == 0
    assert "SEKRIT" not in (repo / ".dvlite" / "config").read_text()
    assert "SEKRIT" in (repo / ".dvlite" / "config.local").read_text()
    assert "config.local" not in git(repo, "ls-files")
    assert "SEKRIT" not in run("remote", "list", "--json").stdout


def test_gc_dry_run_deletes_nothing_and_lists_hash_and_size(repo: Path) -> None:
    gen(repo, {"f": "version one"})
    assert run("add", "f").exit_code == 0
    old = read_pointer(repo / "f.dvl").oid
    gen(repo, {"f": "version two!"})
    assert run("add", "f").exit_code == 0
    git(repo, "commit", "-qm", "f")
    def files() -> dict[str, bytes | str]:
        return {k: v for k, v in snapshot(repo).items() if not k.startswith(".dvlite/state")}

    before = files()
    r = run("gc", "--dry-run")
    assert r.exit_code == 0
    assert old.hex in r.stdout and "11" in r.stdout.replace(old.hex, "")
    assert files() == before
    doc = json.loads(run("gc", "--dry-run", "--json").stdout)
    assert files() == before
    assert old.hex in json.dumps(doc)


def test_a_later_cache_layout_is_refused_before_anything_is_read(repo: Path) -> None:
    gen(repo, {"f": "1"})
    assert run("add", "f").exit_code == 0
    config = repo / ".dvlite" / "config"
    config.write_text(config.read_text().replace("layout = 1", "layout = 2"))
    before = _files(repo)
    for args in (("status",), ("add", "f"), ("checkout", "--force"), ("fsck",), ("gc",)):
        r = run(*args)
        assert r.exit_code == 1, (args, r.stderr)
        assert r.stderr.startswith("error: this repository's cache uses layout version 2")
    assert _files(repo) == before
    assert run("config", "core.layout", "1").exit_code == 0  # the way back stays open
    assert run("status", "--exit-code").exit_code == 0


def test_sha256_repository_end_to_end(repo: Path, tmp_path: Path) -> None:
    assert run("config", "core.hash", "sha256").exit_code == 0
    gen(repo, {"d": {"a": "alpha", "b": "beta"}, "f": "eff"})
    assert run("add", "d", "f").exit_code == 0
    ptr = read_pointer(repo / "f.dvl")
    assert str(ptr.oid).startswith("sha256:") and len(ptr.oid.hex) == 64
    import hashlib

    assert ptr.oid.hex == hashlib.sha256(b"eff").hexdigest()
    assert (repo / ".dvlite" / "cache" / "sha256" / ptr.oid.hex[:2] / ptr.oid.hex).exists()
    assert run("remote", "add", "o", str(tmp_path / "store"), "--default").exit_code == 0
    assert run("push").exit_code == 0
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "d")
    assert run("pull").exit_code == 0
    assert (repo / "d" / "b").read_text() == "beta"
    assert run("status", "--exit-code").exit_code == 0
    assert run("fsck").exit_code == 0
    # pointers written before a hash change keep working, and re-adding switches them
    assert run("config", "core.hash", "xxh128").exit_code == 0
    assert run("status", "--exit-code").exit_code == 0
    gen(repo, {"f": "new"})
    assert run("add", "f").exit_code == 0
    assert str(read_pointer(repo / "f.dvl").oid).startswith("xxh128:")
    check_repo(repo)


def test_blake3_without_its_package_is_one_clear_error(repo: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("blake3") is not None:
        return  # installed here: the sha256 test covers the mechanism
    r = run("config", "core.hash", "blake3")
    assert r.exit_code == 1 and r.stderr.startswith("error: core.hash = blake3 needs")
    config = repo / ".dvlite" / "config"
    config.write_text(config.read_text().replace('hash = "xxh128"', 'hash = "blake3"'))
    gen(repo, {"f": "1"})
    r = run("add", "f")
    assert r.exit_code == 1 and r.stderr.startswith("error: core.hash = blake3 needs")
    assert not (repo / "f.dvl").exists()


def test_global_flags_also_after_the_command_name(repo: Path, tmp_path: Path) -> None:
    """`dvlite push -q` as DVC users type it, as well as `dvlite -q push`."""
    _world(repo, tmp_path)
    for args in (("status", "-q"), ("push", "--quiet"), ("remote", "list", "-q"),
                 ("metrics", "show", "-q", "--json"), ("gc", "-q", "--dry-run")):
        r = run(*args)
        assert (r.exit_code, r.stdout) == (0, ""), (args, r.stderr)
    assert run("remote", "list").stdout.startswith("origin")
    r = run("status", "-v")
    assert r.exit_code == 0
    # a stage's own command line keeps its flags, before or after `--`
    r = run("stage", "add", "-n", "v", "-o", "v.txt", "--", "python", "-q", "-v", "x.py")
    assert r.exit_code == 0, r.stderr
    assert "cmd: python -q -v x.py" in (repo / "dvlite.yaml").read_text()
    r = run("config", "core.remote", "-q")
    assert (r.exit_code, r.stdout) == (0, "")


def test_hoist_global_flags_unit() -> None:
    from dvlite.cli.app import hoist_global_flags

    assert hoist_global_flags(["push", "-q", "-r", "x"]) == ["-q", "push", "-r", "x"]
    assert hoist_global_flags(["-v", "remote", "list", "-q"]) == [
        "-q", "-v", "remote", "list"]
    assert hoist_global_flags(["add", "--", "-q"]) == ["add", "--", "-q"]
    assert hoist_global_flags(["stage", "add", "-n", "s", "cmd", "-v"]) == [
        "stage", "add", "-n", "s", "cmd", "-v"]
    assert hoist_global_flags(["--version"]) == ["--version"]


def test_config_refuses_values_later_commands_would_fail_on(repo: Path) -> None:
    before = _files(repo)
    for key, value, says in (("core.hash", "md5", "unknown hash algorithm 'md5'"),
                             ("cache.type", "bogus", "invalid cache.type 'bogus'"),
                             ("gc.grace", "soon", "invalid duration 'soon'"),
                             ("core.lock_timeout", "-- -1", "core.lock_timeout expects a number"),
                             ("remote.o.jobs", "0", "remote.o.jobs expects a number >= 1")):
        r = run("config", key, *value.split())
        assert r.exit_code == 1 and r.stderr.startswith("error: ") and says in r.stderr, (
            key, r.stderr)
    assert _files(repo) == before
    for key, value in (("core.hash", "sha256"), ("cache.type", "hardlink,copy"),
                       ("gc.grace", "12h"), ("core.lock_timeout", "0"),
                       ("remote.o.url", "/tmp/o"), ("remote.o.jobs", "4"),
                       ("hooks.strict", "true")):
        assert run("config", key, value).exit_code == 0, key
        assert run("config", key).stdout.strip() == (value if key != "core.lock_timeout"
                                                      else "0.0"), key


def test_dvlite_folder_ignores_everything_but_config_and_gitignore(repo: Path,
                                                                   tmp_path: Path) -> None:
    _world(repo, tmp_path)
    assert run("push").exit_code == 0
    assert run("config", "--local", "core.lock_timeout", "5").exit_code == 0
    assert git(repo, "status", "--porcelain", "--untracked-files=all", ".dvlite") == ""
    inside = sorted(p.relative_to(repo).as_posix() for p in (repo / ".dvlite").iterdir())
    assert {".dvlite/cache", ".dvlite/config.local", ".dvlite/state.db"} <= set(inside)
    assert git(repo, "ls-files", ".dvlite").split() == [".dvlite/.gitignore", ".dvlite/config"]


def test_a_bare_group_shows_its_help_without_an_empty_error(repo: Path) -> None:
    for args in ((), ("remote",), ("stage",), ("params",), ("metrics",)):
        r = run(*args)
        assert r.exit_code == 2, args
        assert "Usage" in r.stdout + r.stderr, args
        assert "error:" not in r.stderr, (args, r.stderr)
    r = run("nosuchcommand")
    assert r.exit_code == 2 and r.stderr.startswith("error: No such command 'nosuchcommand'")


def test_exclusive_options_and_bad_jobs_are_usage_errors(repo: Path) -> None:
    for args in (("gc", "--workspace", "--all-commits"), ("push", "--rev", "HEAD",
                 "--all-commits"), ("fetch", "--rev", "HEAD", "--all-commits"),
                 ("dag", "--mermaid", "--dot"), ("push", "-j", "0"), ("repro", "-j", "0"),
                 ("pull", "-j", "x"), ("config", "--unset", "core.remote", "x")):
        r = run(*args)
        assert r.exit_code == 2 and r.stderr.startswith("error: "), (args, r.stderr)
        assert r.stdout == "", args
    assert run("remote", "add", "o", str(repo.parent / "store"), "--default").exit_code == 0
    r = run("push", "--rev", "nosuchrev")
    assert r.exit_code == 1 and r.stderr.startswith("error: unknown revision 'nosuchrev'")


def test_quiet_exit_code_still_reports_by_status(repo: Path) -> None:
    gen(repo, {"f": "1"})
    assert run("add", "f").exit_code == 0
    (repo / "f").write_text("2")
    assert (run("-q", "status").exit_code, run("-q", "status").stdout) == (0, "")
    r = run("-q", "status", "--exit-code")
    assert (r.exit_code, r.stdout, r.stderr) == (1, "", "")
