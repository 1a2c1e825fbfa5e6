"""One koppelsim per state dir: a second instance on the same state refuses to start instead of corrupting it.

Two instances on one state dir each believe they are the only writer: their clocks drift apart, their
journals both number entries from the same counter (the second one's writes then fail for good), and the
read caches that count changes on their own connection (store.TableCache) miss the other's writes. An easy
slip: ``koppelsim sim --port-offset 100`` in the folder where ``make sim`` already runs.

The lock is an advisory ``flock`` on ``koppelsim.lock`` in the state dir, so the kernel releases it when the
process ends in any way (kill -9 included): a restart after a crash never finds a stale lock. The file
holds the pid of the holder, only to name it in the refusal.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

LOCK_NAME = "koppelsim.lock"

try:
    import fcntl
except ImportError:  # not on Windows: no lock there, as before
    fcntl = None  # type: ignore[assignment]


class StateDirInUse(ConfigError):
    """Another running koppelsim holds this state dir."""


class StateDirLock:
    """Held from ``acquire()`` until ``release()`` or the end of the process."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None or self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StateDirInUse(f"state dir {self.path.parent} is in use by another koppelsim (pid {holder}); "
                                "stop that one, or give this one its own --state-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
