"""A stdlib HTTP proxy in front of moto that injects faults by rule and counts requests.

Rules pick requests by method and path regex and fire on the `first` N matches, `every`
N-th match, or `always`. Actions: answer an HTTP status with an S3 error body, or reset
the connection, or damage bytes in flight: `corrupt` flips a byte of the response (and
drops its checksum headers, so only a hash can tell), `corrupt_request` flips a byte of
the request body before the server stores it (the client's checksum header kept, as a
server that does not check it would). `stats` counts requests per method and faults
fired, so tests can assert that retries are bounded and that a no-op command asked
(almost) nothing.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_CODES = {403: "AccessDenied", 500: "InternalError", 501: "NotImplemented",
          503: "SlowDown"}
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


@dataclass
class Rule:
    # "status", "reset", "hold" (wait for `release`, then forward), "lost_ack"
    # (forward, so the server applies it, then answer `status` anyway), "corrupt" or
    # "corrupt_request" (forward with one byte of the response or request flipped), or
    # "drop_response" (forward, then close the connection without an answer)
    action: str
    method: str = ".*"
    path: str = ".*"
    status: int = 500
    first: int | None = None
    every: int | None = None
    header: str | None = None  # only requests carrying this header (any value)
    seen: int = 0
    fired: int = 0
    hit: threading.Event = field(default_factory=threading.Event)  # set when it fires
    release: threading.Event = field(default_factory=threading.Event)
    # set once a held request has been forwarded and answered (or its client is gone),
    # so a test can wait for a dead client's last request before it goes on
    done: threading.Event = field(default_factory=threading.Event)

    def matches(self, method: str, path: str, headers: frozenset[str] = frozenset()) -> bool:
        return bool(re.fullmatch(self.method, method) and re.search(self.path, path)
                    and (self.header is None or self.header.lower() in headers))

    def fires(self) -> bool:
        self.seen += 1
        if self.first is not None:
            hit = self.seen <= self.first
        elif self.every is not None:
            hit = self.seen % self.every == 0
        else:
            hit = True
        self.fired += hit
        if hit:
            self.hit.set()
        return hit


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    faults: int = 0

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.rules: list[Rule] = []
        self.stats = Stats()
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.proxy = self
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, rule: Rule) -> Rule:
        with self.lock:
            self.rules.append(rule)
        return rule

    def reset(self) -> None:
        with self.lock:
            self.rules.clear()
            self.stats = Stats()

    def decide(self, method: str, path: str,
               headers: frozenset[str] = frozenset()) -> Rule | None:
        with self.lock:
            self.stats.requests[method] += 1
            for rule in self.rules:
                if rule.matches(method, path, headers) and rule.fires():
                    self.stats.faults += 1
                    return rule
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *_: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def _body(self) -> bytes | None:
        """The request body, or None when the client went away before sending it all
        (forwarding a truncated body would make the server answer for a dead client)."""
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            size = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(size)
            return body if len(body) == size else None
        parts = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            parts.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(parts)

    def _serve(self) -> None:
        body = self._body()
        if body is None:
            self.close_connection = True
            return
        rule = self.server.proxy.decide(self.command, self.path,
                                        frozenset(k.lower() for k in self.headers))
        if rule is not None and rule.action == "hold":
            rule.release.wait(60)
            try:
                self._forward(body)
            except OSError:  # the held request's client was killed meanwhile
                self.close_connection = True
            finally:
                rule.done.set()
            return
        if rule is None or rule.action in ("corrupt", "corrupt_request"):
            damage = rule.action if rule is not None else ""
            self._forward(_flip(body) if damage == "corrupt_request" else body,
                          corrupt=damage == "corrupt")
            return
        if rule.action in ("lost_ack", "drop_response"):
            self._forward(body, reply=False)
        if rule.action == "drop_response":  # a plain close: no answer, no reset
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if rule.action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        else:
            code = _CODES.get(rule.status, "InternalError")
            err = (f"<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>injected"
                   f"</Message></Error>").encode()
            self.send_response(rule.status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(err)))
            self.end_headers()
            self.wfile.write(err)

    def _forward(self, body: bytes, reply: bool = True, corrupt: bool = False) -> None:
        conn = http.client.HTTPConnection(*self.server.proxy.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if corrupt:
            data = _flip(data)
        if not reply:
            conn.close()
            return
        head = self.command == "HEAD"
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if corrupt and k.lower().startswith("x-amz-checksum"):
                continue
            if k.lower() not in _HOP and (head or k.lower() != "content-length"):
                self.send_header(k, v)
        if not head:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)
        conn.close()


def _flip(data: bytes) -> bytes:
    """`data` with its middle byte inverted (nothing to damage in an empty body)."""
    if not data:
        return data
    mid = len(data) // 2
    return data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]
