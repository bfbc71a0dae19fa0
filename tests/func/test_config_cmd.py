"""`dvlite config`: read, write, --local, --unset, secrets only in config.local."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import gen, run


def test_read_default_and_write(repo: Path) -> None:
    assert run("config", "core.autostage").stdout == "true\n"
    assert run("config", "core.lock_timeout", "3").exit_code == 0
    assert run("config", "core.lock_timeout").stdout == "3.0\n"
    assert "lock_timeout = 3.0" in (repo / ".dvlite" / "config").read_text()


def test_local_overrides_and_unset(repo: Path) -> None:
    assert run("config", "core.remote", "shared").exit_code == 0
    assert run("config", "--local", "core.remote", "mine").exit_code == 0
    assert run("config", "core.remote").stdout == "mine\n"
    assert "mine" in (repo / ".dvlite" / "config.local").read_text()
    assert run("config", "--local", "--unset", "core.remote").exit_code == 0
    assert run("config", "core.remote").stdout == "shared\n"
    assert run("config", "--unset", "core.remote").exit_code == 0
    r = run("config", "core.remote")
    assert r.exit_code == 1 and r.stderr == "error: 'core.remote' is not set\n"


def test_secrets_only_local(repo: Path) -> None:
    r = run("config", "remote.s3.secret_access_key", "SeCrEt")
    assert r.exit_code == 1 and "--local" in r.stderr
    assert "SeCrEt" not in (repo / ".dvlite" / "config").read_text()
    assert run("config", "--local", "remote.s3.secret_access_key", "SeCrEt").exit_code == 0
    assert "SeCrEt" in (repo / ".dvlite" / "config.local").read_text()
    assert (repo / ".dvlite" / "config.local").exists()
    from tests.helpers import git

    assert git(repo, "check-ignore", ".dvlite/config.local").strip() == ".dvlite/config.local"


def test_bad_key_and_value(repo: Path) -> None:
    r = run("config", "core.nope", "1")
    assert r.exit_code == 1 and "unknown config key 'core.nope'" in r.stderr and "hint:" in r.stderr
    r = run("config", "core.autostage", "maybe")
    assert r.exit_code == 1 and "expects true or false" in r.stderr
    r = run("config", "--unset", "core.remote", "x")
    assert r.exit_code == 2
    r = run("config", "--unset", "core.nope")
    assert r.exit_code == 1 and r.stderr == "error: 'core.nope' is not set in config\n"
    r = run("config", "--local", "--unset", "core.remote")
    assert r.exit_code == 1 and "not set in config.local" in r.stderr


def test_malformed_config_file(repo: Path) -> None:
    (repo / ".dvlite" / "config").write_text("[core\n")
    r = run("status")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "invalid TOML" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_lock_timeout_in_config_file_is_one_error_line(repo: Path) -> None:
    config = repo / ".dvlite" / "config"
    config.write_text(config.read_text() + 'lock_timeout = "soon"\n')
    gen(repo, {"f.txt": "x"})
    r = run("add", "f.txt")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0].startswith("error: ")
    assert "core.lock_timeout must be a number" in r.stderr
    assert not (repo / "f.txt.dvl").exists()
