"""Twinfield's fair use limits: API credits per minute (per IP address and per client id) and concurrency.

From developers.twinfield.com "Fair Use Policy and Limitations": queries cost 1 credit, everything else 3;
1000 credits a minute per IP address and per client id; past the rate or the concurrency limit the answer
is ``429 Too Many Requests`` and the request is not processed; clients should start their back-off at
``Retry-After``. [CHOSEN] a sliding window on the *simulated* clock (so a test moves time instead of
sleeping), kept in memory (it is traffic shaping, not state worth keeping), and the concurrency limit
per organisation.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Callable


class RateLimiter:
    def __init__(self, now: Callable[[], datetime], window: timedelta, per_ip: int, per_client: int,
                 concurrent: int) -> None:
        self._now = now
        self.window = window
        self.limits = {"ip": per_ip, "client": per_client}
        self.concurrent = concurrent
        self._spent: dict[tuple[str, str], deque] = {}
        # The credits in each window, kept as the window changes: summing the window per request would cost
        # time in proportion to the traffic of the last minute (quadratic under load).
        self._used: dict[tuple[str, str], int] = {}
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def configure(self, window: timedelta, per_ip: int, per_client: int, concurrent: int) -> None:
        """New limits; credits already spent stay spent."""
        with self._lock:
            self.window = window
            self.limits = {"ip": per_ip, "client": per_client}
            self.concurrent = concurrent

    def charge(self, ip: str, client_id: str | None, cost: int) -> int | None:
        """Spend ``cost`` credits; returns None when allowed, else the seconds to wait (Retry-After)."""
        now = self._now()
        keys = [("ip", ip)] + ([("client", client_id)] if client_id else [])
        with self._lock:
            waits = []
            for kind, key in keys:
                spent = self._window(kind, key, now)
                used = self._used[(kind, key)]
                limit = self.limits[kind]
                if used + cost > limit:
                    waits.append(self._wait(spent, used + cost - limit, now))
            if waits:
                return max(waits)
            for kind, key in keys:
                self._spent[(kind, key)].append((now, cost))
                self._used[(kind, key)] += cost
        return None

    def _window(self, kind: str, key: str, now: datetime) -> deque:
        spent = self._spent.get((kind, key))
        if spent is None:
            spent = self._spent[(kind, key)] = deque()
            self._used[(kind, key)] = 0
        oldest = now - self.window
        while spent and spent[0][0] <= oldest:
            self._used[(kind, key)] -= spent.popleft()[1]
        return spent

    def _wait(self, spent: deque, excess: int, now: datetime) -> int:
        """Seconds until enough of the oldest spending has left the window."""
        freed = 0
        for at, cost in spent:
            freed += cost
            if freed >= excess:
                return max(1, math.ceil((at + self.window - now).total_seconds()))
        return max(1, math.ceil(self.window.total_seconds()))

    def enter(self, organisation: str) -> bool:
        with self._lock:
            running = self._running.get(organisation, 0)
            if running >= self.concurrent:
                return False
            self._running[organisation] = running + 1
            return True

    def leave(self, organisation: str) -> None:
        with self._lock:
            self._running[organisation] = max(0, self._running.get(organisation, 1) - 1)

    def reset(self) -> None:
        with self._lock:
            self._spent.clear()
            self._used.clear()
            self._running.clear()

    def describe(self) -> dict:
        now = self._now()
        with self._lock:
            return {"spent": {f"{kind}:{key}": sum(c for _, c in self._window(kind, key, now))
                              for kind, key in list(self._spent)},
                    "running": dict(self._running), "limits": self.limits, "concurrent": self.concurrent,
                    "window_seconds": self.window.total_seconds()}
