"""A refused connection or a TLS handshake against a plain-HTTP port is not transient
(H13): one attempt and one clear error, not five backed-off retries. Attempts are
counted, never timed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.helpers import gen, run
from tests.remote.conftest import configure
from tests.remote.s3fixtures import FAKE_ENV

pytestmark = pytest.mark.s3

RETRIES = 5  # the default: nothing is retried anyway


@pytest.fixture
def tracked(repo, monkeypatch: pytest.MonkeyPatch):
    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    gen(repo, {"m.bin": b"model", "d": {"a.txt": "a\n"}})
    assert run("add", "m.bin", "d").exit_code == 0
    return repo


def _one_error(stderr: str) -> str:
    lines = stderr.splitlines()
    assert "Traceback" not in stderr
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_refused_connection_is_one_attempt(tracked, monkeypatch: pytest.MonkeyPatch) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: every connect is refused
    attempts: list[object] = []
    connect = socket.socket.connect

    def counting(self: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and address[1] == port:
            attempts.append(address)
        connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", counting)
    configure("origin", "s3://dvlite-bucket/store",
              {"endpoint_url": f"http://127.0.0.1:{port}", "retries": RETRIES})
    r = run("push")
    assert r.exit_code == 1
    assert _one_error(r.stderr).startswith("error: cannot reach remote 'origin'")
    assert len(attempts) == 1


@pytest.fixture
def plain_http() -> Iterator[tuple[int, list[socket.socket]]]:
    """A listening port that answers anything with a plain-HTTP 400 (what an https
    client meets on an http server); yields the port and the connections accepted."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            try:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        server.close()
        thread.join(10)


def test_https_to_a_plain_http_port_is_one_attempt(tracked, plain_http) -> None:
    port, accepted = plain_http
    configure("origin", "s3://dvlite-bucket/store",
              {"endpoint_url": f"https://127.0.0.1:{port}", "retries": RETRIES})
    for args in (("push",), ("status", "--remote"), ("gc", "--remote", "--yes", "--now")):
        before = len(accepted)
        r = run(*args)
        assert r.exit_code == 1, args
        error = _one_error(r.stderr)
        assert error.startswith("error: cannot reach remote 'origin'") and "SSL" in error
        assert "hint: check endpoint_url: https:// to a plain-HTTP server" in r.stderr
        assert len(accepted) - before == 1, args
