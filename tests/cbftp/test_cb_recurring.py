"""CB's recurring work keeps recurring: the monthly invoice run and the weekly maintenance outage are
planned again each time they fire, and again after a reset (which empties the scheduler)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
START = "2026-11-20T12:00:00Z"  # a Friday, after that day's maintenance window


@pytest.fixture
def runtime(tmp_path):
    register_config_sections()
    settings = settings_for_tests()
    settings["cbftp"] = {**settings["cbftp"], "invoice_day": 1}  # the run on the 1st of each month
    runtime = Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings}),
                      clock=VirtualClock(START), only=["mailbox", "cbftp"])
    runtime.start(admin=False)
    try:
        yield runtime
    finally:
        runtime.stop()


def issue_dates(runtime: Runtime) -> list[date]:
    model = runtime.simulators["cbftp"].model
    return sorted({date.fromisoformat(i["issue_date"]) for i in model.invoices()})


def pending_kinds(runtime: Runtime) -> dict[str, int]:
    return runtime.scheduler.describe()["by_kind"]


def test_the_invoice_run_comes_every_month_not_only_once(runtime):
    accounts = len(runtime.simulators["cbftp"].model.accounts())
    assert accounts >= 1
    runtime.scheduler.advance_to(datetime(2027, 2, 2, tzinfo=AMSTERDAM))
    assert issue_dates(runtime) == [date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]
    assert len(runtime.simulators["cbftp"].model.invoices()) == 3 * accounts
    assert pending_kinds(runtime)["cbftp.invoice_run"] == 1  # March's


def test_the_outage_comes_every_week_not_only_once(runtime):
    runtime.scheduler.advance("22d")
    started = runtime.journal.entries(kind="cb.maintenance_started")
    assert [datetime.fromisoformat(e["at"].replace("Z", "+00:00")).astimezone(AMSTERDAM).date()
            for e in started] == [date(2026, 11, 27), date(2026, 12, 4), date(2026, 12, 11)]
    assert pending_kinds(runtime)["cbftp.outage"] == 1


def test_after_a_reset_both_are_planned_again(runtime):
    runtime.scheduler.advance("1h")
    runtime.reset()
    assert pending_kinds(runtime) == {"cbftp.invoice_run": 1, "cbftp.outage": 1}
    runtime.scheduler.advance(timedelta(days=12))
    assert issue_dates(runtime) == [date(2026, 12, 1)]
    assert len(runtime.journal.entries(kind="cb.maintenance_started")) == 1


def test_waiting_invoices_a_stopped_start_left_pending_come_after_the_next_start_not_before(tmp_path):
    def started() -> Runtime:
        register_config_sections()
        settings = settings_for_tests()
        settings["cbftp"] = {**settings["cbftp"], "invoices_waiting": 1}
        runtime = Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings}),
                          clock=VirtualClock(START), only=["mailbox", "cbftp"])
        runtime.start(admin=False)
        return runtime

    first = started()
    first.stop()  # before the waiting invoices were made: their event is still pending in the state dir
    second = started()
    try:
        model = second.simulators["cbftp"].model
        assert model.invoices() == []  # start (and /readyz) did not wait for them
        assert pending_kinds(second)["cbftp.seed_invoices"] == 1
        second.scheduler.run_due()
        assert len(model.invoices()) == len(model.accounts())
    finally:
        second.stop()
