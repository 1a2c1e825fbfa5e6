"""Where the clock stands survives a restart (a new Runtime on the same state directory)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from simulators.core.clock import SystemClock, VirtualClock
from simulators.core.clockstate import durable_clock
from simulators.core.store import Store

START = "2026-11-20T08:00:00Z"


def reopen(tmp_path) -> Store:
    return Store(tmp_path / "state", "process")


def test_a_system_clock_keeps_its_offset_across_a_restart(tmp_path):
    store = reopen(tmp_path)
    clock = durable_clock("system", None, store)
    assert isinstance(clock, SystemClock) and clock.offset == timedelta(0)
    clock.advance("1d")
    clock.advance("2h")
    store.close()

    again = durable_clock("system", None, reopen(tmp_path))
    assert again.offset == timedelta(days=1, hours=2)
    assert abs(again.now() - (datetime.now(timezone.utc) + timedelta(days=1, hours=2))) < timedelta(seconds=5)


def test_a_virtual_clock_stands_where_it_stood(tmp_path):
    store = reopen(tmp_path)
    clock = durable_clock("virtual", START, store)
    assert isinstance(clock, VirtualClock)
    clock.advance("90m")
    store.close()
    assert durable_clock("virtual", START, reopen(tmp_path)).now() == datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def test_a_later_configured_start_wins_but_an_earlier_one_never_moves_the_clock_back(tmp_path):
    store = reopen(tmp_path)
    durable_clock("virtual", START, store).advance("1h")
    store.close()
    earlier = durable_clock("virtual", "2026-01-01T00:00:00Z", reopen(tmp_path))
    assert earlier.now() == datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    later = durable_clock("virtual", "2027-01-01T00:00:00Z", reopen(tmp_path))
    assert later.now() == datetime(2027, 1, 1, tzinfo=timezone.utc)


def test_a_fresh_state_directory_starts_from_the_configuration(tmp_path):
    assert durable_clock("virtual", START, reopen(tmp_path)).now() == datetime(2026, 11, 20, 8, tzinfo=timezone.utc)
    assert durable_clock("system", None, Store(tmp_path / "other", "process")).offset == timedelta(0)
