"""When CB's FTP server is down for maintenance: pure functions of the clock and the config."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..core.clock import parse_duration
from .config import Maintenance

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _parts(window: Maintenance) -> tuple[ZoneInfo, int, time, timedelta]:
    if window.weekday.lower() not in _WEEKDAYS:
        raise ValueError(f"cbftp.maintenance.weekday must be a day name such as friday, got {window.weekday!r}")
    start = time.fromisoformat(window.start)
    return ZoneInfo(window.timezone), _WEEKDAYS.index(window.weekday.lower()), start, parse_duration(window.outage)


def outage_around(now: datetime, window: Maintenance) -> tuple[datetime, datetime] | None:
    """The outage (start, end) that ``now`` falls in, or None."""
    if not window.enabled:
        return None
    zone, weekday, start, length = _parts(window)
    local = now.astimezone(zone)
    latest_day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    for day in (latest_day, latest_day - timedelta(days=7)):  # the earlier week: an outage past midnight
        begins = datetime.combine(day, start, tzinfo=zone)
        if begins <= local < begins + length:
            return begins, begins + length
    return None


def next_outage(after: datetime, window: Maintenance) -> tuple[datetime, datetime] | None:
    """The first outage that starts after ``after``."""
    if not window.enabled:
        return None
    zone, weekday, start, length = _parts(window)
    local = after.astimezone(zone)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    begins = datetime.combine(day, start, tzinfo=zone)
    if begins <= local:
        begins = datetime.combine(day + timedelta(days=7), start, tzinfo=zone)
    return begins, begins + length
