"""A lifecycle object per server: bind (port 0 allowed), start, wait until ready, stop twice safely.

A failure inside the server thread is re-raised in the caller of ``start`` or ``stop`` instead of
dying silently, so a test sees why a simulator did not come up.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

READY_TIMEOUT = 10.0  # real seconds: a server that cannot start in this time is broken


@dataclass
class Endpoint:
    """One listener, as ``GET /api/endpoints`` shows it."""

    name: str
    simulator: str
    protocol: str
    host: str
    port: int
    tls: str = "none"  # "explicit" (AUTH TLS), "implicit", "none"
    url: str = ""
    notes: str = ""
    credentials: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "simulator": self.simulator,
            "protocol": self.protocol,
            "host": self.host,
            "port": self.port,
            "tls": self.tls,
            "url": self.url,
            "notes": self.notes,
            "credentials": self.credentials,
        }


class ServerThread:
    """Runs ``serve_once`` in a loop on a thread until stopped; ``shutdown`` runs on that thread."""

    def __init__(self, name: str, serve_once: Callable[[], None], shutdown: Callable[[], None]) -> None:
        self.name = name
        self._serve_once = serve_once
        self._shutdown = shutdown
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(READY_TIMEOUT):
            raise TimeoutError(f"{self.name} did not become ready within {READY_TIMEOUT}s")
        self._raise_if_failed()

    def _run(self) -> None:
        self._ready.set()
        try:
            while not self._stop.is_set():
                self._serve_once()
        except BaseException as exc:  # handed to the caller of start/stop
            self._error = exc
        finally:
            try:
                self._shutdown()
            except BaseException as exc:
                self._error = self._error or exc

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=READY_TIMEOUT)
        self._thread = None
        self._raise_if_failed()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError(f"{self.name} failed: {error!r}") from error
