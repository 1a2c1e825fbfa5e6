"""Webhooks end to end: registered over the API, delivered to a real HTTP server, signed, retried on the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clients.ccvshop import WebhookReceiver, verify_webhook
from simulators.ccvshop.resources import api_time
from simulators.core.clock import monotonic, parse_instant, real_sleep

from .conftest import make_runtime

WAIT_SECONDS = 10  # real seconds for the background pump to deliver (real I/O)


@pytest.fixture
def receiver():
    keys: dict[str, str] = {}
    server = WebhookReceiver(keys=lambda path: keys.get(path.strip("/")))
    server.keys_by_event = keys
    server.start()
    yield server
    server.stop()


def register(shop, receiver, *events: str) -> None:
    client = shop.client()
    for event in events:
        receiver.keys_by_event[event] = client.create_webhook(event, f"{receiver.url}/{event}")["key"]


def wait_for(predicate, what: str) -> None:
    deadline = monotonic() + WAIT_SECONDS
    while not predicate():
        if monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        real_sleep(0.01)  # real I/O: the pump thread posts to a real socket


def test_paid_status_and_track_and_trace_are_delivered_without_anyone_draining(shop, receiver):
    register(shop, receiver, "orders.updated.ispaid", "orders.updated.status", "orders.updated.trackandtrace")
    order = shop.orders(1, paid=False, status=1)[0]
    shop.client().update_order(order["id"], paid=True, status=5, track_and_trace_code="3SXYZ",
                               track_and_trace_carrier="PostNL")
    wait_for(lambda: len(receiver.accepted()) == 3, "three deliveries by the pump")
    by_event = {r.path.strip("/"): r for r in receiver.accepted()}
    assert by_event["orders.updated.ispaid"].data["paid"] is True
    assert (by_event["orders.updated.status"].data["previous_status"], by_event["orders.updated.status"].data[
        "status"]) == (1, 5)
    assert by_event["orders.updated.trackandtrace"].data["track_and_trace_carrier"] == "PostNL"
    assert all(r.verified for r in receiver.accepted())  # x-hash: HMAC-SHA512 of the body with the key
    body = by_event["orders.updated.ispaid"]
    assert body.data["triggered_at"] == api_time(shop.now()) and body.data["id"] == order["id"]
    assert body.headers["content-type"] == "application/json"


def test_created_and_invoice_status_events(shop, receiver):
    register(shop, receiver, "orders.created", "invoices.updated.status")
    order = shop.model.create_order({"paid": False})
    invoice = shop.model.create_invoice(order["id"])
    shop.model.mark_paid(order["id"], "tr_123")
    shop.model.webhooks.drain()
    events = [(r.path.strip("/"), r.data) for r in receiver.accepted()]
    assert [e for e, _ in events] == ["orders.created", "invoices.updated.status"]
    assert events[0][1]["ordernumber_full"] == order["ordernumber_full"]
    assert events[1][1] | {"triggered_at": None} == events[1][1] | {
        "triggered_at": None, "id": invoice["id"], "previous_status": "unpaid", "status": "paid"}
    assert shop.model.invoice(invoice["id"])["status"] == "paid"


def test_a_failing_receiver_gets_retries_on_the_clock_then_the_delivery_is_kept_as_failed(shop, receiver):
    shop.sim.configure(webhook_retry_delays=["1m", "5m"])
    register(shop, receiver, "orders.updated.ispaid")
    receiver.fail_first = 5
    order = shop.orders(1, paid=False)[0]
    shop.model.mark_paid(order["id"])
    shop.model.webhooks.drain()
    (delivery,) = shop.model.webhooks.deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == ("pending", 1, 500)
    assert parse_instant(delivery["next_attempt_at"]) == shop.now() + timedelta(minutes=1)
    shop.advance("59s")
    assert shop.model.webhooks.deliveries()[0]["attempts"] == 1  # not due yet: nothing sent early
    shop.advance("1s")
    assert shop.model.webhooks.deliveries()[0]["attempts"] == 2
    shop.advance("5m")
    (delivery,) = shop.model.webhooks.deliveries()
    assert (delivery["status"], delivery["attempts"]) == ("failed", 3)
    assert len(receiver.received) == 3 and receiver.accepted() == []
    shop.advance("1h")
    assert len(receiver.received) == 3  # given up: no more attempts
    kinds = [e["outcome"] for e in shop.runtime.journal.entries(kind="ccv.webhook_delivery")]
    assert kinds == ["pending", "pending", "failed"]


def test_a_retry_succeeds_when_the_receiver_is_back(shop, receiver):
    register(shop, receiver, "orders.updated.status")
    receiver.fail_first = 1
    order = shop.orders(1, status=1)[0]
    shop.model.set_status(order["id"], 2)
    shop.model.webhooks.drain()
    shop.advance("1m")
    (delivery,) = shop.model.webhooks.deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == ("delivered", 2, 200)
    assert delivery["delivered_at"] == api_time(shop.now())
    assert len(receiver.accepted()) == 1


def test_an_unreachable_address_is_an_error_not_a_crash(shop):
    shop.model.webhooks.create({"event": "orders.created", "address": "http://127.0.0.1:9/closed"})
    shop.model.create_order({})
    shop.model.webhooks.drain()
    (delivery,) = shop.model.webhooks.deliveries()
    assert delivery["status"] == "pending" and delivery["last_status"] is None
    assert "Error" in delivery["last_error"]
    assert shop.signed("GET", "/api/rest/v1/webhooks").status_code == 200  # still serving


def test_inactive_and_deleted_webhooks_get_nothing(shop, receiver):
    client = shop.client()
    hook = client.create_webhook("orders.created", f"{receiver.url}/orders.created", is_active=False)
    shop.model.create_order({})
    shop.model.webhooks.drain()
    assert receiver.received == []
    assert shop.signed("PATCH", f"/api/rest/v1/webhooks/{hook['id']}", body=b'{"is_active":true}').status_code == 204
    shop.model.create_order({})
    shop.model.webhooks.drain()
    assert len(receiver.received) == 1
    client.delete_webhook(hook["id"])
    assert client.webhooks() == []
    shop.model.create_order({})
    shop.model.webhooks.drain()
    assert len(receiver.received) == 1


def test_registration_is_checked(shop):
    for body, fragment in [(b'{"event":"orders.paid","address":"http://x/y"}', "event"),
                           (b'{"event":"orders.created","address":"ftp://x/y"}', "address"),
                           (b'{"event":"orders.created"}', "address"),
                           (b'{"event":"orders.created","address":"http://x/y","secret":"s"}', "secret")]:
        refused = shop.signed("POST", "/api/rest/v1/webhooks", body=body)
        assert refused.status_code == 400 and fragment in refused.json()["developermessage"], body
    assert shop.model.webhooks.list() == []


def test_a_pending_delivery_survives_a_restart_and_is_sent_after_it(tmp_path):
    keys: dict[str, str] = {}
    with WebhookReceiver(keys=lambda path: keys.get("k")) as receiver:
        receiver.fail_first = 1
        first = make_runtime(tmp_path)
        first.start()
        try:
            model = first.simulators["ccvshop"].model
            keys["k"] = model.webhooks.create({"event": "orders.created", "address": receiver.url + "/hook"})["key"]
            model.create_order({})
            model.webhooks.drain()
            assert model.webhooks.deliveries()[0]["status"] == "pending"
        finally:
            first.stop()
        second = make_runtime(tmp_path)
        second.start()
        try:
            second.scheduler.advance("1m")  # the retry event was kept in the state database
            (delivery,) = second.simulators["ccvshop"].model.webhooks.deliveries()
            assert delivery["status"] == "delivered" and delivery["attempts"] == 2
            assert receiver.accepted()[0].verified
        finally:
            second.stop()


def test_verify_webhook_rejects_a_changed_body():
    from simulators.ccvshop.webhooks import sign

    assert verify_webhook("k", b'{"id":1}', sign("k", b'{"id":1}'))
    assert not verify_webhook("k", b'{"id":2}', sign("k", b'{"id":1}')) and not verify_webhook("k", b"", None)
