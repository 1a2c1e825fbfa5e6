"""Regression tests for the review of the koppeling: two processes on one state file, transient errors that
must not end the daemon, a malformed order among good ones, *process again* on what is not an error, and
check 4 in invoice mode."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest
import requests

from clients.ccvshop import CCVShopClient, ShopUnavailable
from clients.koppeling import Koppeling, KoppelingBusy, config_from_dict
from clients.koppeling.cli import run_forever
from clients.koppeling.lock import StateLock
from clients.koppeling.store import KoppelingStore

ROWS = {"shipping": 0, "payment_option": 0, "extra_costs": 0, "credit_points": 0, "coupon": 0, "paymethod_id": 11,
        "country": "NL", "b2b": False}
LIST_503 = {"when": {"method": "GET", "path": "/api/rest/v1/orders/"}, "error": {"code": "503.1"}, "times": 1}


# -- 1. two processes, one state file ------------------------------------------------------------------------


def test_process_again_during_another_run_is_busy_and_the_order_is_posted_once(world):
    """The daemon's sync is between the customer intent and the create when the dashboard presses *process
    again* for the same order (its own Koppeling on the same state file, as another process has)."""
    world.runtime.rules.add("vies", {"when": {"country": "DE"}, "fault": "MS_UNAVAILABLE", "times": 1})
    order = world.order(icp=True, country="DE", vat_number="DE136695976", rows=[{"price": 50.00}], shipping=0,
                        payment_option=0, extra_costs=0, credit_points=0, coupon=0, paymethod_id=11)
    first = world.koppeling()
    assert first.sync()["errors"] == 1 and first.errors()[0]["retry"] is True  # VIES down: retried next run
    first.close()
    dashboard = world.koppeling()
    seen = []

    def press(point: str) -> None:
        if point == "before_customer_created" and not seen:
            try:
                seen.append(dashboard.process_again(f"order-{order['id']}"))
            except KoppelingBusy as busy:
                seen.append(busy)

    daemon = Koppeling.open(config_from_dict(world.settings()), world.workdir / "koppeling.db", world.clock,
                            sleep=world.advance, crash=press)
    assert daemon.sync()["posted"] == 1
    assert len(seen) == 1 and isinstance(seen[0], KoppelingBusy)
    assert len(world.tw.dimensions("NLA000001", "DEB")) == 1
    assert len(world.bookings(code="VRK")) == 1
    [posted] = daemon.reporting()
    assert posted["customer"] == "4000"
    with pytest.raises(KeyError):  # posted: no longer on the Errors list
        dashboard.process_again(f"order-{order['id']}")
    daemon.close()
    dashboard.close()


def test_the_state_lock_excludes_another_process(tmp_path):
    lock = StateLock(tmp_path / "koppeling.db")
    probe = textwrap.dedent(f"""
        from clients.koppeling.lock import KoppelingBusy, StateLock
        try:
            with StateLock({str(tmp_path / 'koppeling.db')!r}).hold(wait=False):
                print("got it")
        except KoppelingBusy:
            print("busy")
    """)
    with lock.hold():
        held = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    free = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (held.stdout.strip(), free.stdout.strip()) == ("busy", "got it"), held.stderr + free.stderr


def test_claims_are_compare_and_set(tmp_path):
    one, two = KoppelingStore(tmp_path / "k.db"), KoppelingStore(tmp_path / "k.db")
    now = "2026-11-20T08:00:00Z"
    item = one.add_item("order", 1, "1", now)
    seen_by_two = two.item("order", 1)
    assert one.claim_item(item, now) is True
    assert two.claim_item(seen_by_two, now) is False  # it read 'new', it is 'posting' now: not theirs
    assert one.customer_intent("a@example.com", "A", now) is True
    assert two.customer_intent("A@example.com", "A", now) is False
    known = one.customer("a@example.com")
    assert one.claim_customer(known) is True and two.claim_customer(known) is False
    assert one.payment_intent("order", 1, now, amount="1.00") is True
    assert two.payment_intent("order", 1, now, amount="1.00") is False
    one.close()
    two.close()


# -- 3. transient errors and malformed orders --------------------------------------------------------------------


def test_the_daemon_logs_a_failing_run_and_posts_at_the_next_interval(world):
    world.order(rows=[{"price": 12.10, "tax": 21}], **ROWS)
    koppeling = world.koppeling(sync_interval="15m")
    world.runtime.rules.add("ccvshop", LIST_503)
    log = io.StringIO()
    run_forever(koppeling, world.advance, rounds=16, log=log)  # waits of at most 60 s: 15 min is 15 rounds
    lines = log.getvalue().splitlines()
    assert "sync failed, tried again at the next interval: CCVShopError: HTTP 503 503.1" in lines[0]
    assert len(lines) == 2 and '"posted": 1' in lines[1], lines
    assert len(world.bookings(code="VRK")) == 1
    koppeling.close()


def test_the_daemon_process_survives_a_503(world):
    import yaml

    world.order(rows=[{"price": 12.10, "tax": 21}], **ROWS)
    world.runtime.rules.add("ccvshop", LIST_503)
    config = world.workdir / "k.yaml"
    config.write_text(yaml.safe_dump(world.settings()), encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "simulators", "koppeling", "--config", str(config), "--state",
                                str(world.workdir / "k.db"), "--at", world.clock.now().isoformat(), "run"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()  # blocks until the first run is logged (bounded by the kill below)
        assert "sync failed" in first and "503" in first, first + process.stderr.read()
        assert process.poll() is None  # still running
    finally:
        process.kill()
        process.communicate(timeout=30)


def test_one_order_the_shop_cannot_give_is_its_own_error_the_others_are_posted(world):
    good = world.order(rows=[{"price": 12.10, "tax": 21}], **ROWS)
    flaky = world.order(rows=[{"price": 24.20, "tax": 21}], **ROWS)
    world.runtime.rules.add("ccvshop", {"when": {"method": "GET", "path": f"/api/rest/v1/orders/{flaky['id']}/"},
                                        "error": {"code": "500.1"}, "times": 1})
    koppeling = world.koppeling()
    assert koppeling.sync() == {"posted": 1, "errors": 1, "settled": 0, "skipped": 0}
    [error] = koppeling.errors()
    assert error["id"] == f"order-{flaky['id']}" and error["check"] == "shop" and error["retry"] is True
    assert koppeling.sync()["posted"] == 1  # retried on its own
    assert {r["id"] for r in koppeling.reporting()} == {f"order-{good['id']}", f"order-{flaky['id']}"}
    koppeling.close()


def test_a_malformed_amount_in_one_order_does_not_block_the_others(world, monkeypatch):
    good = world.order(rows=[{"price": 12.10, "tax": 21}], **ROWS)
    bad = world.order(rows=[{"price": 24.20, "tax": 21}], **ROWS)
    koppeling = world.koppeling()
    real = koppeling.shop.get

    def get(path, **query):  # the shop hands one order over with a total that is not a number
        data = real(path, **query)
        if path == f"orders/{bad['id']}/":
            data = {**data, "total_price": "12,10 EUR"}
        return data

    monkeypatch.setattr(koppeling.shop, "get", get)
    assert koppeling.sync() == {"posted": 1, "errors": 1, "settled": 0, "skipped": 0}
    [error] = koppeling.errors()
    assert error["id"] == f"order-{bad['id']}" and error["check"] == "shop" and error["retry"] is False
    assert "could not be read" in error["reason"]
    assert [r["id"] for r in koppeling.reporting()] == [f"order-{good['id']}"]
    koppeling.close()


def test_the_shop_client_turns_no_answer_into_shop_unavailable():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    client = CCVShopClient(f"http://127.0.0.1:{port}", "pub", "secret", timeout=5)
    with pytest.raises(ShopUnavailable) as raised:
        client.order(1)
    assert raised.value.status == 0 and isinstance(raised.value.__cause__, requests.RequestException)


def test_a_twinfield_answer_lost_twice_stays_unknown_then_a_late_commit_is_recognised(world):
    order = world.order(rows=[{"price": 121.00, "tax": 21}], **ROWS)
    # Twinfield books, but the answer is lost; and the look-up right after cannot reach Twinfield either.
    world.runtime.rules.add("twinfield", {"when": {"kind": "transaction"}, "times": 1,
                                          "timeout": {"booked": True, "mode": "drop"}})

    def after_intent(point: str) -> None:
        if point == "after_intent":
            world.runtime.rules.add("twinfield", {"when": {"kind": "browse"}, "times": 1,
                                                  "timeout": {"mode": "gateway"}})

    koppeling = Koppeling.open(config_from_dict(world.settings()), world.workdir / "koppeling.db", world.clock,
                               sleep=world.advance, crash=after_intent)
    koppeling.sync()
    [error] = koppeling.errors()
    assert error["check"] == "unknown" and error["retry"] is True and "will look again" in error["reason"]
    assert koppeling.store.item("order", order["id"])["state"] == "posting"
    assert koppeling.sync()["settled"] == 1
    assert koppeling.errors() == [] and len(world.bookings(code="VRK")) == 1
    koppeling.close()


# -- 8. check 4 in invoice mode ---------------------------------------------------------------------------------


def test_check_4_in_invoice_mode_finds_an_invoice_posted_before(world):
    world.order(rows=[{"price": 121.00, "tax": 21}], **ROWS)
    first = world.koppeling(mode="invoice")
    assert first.sync()["posted"] == 1
    first.close()
    other = world.koppeling(state="other.db", mode="invoice")  # a koppeling that has no memory of it
    assert other.sync()["errors"] == 1
    [error] = other.errors()
    assert error["check"] == "posted" and error["reason"] == 'already posted: Twinfield has invoice 1 "Bestelling 1"'
    assert len(world.tw.invoice_views()) == 1
    other.close()


# -- 9. process again only on the Errors list ---------------------------------------------------------------------


def test_process_again_refuses_a_matched_payment(world):
    order = world.order(rows=[{"price": 121.00, "tax": 21}], paid=True, transaction_id="tr_9", **ROWS)
    koppeling = world.koppeling(payment_posting=True, paymethods={"11": {"suspense": "2000"}})
    koppeling.sync()
    assert koppeling.payments()["matched"] == 1
    with pytest.raises(KeyError, match="not|no error"):
        koppeling.process_again(f"payment-order-{order['id']}")
    assert koppeling.reporting()[0]["payment"]["state"] == "matched" and koppeling.errors() == []
    assert len(world.bookings(code="MEMO")) == 1
    koppeling.close()


# -- 10. smaller points --------------------------------------------------------------------------------------------


def test_the_shop_client_has_its_own_timeout(world):
    koppeling = world.koppeling(shop_timeout=3, twinfield_timeout=9)
    assert koppeling.shop.timeout == 3
    koppeling.close()


def test_a_refused_check_4_look_up_is_labelled_as_check_4(world, monkeypatch):
    from lxml import etree

    from clients.twinfield import Message, TwinfieldError

    world.order(rows=[{"price": 121.00, "tax": 21}], **ROWS)
    koppeling = world.koppeling()
    real = koppeling.twinfield.send

    def send(xml, office=None):  # Twinfield refuses the browse (result="0"), as for a user without the right
        if xml.startswith("<columns"):
            raise TwinfieldError([Message("columns", "", "error", "Geen toegang tot de browse.")],
                                 etree.Element("columns", result="0"))
        return real(xml, office)

    monkeypatch.setattr(koppeling.twinfield, "send", send)
    koppeling.sync()
    [error] = koppeling.errors()
    assert error["check"] == "posted" and error["reason"].startswith("check 4 (not posted before): Twinfield refused")
    assert koppeling.error_detail(error["id"])["messages"] == ["Geen toegang tot de browse."]
    assert world.tw.dimensions("NLA000001", "DEB") == []  # nothing written for it
    koppeling.close()
