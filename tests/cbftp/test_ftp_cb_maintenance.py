"""CB's weekly maintenance window (seed 002: every Friday 08:00-09:00, UTC/GMT+1; [CHOSEN] Europe/Amsterdam,
an outage of 5 minutes from 08:00): a connection inside the outage gets 421, an open session is told 421
and closed when the outage begins, and after it everything works again. Driven with ``ftplib.FTP_TLS``;
the clock is virtual and moved, never slept on.
"""

from __future__ import annotations

import ftplib
import io
import ssl
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

from .wire import ftps_login

RELATION, PASSWORD = "7000123", "cb-secret"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FRIDAY_0759 = "2026-11-20T06:59:00Z"  # a Friday, 07:59 in Amsterdam (CET, UTC+1)
PDF = b"%PDF-1.4\n%%EOF\n"


@dataclass
class CB:
    runtime: Runtime

    @property
    def endpoint(self):
        return self.runtime.endpoint("cb-ftps")

    def context(self) -> ssl.SSLContext:
        return self.runtime.tls.client_context()

    def connect(self) -> ftplib.FTP_TLS:
        ftp = ftplib.FTP_TLS(context=self.context(), timeout=10)
        ftp.connect(self.endpoint.host, self.endpoint.port)
        return ftp

    def login(self) -> ftplib.FTP_TLS:
        return ftps_login(self.endpoint.host, self.endpoint.port, self.context())

    def advance_to_local(self, moment: datetime) -> None:
        self.runtime.scheduler.advance_to(moment)
        assert self.runtime.clock.now() == moment

    def now_local(self) -> datetime:
        return self.runtime.clock.now().astimezone(AMSTERDAM)


def next_friday(after: datetime, at: time) -> datetime:
    """The first Friday ``at`` (Amsterdam time) after ``after``."""
    local = after.astimezone(AMSTERDAM)
    day = local.date() + timedelta(days=(4 - local.weekday()) % 7)
    moment = datetime.combine(day, at, tzinfo=AMSTERDAM)
    if moment <= local:
        moment = datetime.combine(day + timedelta(days=7), at, tzinfo=AMSTERDAM)
    return moment


def close_quietly(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()


@pytest.fixture
def fresh_cb(tmp_path):
    """A runtime of our own, started (not reset) on a Friday at 07:59 Amsterdam time."""
    register_config_sections()
    settings = settings_for_tests()
    runtime = Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings}),
                      clock=VirtualClock(FRIDAY_0759), only=["mailbox", "cbftp"])
    runtime.start(admin=False)
    try:
        yield CB(runtime)
    finally:
        runtime.stop()


def expect_421_now(ftp: ftplib.FTP_TLS, seconds: float = 5.0) -> str:
    """The unsolicited 421 the server sends when the outage begins (read with a real-time bound)."""
    ftp.sock.settimeout(seconds)
    with pytest.raises(ftplib.error_temp) as told:
        ftp.getresp()
    return str(told.value)


def test_a_connection_inside_the_outage_gets_421_and_after_it_works(koppelsim):
    cb = CB(koppelsim.runtime)
    cb.advance_to_local(next_friday(koppelsim.now(), time(8, 1)))
    refused = ftplib.FTP_TLS(context=cb.context(), timeout=10)
    try:
        with pytest.raises(ftplib.error_temp) as told:
            refused.connect(cb.endpoint.host, cb.endpoint.port)
    finally:
        refused.close()
    assert str(told.value).startswith("421") and "maintenance until 08:05" in str(told.value), told.value
    assert len(koppelsim.journal.entries(kind="cb.maintenance_refused")) == 1

    cb.advance_to_local(cb.now_local().replace(minute=5))
    ftp = cb.login()
    try:
        assert ftp.storbinary("STOR in/after.pdf", io.BytesIO(PDF)).startswith("226")
    finally:
        close_quietly(ftp)
    assert cb.runtime.simulators["cbftp"].model.findings() == []


def test_an_open_session_is_told_421_and_closed_when_the_outage_begins(fresh_cb):
    cb = fresh_cb
    ftp = cb.login()
    try:
        assert ftp.storbinary("STOR in/before.pdf", io.BytesIO(PDF)).startswith("226")
        cb.runtime.scheduler.advance("2m")  # 08:01
        reply = expect_421_now(ftp)
        assert "maintenance until 08:05" in reply, reply
        with pytest.raises((EOFError, OSError, ftplib.Error)):
            ftp.voidcmd("NOOP")
    finally:
        ftp.close()
    # Still inside the outage: a new connection is refused too.
    late = ftplib.FTP_TLS(context=cb.context(), timeout=10)
    try:
        with pytest.raises(ftplib.error_temp):
            late.connect(cb.endpoint.host, cb.endpoint.port)
    finally:
        late.close()
    # 08:05: the server answers again (the welcome, not 421) ...
    cb.advance_to_local(cb.now_local().replace(minute=5))
    back = cb.connect()
    try:
        assert back.getwelcome().startswith("220")
    finally:
        close_quietly(back)
    # ... and at 08:10, ten minutes after the last login, a session works end to end.
    cb.advance_to_local(cb.now_local().replace(minute=10))
    ftp = cb.login()
    try:
        assert ftp.storbinary("STOR in/after.pdf", io.BytesIO(PDF)).startswith("226")
    finally:
        close_quietly(ftp)
    assert cb.runtime.simulators["cbftp"].model.findings() == []


def test_a_session_opened_just_after_the_clock_jumped_past_the_outage_is_left_alone(fresh_cb):
    """The clock jumps from 07:59 to 08:10 in one go; the outage began (and ended) on the way. A session
    opened right after the jump must not be hit by the closing of that outage."""
    cb = fresh_cb
    cb.runtime.scheduler.advance("11m")
    ftp = cb.login()
    try:
        assert ftp.voidcmd("NOOP").startswith("200")
        assert ftp.storbinary("STOR in/after-jump.pdf", io.BytesIO(PDF)).startswith("226")
        assert ftp.voidcmd("NOOP").startswith("200")
    finally:
        close_quietly(ftp)
    replies = [e["code"] for e in cb.runtime.journal.entries(kind="ftp.reply")]
    assert "421" not in replies, replies
    assert cb.runtime.journal.entries(kind="cb.maintenance_started")


def test_next_weeks_outage_closes_open_sessions_too(fresh_cb):
    cb = fresh_cb
    for week in (1, 2):
        ftp = cb.login()  # Friday 07:59
        try:
            cb.runtime.scheduler.advance("2m")
            assert "maintenance" in expect_421_now(ftp, seconds=2.0), f"week {week}"
        finally:
            ftp.close()
        cb.advance_to_local(next_friday(cb.runtime.clock.now(), time(7, 59)))


def test_after_a_reset_an_open_session_is_still_closed_at_the_outage(koppelsim):
    cb = CB(koppelsim.runtime)
    cb.advance_to_local(next_friday(koppelsim.now(), time(7, 59)))
    ftp = cb.login()
    try:
        koppelsim.advance("2m")
        assert "maintenance" in expect_421_now(ftp, seconds=2.0)
    finally:
        ftp.close()
