"""Receiving CCV Shop webhooks: a small HTTP server that keeps what arrives and checks its signature.

A koppeling registers ``{event, address}`` and keeps the ``key`` the shop returns; each delivery is a POST
of JSON to the address. [CHOSEN, as the simulator does it; the public record says only that the key "will
be used to calculate a hash"]: header ``x-hash`` = lowercase hex HMAC-SHA512 of the body with that key.

``WebhookReceiver`` is what tests and scenarios use (and a koppeling may): it answers 200, or a configured
number of failures first (500), and records every request with whether its hash was right.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

MAX_BODY = 1024 * 1024


def verify_webhook(key: str, body: bytes, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given, hmac.new(key.encode(), body, hashlib.sha512).hexdigest())


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]
    answered: int
    verified: bool | None  # None: no key known for this path

    @property
    def data(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class WebhookReceiver:
    """``keys(path) -> key or None`` tells which key a delivery to ``path`` must be signed with."""

    keys: Callable[[str], str | None] = lambda path: None
    fail_first: int = 0  # answer 500 to this many requests before answering 200
    host: str = "127.0.0.1"
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.send_error(413)
                    return
                body = self.rfile.read(length)
                receiver._record(self.path, body, {k.lower(): v for k, v in self.headers.items()}, self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _record(self, path: str, body: bytes, headers: dict[str, str], handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            status = 500 if self.fail_first > 0 else 200
            if self.fail_first > 0:
                self.fail_first -= 1
            key = self.keys(path)
            verified = None if key is None else verify_webhook(key, body, headers.get("x-hash"))
            self.received.append(Received(path, body, headers, status, verified))
        handler.send_response(status)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"OK" if status == 200 else b"NO")

    def start(self) -> "WebhookReceiver":
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="ccvshop-webhook-receiver", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.answered == 200]

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
