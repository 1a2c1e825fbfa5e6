"""Scripted faults: Twinfield refuses a booking, times out (before or after booking it), faults or throttles."""

from __future__ import annotations

import pytest

from clients.twinfield import TwinfieldError, TwinfieldFault, TwinfieldUnavailable

LINES = [{"type": "total", "dim1": "1300", "dim2": "4000", "debitcredit": "debit", "value": "121.00"},
         {"type": "detail", "dim1": "8000", "debitcredit": "credit", "value": "100.00", "vatcode": "VH"}]


def rule(tw, **body) -> dict:
    response = tw.api("POST", "/api/rules", json={"sim": "twinfield", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_reject_rule_refuses_the_booking_with_its_message(tw, customer):
    rule(tw, when={"kind": "transaction", "invoicenumber": "5870"}, reject={"msg": "Periode 2026/11 is gesloten."},
         times=1)
    client = tw.client()
    with pytest.raises(TwinfieldError) as refused:
        client.post_transaction("VRK", LINES, invoicenumber="5870")
    assert refused.value.texts == ["Periode 2026/11 is gesloten."]
    assert tw.bookings() == []
    client.post_transaction("VRK", LINES, invoicenumber="5870")  # once: the second attempt goes through
    assert len(tw.bookings()) == 1


@pytest.mark.parametrize("booked", [False, True])
def test_a_dropped_connection_leaves_the_booking_booked_or_not(tw, customer, booked):
    rule(tw, when={"kind": "transaction"}, timeout={"booked": booked, "mode": "drop"}, times=1)
    client = tw.client()
    with pytest.raises(TwinfieldUnavailable):
        client.post_transaction("VRK", LINES, invoicenumber="T1")
    assert len(tw.bookings()) == (1 if booked else 0)
    # a careful koppeling looks before posting again: the open items say whether it got in
    assert bool(client.open_items(invoicenumber="T1")) is booked
    assert tw.runtime.journal.entries(kind="twinfield.timeout")[0]["booked"] is booked


def test_a_gateway_timeout_is_a_504(tw, customer):
    rule(tw, when={"operation": "ProcessXmlString"}, timeout={"mode": "gateway"}, times=1)
    client = tw.client()
    with pytest.raises(TwinfieldUnavailable) as late:
        client.post_transaction("VRK", LINES, invoicenumber="G1")
    assert late.value.status == 504 and tw.bookings() == []


def test_a_fault_rule_answers_a_soap_fault_with_the_code(tw, customer):
    rule(tw, when={"kind": "transaction"}, fault={"code": 100, "http": 500}, times=1)
    client = tw.client()
    with pytest.raises(TwinfieldFault) as fault:
        client.post_transaction("VRK", LINES, invoicenumber="F1")
    assert (fault.value.code, fault.value.status, fault.value.message) == (100, 500, "Unexpected exception.")


def test_a_throttle_rule_makes_the_client_wait_on_the_clock(tw, customer):
    rule(tw, when={"kind": "transaction"}, throttle={"retry_after": 120}, times=2)
    client = tw.client()
    before = tw.clock.now()
    client.post_transaction("VRK", LINES, invoicenumber="R1")
    assert (tw.clock.now() - before).total_seconds() == 240 and len(tw.bookings()) == 1


def test_rules_are_checked_when_they_are_set(tw):
    for body in ({"reject": {"msg": 1}}, {"timeout": {"mode": "later"}}, {"explode": {}}, {"fault": "x"}):
        response = tw.api("POST", "/api/rules", json={"sim": "twinfield", "when": {}, **body})
        assert response.status_code == 400, body
