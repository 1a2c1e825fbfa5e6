"""Requests per minute, counted on the simulated clock: per resource and method, and in total.

Facts: "Each method in each resource has a limit of requests that can be made per minute" (429.10) and
"The API has a total limit of requests that can be made per minute" (429.11) - official SDK
ExceptionFactory; SPEC §4: GET 150/min, writes 100/min per endpoint. [CHOSEN]: fixed windows of one
minute that start at a key's first request; the headers ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``,
``X-RateLimit-Reset`` (epoch seconds of the window's end, on the simulated clock) on every counted answer
and ``Retry-After`` (whole seconds) on a 429; refused requests do not count.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .errors import RATE_RESOURCE, RATE_TOTAL, CCVError

if TYPE_CHECKING:
    from .config import CCVShopConfig

WINDOW = timedelta(minutes=1)


@dataclass
class _Window:
    started: datetime
    count: int = 0


class RateLimiter:
    """Reads its limits from ``config`` on every request, so a changed setting applies at once."""

    def __init__(self, config: "CCVShopConfig") -> None:
        self.config = config
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()

    def limit_for(self, method: str) -> int:
        return self.config.get_per_minute if method in ("GET", "HEAD") else self.config.write_per_minute

    def take(self, resource: str, method: str, now: datetime) -> dict[str, str]:
        """Count one request, or raise ``CCVError`` 429 with Retry-After; returns the headers to send."""
        key = (resource, method)
        limit = self.limit_for(method)
        with self._lock:
            window = self._current(key, now)
            total_limit = self.config.total_per_minute
            total = self._current(("*", "*"), now) if total_limit else None
            if total is not None and total.count >= total_limit:
                raise CCVError(RATE_TOTAL, f"The API has a total limit of {total_limit} requests per minute. "
                               "Please lower the frequency of your request rate.",
                               self._headers(total_limit, total, now, True))
            if window.count >= limit:
                raise CCVError(RATE_RESOURCE, f"Each method in each resource has a limit of {limit} requests per "
                               f"minute ({method} {resource}). Please lower the frequency of your request rate.",
                               self._headers(limit, window, now, True))
            window.count += 1
            if total is not None:
                total.count += 1
            return self._headers(limit, window, now, False)

    def _current(self, key: tuple[str, str], now: datetime) -> _Window:
        window = self._windows.get(key)
        if window is None or now >= window.started + WINDOW or now < window.started:
            window = self._windows[key] = _Window(now)
        return window

    @staticmethod
    def _headers(limit: int, window: _Window, now: datetime, refused: bool) -> dict[str, str]:
        reset = window.started + WINDOW
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(limit - window.count, 0)),
                   "X-RateLimit-Reset": str(math.ceil(reset.timestamp()))}
        if refused:
            headers["Retry-After"] = str(max(1, math.ceil((reset - now).total_seconds())))
        return headers

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
