"""The one clock every simulator and client reads.

Two kinds, one interface:

* ``SystemClock`` — real time plus an offset. ``koppelsim sim`` uses it, so a developer's own client
  keeps working while the admin API moves time forward ("time travel").
* ``VirtualClock`` — stands still until advanced. Scenarios and tests use it, so two simulated hours
  pass in microseconds and nothing ever sleeps to simulate a delay.

This module is the only place in the project that reads the wall clock.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

UTC = timezone.utc

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)")
_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# A hundred years: far beyond any delay worth simulating, far below datetime's overflow.
MAX_DURATION_SECONDS = 100 * 365 * 86400


class ClockError(ValueError):
    """A clock request that cannot be honoured (bad duration, moving backwards)."""


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """Read ``"2h"``, ``"1h30m"``, ``"90s"``, ``"3d"``, ``"250ms"``, ``"PT2H"`` or seconds as a number."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ClockError(f"not a duration: {value!r}")
    elif isinstance(value, (int, float)):
        seconds = float(value)
    else:
        try:
            seconds = _seconds_in_text(str(value).strip())
        except _NotADuration:
            raise ClockError(f"not a duration: {value!r} (use e.g. 90s, 5m, 2h, 1h30m, 3d or PT2H)") from None
    if seconds < 0:
        raise ClockError(f"{value!r} is negative: the clock cannot move backwards")
    if not math.isfinite(seconds) or seconds > MAX_DURATION_SECONDS:
        raise ClockError(f"not a usable duration: {value!r} (it must be positive and at most "
                         f"{MAX_DURATION_SECONDS // 86400} days)")
    return timedelta(seconds=seconds)


class _NotADuration(ValueError):
    pass


@functools.lru_cache(maxsize=512)  # settings are read per request ("5m" of the clock skew): parse each text once
def _seconds_in_text(text: str) -> float:
    iso = _ISO_DURATION.match(text)
    if iso and text not in ("P", "PT") and not text.endswith("T"):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v}
        return parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)
    compact = text.replace(" ", "")
    pos, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(compact):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(compact):
        raise _NotADuration(text)
    return seconds


def parse_instant(value: str | datetime) -> datetime:
    """Read an ISO 8601 instant; a value without a zone is taken as UTC."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ClockError(f"not an ISO 8601 date-time: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_instant(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as the journal and the admin API show time (naive = UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Clock:
    """What every component reads: ``now()`` and, for time travel, ``advance``/``set``.

    Listeners are told after every jump so that a scheduler can fire what became due.
    """

    kind = "abstract"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._listeners: list[Callable[[datetime], None]] = []

    def now(self) -> datetime:
        raise NotImplementedError

    def _jump(self, delta: timedelta) -> None:
        raise NotImplementedError

    def advance(self, delta: str | int | float | timedelta) -> datetime:
        step = parse_duration(delta)  # refuses a negative step: the clock never moves backwards
        with self._lock:
            self._jump(step)
            moment = self.now()
        self._notify(moment)
        return moment

    def set(self, moment: str | datetime) -> datetime:
        target = parse_instant(moment)
        with self._lock:
            current = self.now()
            if target < current - timedelta(milliseconds=1):
                raise ClockError(
                    f"the clock cannot move backwards (now {format_instant(current)}, "
                    f"asked {format_instant(target)})"
                )
            self._jump(max(target - current, timedelta(0)))
            moment = self.now()
        self._notify(moment)
        return moment

    def add_listener(self, listener: Callable[[datetime], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[datetime], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, moment: datetime) -> None:
        for listener in list(self._listeners):
            listener(moment)

    def describe(self) -> dict:
        return {"now": format_instant(self.now()), "kind": self.kind}


class SystemClock(Clock):
    """Real time plus an offset; the offset only grows."""

    kind = "system"

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        super().__init__()
        self._offset = offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def _jump(self, delta: timedelta) -> None:
        self._offset += delta

    def describe(self) -> dict:
        info = super().describe()
        info["offset_seconds"] = self._offset.total_seconds()
        return info


class VirtualClock(Clock):
    """Stands still until advanced; what a scenario or a test runs on."""

    kind = "virtual"

    def __init__(self, start: str | datetime | None = None) -> None:
        super().__init__()
        self._now = parse_instant(start) if start is not None else datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def _jump(self, delta: timedelta) -> None:
        self._now = self._now + delta

    def pin(self, moment: datetime) -> None:
        """Move to ``moment`` (never backwards) without telling listeners.

        The scheduler uses it to stand on each event's due time while firing it, so every status
        and file carries the time it was due, not the end of the jump.
        """
        with self._lock:
            if moment > self._now:
                self._now = moment


def monotonic() -> float:
    """Real elapsed time, for timeouts on real I/O only (never for simulated delays)."""
    return time.monotonic()


def real_sleep(seconds: float) -> None:
    """Wait real time: only for waits on real I/O or on a real-time clock (sim mode)."""
    time.sleep(seconds)
