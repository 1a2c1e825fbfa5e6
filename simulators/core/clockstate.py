"""Simulated time survives a restart: where the clock stands is kept in the state database.

Without it, a `koppelsim sim` moved a day ahead and then restarted would fall back to real time: logins
recorded "in the future" would lock accounts out, and events planned on the moved clock would fire late.
"""

from __future__ import annotations

from datetime import timedelta

from .clock import Clock, SystemClock, VirtualClock, format_instant, parse_instant
from .store import Store

_SCHEMA = "CREATE TABLE IF NOT EXISTS clock_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);"


def durable_clock(kind: str, start: str | None, store: Store) -> Clock:
    """The configured clock, standing where it stood when the state directory was last used."""
    store.migrate("clock_state", _SCHEMA)
    saved = dict(store.query("SELECT key, value FROM clock_state"))
    if kind == "virtual":
        moment = parse_instant(saved["virtual_now"]) if "virtual_now" in saved else None
        if start is not None and (moment is None or parse_instant(start) > moment):
            moment = parse_instant(start)  # a later configured start wins: the clock never goes back
        clock: Clock = VirtualClock(moment)
    else:
        clock = SystemClock(timedelta(seconds=float(saved.get("offset_seconds", 0))))
    clock.add_listener(lambda _moment: _save(clock, store))
    return clock


def _save(clock: Clock, store: Store) -> None:
    key, value = (("offset_seconds", repr(clock.offset.total_seconds())) if isinstance(clock, SystemClock)
                  else ("virtual_now", format_instant(clock.now())))
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO clock_state (key, value) VALUES (?, ?)", (key, value))
