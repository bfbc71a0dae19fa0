"""B4 on a remote: a pointer with a bad hash never reaches the remote (RELIABILITY.md 4b).

Every remote command refuses the pointer with one `error:` line before it opens a
connection: the fault proxy in front of moto sees no request at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.func.test_bad_inputs import FIXTURES, POINTER_ERRORS, assert_one_error
from tests.helpers import gen, git, run
from tests.remote.faultproxy import FaultProxy

pytestmark = pytest.mark.s3

B4 = sorted(n for n in POINTER_ERRORS if n.startswith("b4_"))
COMMANDS = [("push",), ("fetch",), ("pull",), ("status", "--remote"), ("fsck", "--remote"),
            ("ls", "--remote")]


@pytest.mark.parametrize("name", B4)
def test_bad_hash_makes_no_remote_request(repo: Path, proxy: FaultProxy, name: str) -> None:
    gen(repo, {"good.bin": "good"})
    assert run("add", "good.bin").exit_code == 0
    git(repo, "commit", "-qm", "good")
    (repo / "data.dvl").write_bytes((FIXTURES / "pointers" / name).read_bytes())
    proxy.reset()
    for args in COMMANDS:
        r = run(*args)
        assert r.exit_code == 1, (args, r.stdout, r.stderr)
        assert_one_error(r.stderr, POINTER_ERRORS[name])
    assert proxy.stats.total == 0
