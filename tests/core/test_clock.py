"""The clock: durations and instants as people write them, a virtual clock that only moves forward,
and a system clock whose offset only grows."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from simulators.core.clock import (
    UTC,
    ClockError,
    SystemClock,
    VirtualClock,
    format_instant,
    parse_duration,
    parse_instant,
)

START = "2026-11-20T08:00:00Z"


# -- parse_duration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("3d", timedelta(days=3)),
        ("250ms", timedelta(milliseconds=250)),
        ("1m30s", timedelta(minutes=1, seconds=30)),
        ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("2h 30m", timedelta(hours=2, minutes=30)),
        ("  90s  ", timedelta(seconds=90)),
        ("0s", timedelta(0)),
        ("PT2H", timedelta(hours=2)),
        ("P1D", timedelta(days=1)),
        ("PT1M30S", timedelta(minutes=1, seconds=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT0.5S", timedelta(milliseconds=500)),
    ],
)
def test_parse_duration_reads_the_documented_forms(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90, timedelta(seconds=90)), (0, timedelta(0)), (1.5, timedelta(seconds=1.5)),
     (timedelta(hours=3), timedelta(hours=3))],
)
def test_parse_duration_takes_numbers_as_seconds_and_timedeltas_as_they_are(value, expected):
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "text",
    ["2x", "", "   ", "P", "PT", "h", "1h30", "5M", "-5m", "90", "2 hours", "1h-30m", "PTXH", "ms"],
)
def test_parse_duration_refuses_what_is_not_a_duration(text):
    with pytest.raises(ClockError) as info:
        parse_duration(text)
    message = str(info.value)
    assert repr(text) in message
    assert "90s" in message and "PT2H" in message  # the refusal shows what would have worked


@pytest.mark.parametrize("value", [True, False])
def test_parse_duration_refuses_booleans(value):
    with pytest.raises(ClockError, match="not a duration"):
        parse_duration(value)


def test_clock_error_is_a_value_error():
    # Validators (rules, scenario vocabulary) catch ValueError; a bad duration must be one.
    assert issubclass(ClockError, ValueError)


def test_parse_duration_refuses_iso_time_designator_without_time_part():
    with pytest.raises(ClockError):
        parse_duration("P1DT")


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e20])
def test_parse_duration_refuses_non_finite_or_huge_numbers_with_a_clock_error(value):
    with pytest.raises(ClockError):
        parse_duration(value)


# -- parse_instant / format_instant ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T08:00:00Z", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        ("2026-11-20T09:00:00+01:00", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        ("2026-11-20T03:30:00-04:30", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        ("2026-11-20T08:00:00", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),  # naive = UTC
        (" 2026-11-20T08:00:00.250Z ", datetime(2026, 11, 20, 8, 0, 0, 250000, tzinfo=UTC)),
        ("2026-11-20", datetime(2026, 11, 20, 0, 0, tzinfo=UTC)),
    ],
)
def test_parse_instant_reads_zones_and_takes_naive_as_utc(text, expected):
    moment = parse_instant(text)
    assert moment == expected
    assert moment.utcoffset() == timedelta(0)


def test_parse_instant_converts_aware_and_naive_datetimes_to_utc():
    cet = timezone(timedelta(hours=1))
    assert parse_instant(datetime(2026, 11, 20, 9, 0, tzinfo=cet)) == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    naive = parse_instant(datetime(2026, 11, 20, 8, 0))
    assert naive.tzinfo is not None and naive == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01T00:00:00Z", "", "20-11-2026"])
def test_parse_instant_refuses_what_is_not_iso_8601(text):
    with pytest.raises(ClockError, match="not an ISO 8601 date-time"):
        parse_instant(text)


def test_format_instant_is_utc_with_milliseconds_and_z():
    cet = timezone(timedelta(hours=1))
    assert format_instant(datetime(2026, 11, 20, 9, 0, 0, 123456, tzinfo=cet)) == "2026-11-20T08:00:00.123Z"


# -- VirtualClock ---------------------------------------------------------------------------------------


def test_virtual_clock_stands_still_until_advanced():
    clock = VirtualClock(START)
    first = clock.now()
    assert clock.now() == first == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert clock.advance("2h") == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert clock.now() == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    clock.advance(timedelta(minutes=30))
    clock.advance(30)
    assert clock.now() == datetime(2026, 11, 20, 10, 30, 30, tzinfo=UTC)


def test_virtual_clock_set_moves_forward_to_the_instant():
    clock = VirtualClock(START)
    assert clock.set("2026-11-21T09:00:00+01:00") == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert clock.now() == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    clock.set("2026-11-21T08:00:00Z")  # setting the current instant is allowed (no move)
    assert clock.now() == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_virtual_clock_refuses_to_move_backwards():
    clock = VirtualClock(START)
    with pytest.raises(ClockError, match="cannot move backwards") as info:
        clock.set("2026-11-20T07:59:00Z")
    assert "2026-11-20T08:00:00.000Z" in str(info.value) and "2026-11-20T07:59:00.000Z" in str(info.value)
    with pytest.raises(ClockError, match="cannot move backwards"):
        clock.advance(-1)
    with pytest.raises(ClockError, match="cannot move backwards"):
        clock.advance(timedelta(seconds=-5))
    assert clock.now() == parse_instant(START)


def test_virtual_clock_default_start_and_describe():
    clock = VirtualClock()
    assert clock.now() == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert clock.describe() == {"now": "2026-01-05T08:00:00.000Z", "kind": "virtual"}


def test_listeners_hear_every_jump_with_the_new_time_and_can_be_removed():
    clock = VirtualClock(START)
    heard: list[datetime] = []
    clock.add_listener(heard.append)
    clock.advance("1h")
    clock.set("2026-11-20T12:00:00Z")
    clock.remove_listener(heard.append)
    clock.remove_listener(heard.append)  # removing twice is harmless
    clock.advance("1h")
    assert heard == [datetime(2026, 11, 20, 9, 0, tzinfo=UTC), datetime(2026, 11, 20, 12, 0, tzinfo=UTC)]


def test_refused_jump_does_not_notify_listeners():
    clock = VirtualClock(START)
    heard: list[datetime] = []
    clock.add_listener(heard.append)
    with pytest.raises(ClockError):
        clock.advance("soon")
    with pytest.raises(ClockError):
        clock.set("2020-01-01T00:00:00Z")
    assert heard == []


def test_pin_moves_forward_only_and_tells_no_listener():
    clock = VirtualClock(START)
    heard: list[datetime] = []
    clock.add_listener(heard.append)
    clock.pin(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    assert clock.now() == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    clock.pin(datetime(2026, 11, 20, 8, 30, tzinfo=UTC))
    assert clock.now() == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert heard == []


# -- SystemClock ----------------------------------------------------------------------------------------


def test_system_clock_offset_grows_with_advance_and_set():
    clock = SystemClock()
    assert clock.offset == timedelta(0)
    clock.advance("2h")
    assert clock.offset == timedelta(hours=2)
    lead = clock.now() - datetime.now(UTC)
    assert timedelta(hours=2) - timedelta(seconds=5) < lead <= timedelta(hours=2) + timedelta(seconds=5)
    clock.set(datetime.now(UTC) + timedelta(days=1))
    assert timedelta(days=1) - timedelta(seconds=5) < clock.offset <= timedelta(days=1)
    info = clock.describe()
    assert info["kind"] == "system"
    assert info["offset_seconds"] == pytest.approx(clock.offset.total_seconds())


def test_system_clock_refuses_backwards_and_keeps_its_offset():
    clock = SystemClock(offset=timedelta(hours=1))
    with pytest.raises(ClockError, match="cannot move backwards"):
        clock.set(datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(ClockError):
        clock.advance(-60)
    assert clock.offset == timedelta(hours=1)
