from pathlib import Path

from tests.helpers import check_repo, gen, read_pointer, run


def test_add_status_checkout_roundtrip(repo: Path) -> None:
    gen(repo, {"data": {"a.txt": "a", "sub": {"b.bin": b"\x00\x01"}}, "model.bin": "m"})
    r = run("add", "data", "model.bin")
    assert r.exit_code == 0, r.stderr
    assert read_pointer(repo / "data.dvl").nfiles == 2
    check_repo(repo)
    (repo / "model.bin").unlink()
    (repo / "data" / "sub" / "b.bin").unlink()
    r = run("status", "--exit-code")
    assert r.exit_code == 1
    assert "missing:      model.bin" in r.stdout
    assert "data/sub/b.bin" in r.stdout
    assert run("checkout").exit_code == 0
    assert (repo / "data" / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert run("status", "--exit-code").exit_code == 0
    check_repo(repo)
