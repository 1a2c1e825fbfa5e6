"""Regression tests for the second comparison of the koppeling with seed 003: the koppeling's own booking after
a lost answer and an outage, and the customer's VAT number checked before it goes on a new debtor. (The other
points are scenarios 45-49 in scenarios/koppeling, with their bookings line by line.)"""

from __future__ import annotations

import pytest

from clients.koppeling import Koppeling, config_from_dict

ROWS = {"shipping": 0, "payment_option": 0, "extra_costs": 0, "credit_points": 0, "coupon": 0, "paymethod_id": 11,
        "country": "NL", "b2b": False}
ICP = {"icp": True, "country": "DE", "vat_number": "DE136695976", "rows": [{"price": 50.00}], "shipping": 0,
       "payment_option": 0, "extra_costs": 0, "credit_points": 0, "coupon": 0, "paymethod_id": 11}
TWINFIELD_DOWN = {"code": 100, "http": 500}


# -- the koppeling's own booking after a lost answer ------------------------------------------------------------


@pytest.mark.parametrize("outage", ["twinfield look-up", "shop read", "VIES", "VAT code read"])
def test_after_a_lost_answer_an_outage_does_not_make_the_own_booking_someone_elses(world, outage):
    """Twinfield books the order but its answer is lost, and Twinfield cannot be asked (the look-up right after,
    and the next run's) - meanwhile one more thing is down for the next attempt. Every run is a new process
    (a restart). The run after the outage must recognise the booking as its own: posted, once."""
    order = world.order(**ICP) if outage == "VIES" else world.order(rows=[{"price": 121.00, "tax": 21}], **ROWS)
    rules = world.runtime.rules
    rules.add("twinfield", {"when": {"kind": "transaction"}, "times": 1, "timeout": {"booked": True, "mode": "drop"}})
    down_next = {
        "twinfield look-up": None,  # the next attempt's check 4 cannot look either
        "shop read": ("ccvshop", {"when": {"method": "GET", "path": f"/api/rest/v1/orders/{order['id']}/"},
                                  "error": {"code": "500.1"}, "times": 1}),
        "VIES": ("vies", {"when": {"country": "DE"}, "fault": "MS_UNAVAILABLE", "times": 1}),
        "VAT code read": ("twinfield", {"when": {"kind": "read", "type": "vat"}, "fault": TWINFIELD_DOWN,
                                        "times": 1}),
    }[outage]
    armed: list[str] = []

    def after_intent(point: str) -> None:  # the booking is about to go out: from now on Twinfield is hard to reach
        if point == "after_intent" and not armed:
            armed.append(point)
            rules.add("twinfield", {"when": {"kind": "browse"}, "fault": TWINFIELD_DOWN,
                                    "times": 3 if down_next is None else 2})
            if down_next:
                rules.add(*down_next)

    def run(crash=lambda point: None) -> tuple[list[dict], list[dict], list[dict]]:
        """One run as its own process: the Errors tab with *more info*, and the Reporting tab after it."""
        koppeling = Koppeling.open(config_from_dict(world.settings()), world.workdir / "koppeling.db", world.clock,
                                   sleep=world.advance, crash=crash)
        try:
            koppeling.sync()
            errors = koppeling.errors()
            return errors, [koppeling.error_detail(e["id"]) for e in errors], koppeling.reporting()
        finally:
            koppeling.close()
            world.advance("15m")

    errors, _, _ = run(after_intent)
    assert [e["check"] for e in errors] == ["unknown"]
    [error], [detail], _ = run()
    assert error["retry"] is True and error["check"] != "posted", error
    assert detail["request"].startswith("<transaction")  # what was sent is kept with the order
    errors, _, reporting = run()
    assert errors == []
    [posted] = reporting
    assert posted["id"] == f"order-{order['id']}" and posted["twinfield"]["number"] == "202600001"
    assert len(world.bookings(code="VRK")) == 1


def test_after_twinfield_refused_a_booking_a_booking_found_later_is_not_taken_for_its_own(world):
    """A refusal is an answer: that request was not booked. If a booking with the number shows up afterwards
    (someone booked it by hand), check 4 reports it instead of taking it as the koppeling's."""
    order = world.order(rows=[{"price": 121.00, "tax": 21}], **ROWS)
    world.runtime.rules.add("twinfield", {"when": {"kind": "transaction"}, "times": 1,
                                          "reject": {"msg": "Periode 2026/11 is afgesloten."}})
    koppeling = world.koppeling()
    koppeling.sync()
    assert [e["check"] for e in koppeling.errors()] == ["twinfield"]
    assert koppeling.store.item("order", order["id"])["sent_request"] is None
    other = world.koppeling(state="by-hand.db")  # another koppeling books the same order number
    assert other.sync()["posted"] == 1
    again = koppeling.process_again(f"order-{order['id']}")
    assert again["check"] == "posted" and again["reason"].startswith("already posted: Twinfield has VRK")
    assert len(world.bookings(code="VRK")) == 1
    koppeling.close()
    other.close()


# -- the customer's VAT number ---------------------------------------------------------------------------------


def test_a_vat_number_is_checked_before_it_goes_on_a_new_debtor(world):
    """Seed 003, debtor: "BTW nummer [vatnumber] - deze wordt gecontroleerd op correctheid". Not an ICP order,
    so no VIES: the format and check digits (python-stdnum). An invalid one is left off and noted; the order
    is posted all the same."""
    b2b = {**ROWS, "b2b": True, "rows": [{"price": 121.00, "tax": 21}]}
    bad = world.order(**b2b, vat_number="NL123", customer={"email": "bad@bedrijf.example"})
    world.order(**b2b, vat_number="004495445B01", customer={"email": "bare@bedrijf.example"})
    world.order(**b2b, vat_number="nl 0044.95.445.b01", customer={"email": "good@bedrijf.example"})
    koppeling = world.koppeling()
    asked: list[str] = []
    real = koppeling.vies.check
    koppeling.vies.check = lambda number: (asked.append(number), real(number))[1]
    assert koppeling.sync()["posted"] == 3 and koppeling.errors() == []
    debtors = {d["email"]: d["vatnumber"] for d in world.tw.dimensions("NLA000001", "DEB")}
    assert debtors == {"bad@bedrijf.example": None, "bare@bedrijf.example": "NL004495445B01",
                       "good@bedrijf.example": "NL004495445B01"}
    notes = {r["id"]: r["notes"] for r in koppeling.reporting()}
    assert notes.pop(f"order-{bad['id']}") == [
        "VAT number 'NL123' is not a valid EU VAT number (format or check digits): left off the debtor"]
    assert set(map(tuple, notes.values())) == {()}
    assert asked == []  # VIES is for ICP orders (check 2)
    koppeling.close()


def test_a_state_file_from_before_keeps_its_open_intents_as_sent(tmp_path):
    """Files written before ``sent_request`` held an open intent's request in the detail only: on opening, it
    becomes the lasting record, so the next run still recognises that booking as its own."""
    import json
    import sqlite3

    from clients.koppeling.posting import was_sent
    from clients.koppeling.store import KoppelingStore

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE items (kind TEXT NOT NULL, source_id INTEGER NOT NULL, number TEXT NOT NULL, "
                   "order_id INTEGER, invoicenumber TEXT, state TEXT NOT NULL, check_name TEXT, reason TEXT, "
                   "retry INTEGER NOT NULL DEFAULT 0, detail TEXT NOT NULL DEFAULT '{}', customer TEXT, email TEXT, "
                   "tw_kind TEXT, tw_number TEXT, total TEXT, paid INTEGER NOT NULL DEFAULT 0, paymethod_id INTEGER, "
                   "transaction_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, "
                   "updated_at TEXT NOT NULL, PRIMARY KEY (kind, source_id))")
        for source_id, state, detail in ((1, "posting", {"request": "<transaction/>"}), (2, "error", {"sale": {}})):
            db.execute("INSERT INTO items (kind, source_id, number, state, detail, created_at, updated_at) "
                       "VALUES ('order', ?, ?, ?, ?, 'then', 'then')", (source_id, str(source_id), state,
                                                                        json.dumps(detail)))
    store = KoppelingStore(path)
    assert store.item("order", 1)["sent_request"] == "<transaction/>" and was_sent(store.item("order", 1))
    assert not was_sent(store.item("order", 2))
    store.close()
