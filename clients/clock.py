"""The clients' side of the one clock: what a client reads when it runs on its own.

Inside a scenario or test a client is handed the simulators' clock (anything with ``now()``); run from
the command line it uses real time, or a fixed instant when a scenario runs it as a separate process.
Clients never import the simulators, so this small module stands in for ``simulators.core.clock``.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


class RealClock:
    """Real time (UTC)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """Always the same instant: a client process started at a given moment of a scenario's clock."""

    def __init__(self, moment: str) -> None:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        self._now = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self._now


def monotonic() -> float:
    """Real elapsed seconds, for timeouts on real I/O."""
    return time.monotonic()


def real_sleep(seconds: float) -> None:
    """Wait real time: between polls of a client run against `koppelsim sim`."""
    time.sleep(seconds)
