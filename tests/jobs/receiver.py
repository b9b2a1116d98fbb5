"""A webhook receiver for tests: a real HTTP server on a loopback port that records every POST
and answers the statuses it is told to, in order (then 200), and a verifier written the way a
receiver would write one, from docs/webhooks.md alone."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.media.fakes import serving

TOLERANCE_S = 300


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic()
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str = "/hook") -> str:
        return self.base + path

    def answer(self, request: Received) -> int:
        with self._arrived:
            self.received.append(request)
            self._arrived.notify_all()
            return self.statuses.pop(0) if self.statuses else 200

    def wait_for(self, count: int, *, timeout: float = 60.0) -> list[Received]:
        """The first ``count`` requests, once they have all arrived."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            assert arrived, f"{len(self.received)} of {count} requests arrived in {timeout} s"
            return self.received[:count]

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        with serving(self._server):
            yield self


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = Received(time.monotonic(), self.path, dict(self.headers.items()), body)
            self.send_response(receiver.answer(request))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def verify(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The event, if the signature is the secret's HMAC of "<t>.<body>" and t is recent;
    AssertionError otherwise."""
    fields = dict(part.split("=", 1) for part in headers["X-Timeside-Signature"].split(","))
    timestamp = int(fields["t"])
    assert abs(time.time() - timestamp) <= TOLERANCE_S, "stale timestamp"
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"]), "bad signature"
    event = json.loads(body)
    assert headers["X-Timeside-Event"] == event["event"]
    assert headers["X-Timeside-Delivery"] == event["id"]
    return event
