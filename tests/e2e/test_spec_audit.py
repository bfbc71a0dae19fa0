"""SPEC promises that need a real process: a progress bar only on a terminal, shell
completion from typer, -v tracebacks, errors as one line whatever the command."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import folder_remote_oids, gen, git, read_pointer, run, run_proc

pytestmark = pytest.mark.e2e


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run dvlite with stdout and stderr on a pseudo-terminal, like a user at a shell."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "dvlite", *args], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def _many_files(repo: Path) -> None:
    gen(repo, {"data": {f"f{i:03}.bin": os.urandom(2000) for i in range(50)}})


def test_progress_bar_on_a_terminal_only(repo: Path, tmp_path: Path) -> None:
    _many_files(repo)
    code, shown = _on_a_terminal(["add", "data"], repo)
    assert code == 0, shown
    assert "Adding" in shown and "50/50 files" in shown, shown  # files, bytes, rate, ETA
    assert "/97.7 KiB" in shown and re.search(r"[-\d]:[-\d]{2}:[-\d]{2}", shown), shown
    assert "\x1b[" in shown  # drawn with terminal control codes
    assert "added data" in shown
    # -q: nothing at all on the terminal, bar included
    assert run("remote", "add", "origin", str(tmp_path / "store"), "--default").exit_code == 0
    code, shown = _on_a_terminal(["-q", "push"], repo)
    assert (code, shown) == (0, "")
    # not a terminal: the plain summary line only, no bar, no control codes
    git(repo, "commit", "-qm", "data")
    import shutil

    shutil.rmtree(repo / ".dvlite" / "cache")
    r = run_proc("fetch", cwd=repo)
    assert r.returncode == 0
    assert r.stderr == "" and "\x1b" not in r.stdout and "Fetching" not in r.stdout
    assert r.stdout.startswith("fetched 51 objects")


def test_push_progress_bar_on_a_terminal(repo: Path, tmp_path: Path) -> None:
    _many_files(repo)
    assert run("add", "data").exit_code == 0
    assert run("remote", "add", "origin", str(tmp_path / "store"), "--default").exit_code == 0
    code, shown = _on_a_terminal(["push"], repo)
    assert code == 0, shown
    assert "Pushing" in shown and "\x1b[" in shown, shown


def test_shell_completion_comes_from_typer(repo: Path) -> None:
    r = run_proc("--help", cwd=repo)
    assert "--install-completion" in r.stdout and "--show-completion" in r.stdout
    exe = Path(sys.executable).parent / "dvlite"  # the installed console script
    r = subprocess.run([str(exe), "--show-completion", "bash"], cwd=repo, capture_output=True,
                       text=True, check=False,
                       env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert r.returncode == 0, r.stderr
    assert "complete -o default -F _dvlite_completion dvlite" in r.stdout
    for words, cword, expect in (("dvlite remote mo", "2", ["modify"]),
                                 ("dvlite pu", "1", ["push", "pull"])):
        env = {"_DVLITE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        r = subprocess.run([str(exe)], cwd=repo, env={**os.environ, **env},
                           capture_output=True, text=True, check=False)
        assert r.stdout.split() == expect, (words, r.stdout, r.stderr)


def test_verbose_gives_a_traceback_for_any_error(repo: Path) -> None:
    r = run_proc("push", "-r", "nope", cwd=repo)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    r = run_proc("-v", "push", "-r", "nope", cwd=repo)
    assert r.returncode == 1 and "Traceback" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: ")
    assert run_proc("--verbose", "status", cwd=repo).returncode == 0
    r = run_proc("--quiet", "status", cwd=repo)
    assert (r.returncode, r.stdout) == (0, "")


def test_repro_exits_with_the_failing_stage_code(repo: Path) -> None:
    gen(repo, {"dvlite.yaml": "stages:\n  bad:\n    cmd: exit 7\n    outs: [o]\n"})
    r = run_proc("repro", cwd=repo)
    assert r.returncode == 7, r.stderr
    assert "error: " in r.stderr and "bad" in r.stderr and "Traceback" not in r.stderr
    assert not (repo / "dvlite.lock").exists()


def _read_only(path: Path) -> tuple[list[str], list[str]]:
    """Commands making `path` unwritable and writable again (chattr +i as root)."""
    if os.geteuid() == 0:
        return ["chattr", "+i", str(path)], ["chattr", "-i", str(path)]
    return ["chmod", "555", str(path)], ["chmod", "755", str(path)]


@pytest.mark.parametrize("where", ["remote", "workspace"])
def test_permission_denied_is_one_error_line(repo: Path, tmp_path: Path, where: str) -> None:
    """Guarantee 6 for a folder remote (push) and for a pipeline file (stage add)."""
    gen(repo, {"f.bin": "payload"})
    store = tmp_path / "store"
    store.mkdir()
    assert run("add", "f.bin").exit_code == 0
    assert run("remote", "add", "origin", str(store), "--default").exit_code == 0
    target = store if where == "remote" else repo
    args = ["push"] if where == "remote" else ["stage", "add", "-n", "s", "-o", "o", "echo"]
    lock, unlock = _read_only(target)
    if subprocess.run(lock, capture_output=True, check=False).returncode:
        pytest.skip("cannot make a folder read-only here")
    try:
        r = run_proc(*args, cwd=repo)
    finally:
        subprocess.run(unlock, check=True)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "permission denied" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr, r.stderr
    assert all(x.startswith(("error: ", "hint: ")) for x in lines), r.stderr
    assert where != "remote" or "the cache" not in r.stderr, r.stderr
    assert list(store.iterdir()) == []
    assert not (repo / "dvlite.yaml").exists()


def test_every_writing_command_waits_for_the_lock_then_exits_4(repo: Path,
                                                               tmp_path: Path) -> None:
    """Guarantee 5: commands that rewrite pointers, the lockfile or the state (and gc,
    which must never delete an object a running add has just stored) take the lock."""
    from tests.e2e.test_lock_errors import HOLD, start, wait_for_holder

    gen(repo, {"a.bin": "a", "b.bin": "b", "dvlite.yaml": "stages:\n  s:\n    cmd: echo\n"})
    assert run("add", "b.bin").exit_code == 0
    assert run("remote", "add", "origin", str(tmp_path / "store"), "--default").exit_code == 0
    assert run("push").exit_code == 0
    git(repo, "add", "dvlite.yaml")
    git(repo, "commit", "-qm", "b")
    assert run("config", "--local", "core.lock_timeout", "0.2").exit_code == 0
    holder = start(repo, "add", "a.bin", env=HOLD)
    try:
        wait_for_holder(repo, holder)
        commands = [("add", "b.bin"), ("checkout", "--force"), ("pull",), ("remove", "b.bin"),
                    ("move", "b.bin", "c.bin"), ("repro",), ("gc",),
                    ("stage", "add", "-n", "t", "-o", "o", "echo")]
        waiters = [start(repo, *args) for args in commands]  # all wait at once: faster
        for args, proc in zip(commands, waiters, strict=True):
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 4, (args, proc.returncode, err)
            assert f"(pid {holder.pid}: dvlite add a.bin)" in err.splitlines()[0], args
    finally:
        holder.kill()
        holder.communicate()
    assert (repo / "b.bin.dvl").exists() and not (repo / "c.bin.dvl").exists()
    assert "  t:" not in (repo / "dvlite.yaml").read_text()


@pytest.fixture
def small_fs(tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.e2e.test_disk import small_fs as fixture

    yield from fixture.__wrapped__(tmp_path)  # type: ignore[attr-defined]


@pytest.mark.root
@pytest.mark.parametrize("where", ["remote", "cache"])
def test_disk_full_on_push_and_fetch_is_one_error_line(repo: Path, tmp_path: Path,
                                                       small_fs: Path, where: str) -> None:
    """Guarantee 6, disk full: a folder remote that fills up during push; a cache that
    fills up during fetch. No partial object is left where the next run would trust it."""
    gen(repo, {"big.bin": os.urandom(3 << 20), "small.txt": "small"})
    assert run("add", "big.bin", "small.txt").exit_code == 0
    store = small_fs if where == "remote" else tmp_path / "store"
    assert run("remote", "add", "origin", str(store), "--default").exit_code == 0
    env = None
    if where == "cache":
        assert run("push").exit_code == 0
        env = {"DVLITE_CACHE_DIR": str(small_fs)}
    r = run_proc("push" if where == "remote" else "fetch", cwd=repo, env=env)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "no space left" in r.stderr, r.stderr
    if where == "remote":  # names the remote, never blames the user's cache
        assert lines[0].startswith("error: no space left while writing to the remote "
                                   "folder (remote 'origin')"), r.stderr
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr, r.stderr
    assert all(x.startswith(("error: ", "hint: ")) for x in lines), r.stderr
    big = read_pointer(repo / "big.bin.dvl").oid
    for leftover in small_fs.rglob("*"):
        assert big.hex not in leftover.name, leftover  # never a partial object under its name


def test_ctrl_c_during_push_exits_130_and_a_rerun_finishes(repo: Path, tmp_path: Path) -> None:
    import signal
    import time

    gen(repo, {"data": {f"f{i}": f"content {i}" for i in range(6)}})
    assert run("add", "data").exit_code == 0
    store = tmp_path / "store"
    assert run("remote", "add", "origin", str(store), "--default").exit_code == 0
    env = {**os.environ, "DVLITE_FAULTPOINT": "push.after_object",
           "DVLITE_FAULTPOINT_SLEEP": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "dvlite", "push"], cwd=repo, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not folder_remote_oids(store):  # poll until the first objects have landed
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, err) == (130, "error: interrupted\n"), (out, err)
    # the uploads in flight finished (whole objects), nothing new was started after ^C
    assert not [p for p in store.rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert len(folder_remote_oids(store)) < 7  # 6 files + manifest
    r = run_proc("push", "--json", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert run("fsck", "--remote").exit_code == 0
