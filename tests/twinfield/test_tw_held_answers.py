"""Delay and hold rules keep an answer until the *simulated* clock reaches its due time: a test moves the
virtual clock while its client waits, and no real second passes for a simulated one. Real-time waits here
are bounded joins on the client's thread only."""

from __future__ import annotations

import threading

import requests

from datetime import timedelta

from simulators.core.clock import format_instant, monotonic

REAL_WAIT = 10.0  # real seconds for a released answer to arrive


class Background:
    """One SOAP post on its own thread, as a second client would send it."""

    def __init__(self, tw, soap, sales_xml, number: str) -> None:
        token = tw.token()
        self.response: requests.Response | None = None
        body = soap.envelope(soap.process_string(sales_xml(number)), token)
        self.thread = threading.Thread(target=lambda: setattr(self, "response", tw.post("processxml", body)))
        self.thread.start()

    def answered(self, within: float) -> bool:
        self.thread.join(within)
        return not self.thread.is_alive()


def wait_until_in(tw) -> None:
    """Until the request holds its organisation's slot: it has passed the door and is being held."""
    deadline = monotonic() + REAL_WAIT
    while not tw.sim.limiter.describe()["running"].get("KOPPELSIM"):
        assert monotonic() < deadline, "the held request never arrived"
        threading.Event().wait(0.01)


def test_a_delayed_answer_comes_when_the_clock_reaches_its_due_time(tw, soap, sales_xml, customer):
    tw.runtime.rules.add("twinfield", {"when": {"invoicenumber": "LATE"}, "delay": {"seconds": 120}})
    start = tw.clock.now()
    late = Background(tw, soap, sales_xml, "LATE")
    wait_until_in(tw)
    tw.advance("119s")
    assert not late.answered(within=0.2)  # one simulated second short: still held
    assert tw.bookings() == []  # a delay holds the request before it is processed
    tw.advance("1s")
    assert late.answered(within=REAL_WAIT) and late.response.status_code == 200
    [booking] = tw.bookings()
    assert booking["invoicenumber"] == "LATE" and booking["created"] == format_instant(start + timedelta(minutes=2))
    assert (tw.clock.now() - start).total_seconds() == 120
    assert tw.runtime.journal.entries(kind="twinfield.hold_bound") == []


def test_a_hold_answers_504_after_the_clock_moved_and_the_booking_is_kept(tw, soap, sales_xml, customer):
    tw.runtime.rules.add("twinfield", {"when": {"invoicenumber": "GW"},
                                       "timeout": {"booked": True, "mode": "hold", "seconds": 60}})
    held = Background(tw, soap, sales_xml, "GW")
    wait_until_in(tw)
    deadline = monotonic() + REAL_WAIT
    while not tw.bookings():  # booked first, then held
        assert monotonic() < deadline
        threading.Event().wait(0.01)
    assert not held.answered(within=0.2)
    tw.advance("1m")
    assert held.answered(within=REAL_WAIT) and held.response.status_code == 504
    assert len(tw.bookings()) == 1


def test_a_forgotten_clock_lets_the_answer_go_after_the_real_bound(tw, soap, sales_xml, customer):
    tw.sim.configure(max_hold_seconds=0.3)
    tw.runtime.rules.add("twinfield", {"when": {"invoicenumber": "FORGOT"}, "delay": {"seconds": 3600}})
    start = tw.clock.now()
    forgot = Background(tw, soap, sales_xml, "FORGOT")
    assert forgot.answered(within=REAL_WAIT) and forgot.response.status_code == 200
    [entry] = tw.runtime.journal.entries(kind="twinfield.hold_bound")
    assert entry["due"] == format_instant(start + timedelta(hours=1)) and entry["max_hold_seconds"] == 0.3
    assert tw.runtime.scheduler.describe()["pending"] == 0  # no callback left behind for a later jump


def test_a_negative_delay_is_refused_when_it_is_set(tw):
    response = tw.api("POST", "/api/rules", json={"sim": "twinfield", "when": {}, "delay": {"seconds": -1}})
    assert response.status_code == 400 and "0 or more" in response.json()["error"]["message"]


def test_in_sim_mode_time_travel_releases_a_held_answer_at_once(tmp_path, soap, sales_xml):
    """``koppelsim sim`` runs on the system clock: real time would release the answer an hour from now; moving
    the clock (as ``POST /api/clock`` does) releases it now."""
    from simulators.core.config import config_from_dict
    from simulators.core.runtime import Runtime, register_config_sections
    from simulators.twinfield.config import Dimension

    register_config_sections()
    runtime = Runtime(config_from_dict({"state_dir": str(tmp_path), "clock": "system", "twinfield": {"port": 0}}),
                      only=["twinfield"])
    runtime.start(admin=False)
    try:
        sim = runtime.simulators["twinfield"]
        sim.model.put_dimension(Dimension("DEB", "4000", "Jan Jansen"))
        runtime.rules.add("twinfield", {"when": {}, "delay": {"seconds": 3600}})
        token = sim.model.auth.issue(sim.model.directory.client("koppelsim"), "KOPPELSIM", "koppeling",
                                     "twf.user twf.organisation", "2026-01-01T00:00:00Z")["access_token"]
        answer: dict = {}
        body = soap.envelope(soap.process_string(sales_xml("SIM")), token)
        thread = threading.Thread(target=lambda: answer.update(r=requests.post(
            f"{sim.base_url}/webservices/processxml.asmx", data=body, timeout=REAL_WAIT,
            headers={"Content-Type": "text/xml; charset=utf-8"})))
        thread.start()
        deadline = monotonic() + REAL_WAIT
        while not sim.limiter.describe()["running"].get("KOPPELSIM"):
            assert monotonic() < deadline, "the held request never arrived"
            threading.Event().wait(0.01)
        thread.join(0.2)
        assert thread.is_alive()  # held: an hour of real time would pass first
        runtime.scheduler.advance("1h")
        thread.join(REAL_WAIT)
        assert not thread.is_alive() and answer["r"].status_code == 200
        assert [b["invoicenumber"] for b in sim.model.bookings()] == ["SIM"]
    finally:
        runtime.stop()
