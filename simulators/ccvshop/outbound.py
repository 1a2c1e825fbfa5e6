"""HTTP requests the shop makes itself: webhook deliveries and the App Store's handshake.

A plain POST over a real socket with a timeout; the answer's body is read boundedly (we only keep its
start for the journal) and never followed anywhere (no redirects).
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_ANSWER_BYTES = 4096  # what is kept of a receiver's answer, for the journal and the admin API


@dataclass
class Outcome:
    status: int | None  # the receiver's HTTP status; None when there was no answer
    error: str | None  # why there was no (2xx) answer
    answer: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST ``body`` to ``url``; never raises for a bad URL or a failed exchange: the ``Outcome`` says why.

    A URL that cannot be used (a port out of range, a broken IPv6 host, characters a request line cannot
    carry) is a ``ValueError`` somewhere between urlsplit and the socket: an outcome like any other failure,
    so one bad address never stops the deliveries after it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return Outcome(None, f"not a usable URL: {url[:200]!r} ({exc})")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Outcome(None, f"not an http(s) URL: {url[:200]!r}")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection = connection_class(parts.hostname, port, timeout=timeout)
        connection.request("POST", target, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER_BYTES).decode("utf-8", errors="replace")
        status = response.status
    except (TimeoutError, OSError, http.client.HTTPException, ValueError) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}")
    finally:
        if connection is not None:
            connection.close()
    return Outcome(status, None if 200 <= status < 300 else f"HTTP {status}", answer)
