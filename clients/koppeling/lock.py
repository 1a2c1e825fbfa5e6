"""One koppeling at work per state file: an exclusive lock across processes (``<state>.lock``).

The run daemon, the dashboard and ``koppelsim koppeling retry`` may all open the same state file. Two of
them posting at once could both find an order ``new`` and both post it, or both create its customer, so
a sync, a payment run and a *process again* each hold ``fcntl.flock`` on ``<state>.lock`` from start to
end. The daemon and the command line wait for it (boundedly); the dashboard does not wait and says the
koppeling is busy. Reading the tabs needs no lock (SQLite in WAL mode reads beside a writer).

The lock belongs to the open file, so it is released when the process dies, kill -9 included.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..clock import monotonic, real_sleep

POLL_SECONDS = 0.05


class KoppelingBusy(Exception):
    """Another run (process or thread) holds the koppeling's state right now."""


class StateLock:
    def __init__(self, state: str | Path) -> None:
        self.path = Path(f"{state}.lock")
        self._thread_lock = threading.RLock()  # threads of one process (the dashboard's server threads)
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def hold(self, wait: bool = True, timeout: float = 600.0) -> Iterator[None]:
        """Hold the lock for the block; ``wait=False`` raises ``KoppelingBusy`` at once when it is taken."""
        if not self._thread_lock.acquire(blocking=wait, timeout=timeout if wait else -1):
            raise KoppelingBusy("the koppeling is busy (another run in this process)")
        try:
            if self._depth == 0:
                self._fd = self._acquire(wait, timeout)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                    self._fd = None
        finally:
            self._thread_lock.release()

    def _acquire(self, wait: bool, timeout: float) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if not wait or monotonic() >= deadline:
                    os.close(fd)
                    raise KoppelingBusy(f"the koppeling is busy: another process holds {self.path}") from None
                real_sleep(POLL_SECONDS)  # a real wait on another process, bounded by the deadline
