"""Webhook addresses no socket can take: refused when registered, and one that got stored anyway (an older
state directory) fails its own delivery without holding up anyone else's."""

from __future__ import annotations

import json

import pytest
import requests

from clients.ccvshop import WebhookReceiver
from simulators.ccvshop import webhooks

from .conftest import TIMEOUT


@pytest.fixture
def receiver():
    with WebhookReceiver(keys=lambda path: None) as server:
        yield server


@pytest.mark.parametrize("address", ["http://h:99999/x", "http://127.0.0.1:abc/", "http://[::1", "http://h:0/x",
                                     "http://h/a b", "http://h/\u00e4", "http://h/\tx", "http:///x"])
def test_an_address_no_socket_can_take_is_refused_when_registered(shop, address):
    body = json.dumps({"event": "orders.updated.ispaid", "address": address}).encode()
    answer = shop.signed("POST", "/api/rest/v1/webhooks/", body=body)
    assert answer.status_code == 400 and answer.json()["code"] == "400.20", answer.text
    assert "'address'" in answer.json()["developermessage"]
    assert shop.model.webhooks.list() == []


def test_patching_in_a_bad_address_is_refused_too(shop):
    hook = shop.model.webhooks.create({"event": "orders.created", "address": "http://127.0.0.1:9/x"})
    answer = shop.signed("PATCH", f"/api/rest/v1/webhooks/{hook['id']}", body=b'{"address": "http://h:70000/"}')
    assert answer.status_code == 400 and answer.json()["code"] == "400.20"
    assert shop.model.webhooks.get(hook["id"])["address"] == "http://127.0.0.1:9/x"


def drain(shop) -> None:
    """Whatever is due is sent when this returns (by this drain or by the pump, whichever came first)."""
    drained = requests.post(shop.admin + "deliveries/drain", timeout=TIMEOUT)
    assert drained.status_code == 200, drained.text
    assert shop.model.webhooks.deliveries(status="pending") == []


def store_address_as_an_older_version_did(shop, address: str) -> None:
    """A registration from before addresses were checked, straight into the state database."""
    with shop.model.store.transaction() as db:
        db.execute("INSERT INTO ccv_webhooks (id, createdate, event, address, key, is_active) "
                   "VALUES (1000001, '2026-11-20T08:00:00Z', 'orders.updated.ispaid', ?, 'k', 1)", (address,))


@pytest.mark.parametrize("address", ["http://h:99999/x", "http://127.0.0.1:abc/", "http://[::1", "http://h/\u00e4"])
def test_a_stored_bad_address_fails_its_delivery_and_the_others_still_go(shop, receiver, address):
    store_address_as_an_older_version_did(shop, address)
    shop.model.webhooks.create({"event": "orders.updated.ispaid", "address": receiver.url + "/good"})
    order = shop.orders(1, paid=False)[0]
    shop.model.mark_paid(order["id"])
    drain(shop)
    bad, good = shop.model.webhooks.deliveries()
    assert (bad["address"], bad["status"], bad["attempts"]) == (address, "failed", 1)  # never retried
    assert "address" in bad["last_error"]
    assert (good["status"], good["last_status"]) == ("delivered", 200)
    assert [r.path for r in receiver.received] == ["/good"]
    shop.advance("1d")
    assert len(receiver.received) == 1


def test_one_delivery_that_raises_does_not_stop_the_others(shop, receiver, monkeypatch):
    real_post = webhooks.post

    def post(url, *args, **kwargs):
        if url.endswith("/first"):
            raise RuntimeError("a bug of the sender")
        return real_post(url, *args, **kwargs)

    monkeypatch.setattr(webhooks, "post", post)
    for path in ("/first", "/second"):
        shop.model.webhooks.create({"event": "orders.updated.ispaid", "address": receiver.url + path})
    order = shop.orders(1, paid=False)[0]
    shop.model.mark_paid(order["id"])
    drain(shop)
    first, second = shop.model.webhooks.deliveries()
    assert first["status"] == "failed" and "RuntimeError" in first["last_error"]
    assert second["status"] == "delivered" and [r.path for r in receiver.received] == ["/second"]
