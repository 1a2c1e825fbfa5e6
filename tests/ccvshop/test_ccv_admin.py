"""The admin API under /api/ccvshop/ over real HTTP, the app handshake, and state across a restart."""

from __future__ import annotations

import json

import requests
from openapi_spec_validator import validate

from clients.ccvshop import WebhookReceiver
from clients.ccvshop.signing import verify_handshake

from .conftest import TIMEOUT, make_runtime


def post(shop, path: str, body: dict | None = None) -> requests.Response:
    return requests.post(shop.admin + path, json=body if body is not None else {}, timeout=TIMEOUT)


def get(shop, path: str, **params) -> requests.Response:
    return requests.get(shop.admin + path, params=params, timeout=TIMEOUT)


def test_generate_pay_change_status_invoice_and_credit(shop):
    created = post(shop, "orders", {"count": 2, "country": "BE", "b2b": False, "paid": False})
    assert created.status_code == 201
    orders = created.json()
    assert [o["customer"]["billingaddress"]["country_code"] for o in orders] == ["BE", "BE"]
    assert all(o["orderrows"] and isinstance(o["orderrows"], list) for o in orders)
    first = orders[0]["id"]
    paid = post(shop, f"orders/{first}/pay", {"transaction_id": "tr_ADMIN"}).json()
    assert paid["paid"] is True and paid["transaction_id"] == "tr_ADMIN"
    assert post(shop, f"orders/{first}/status", {"status": 7}).json()["status"] == 7
    invoice = post(shop, f"orders/{first}/invoice")
    assert invoice.status_code == 201 and invoice.json()["status"] == "paid" and invoice.json()["type"] == "debit"
    credit = post(shop, f"orders/{first}/credit").json()
    assert credit["type"] == "credit" and credit["total_price"] == -invoice.json()["total_price"]
    assert credit["total_tax"] == -invoice.json()["total_tax"]
    reimbursed = post(shop, f"invoices/{credit['id']}/status", {"status": "reimbursed"}).json()
    assert reimbursed["status"] == "reimbursed" and reimbursed["status_name"] == "Terugbetaald"
    assert get(shop, f"orders/{first}/check").json() == {"consistent": True, "problems": []}
    listed = get(shop, "orders", is_paid="true").json()
    assert [o["id"] for o in listed] == [first]
    assert len(get(shop, "invoices").json()) == 2


def test_a_credit_needs_an_invoice_and_options_are_checked(shop):
    order = shop.orders(1)[0]
    refused = post(shop, f"orders/{order['id']}/credit")
    assert refused.status_code == 400 and "no invoice" in refused.json()["error"]["message"]
    bad = post(shop, "orders", {"shipping": 4.999})
    assert bad.status_code == 400 and "two decimals" in bad.json()["error"]["message"]
    assert post(shop, "orders", {"count": 0}).status_code == 400
    assert post(shop, f"orders/{order['id']}/status", {"status": "5"}).status_code == 400
    assert get(shop, "orders/1").status_code == 404


def test_an_inconsistent_order_is_made_on_request(shop):
    order = post(shop, "orders", {"inconsistent_total": -0.07}).json()[0]
    check = get(shop, f"orders/{order['id']}/check").json()
    assert check["consistent"] is False and check["problems"][0].startswith("total_price")


def test_keys_endpoints_codes_and_the_openapi_document(shop):
    keys = get(shop, "keys").json()
    assert keys["public_key"] == shop.config.public_key and keys["base_url"] == shop.root + "/api/rest/v1/"
    endpoints = requests.get(shop.runtime.endpoint("admin").url + "api/endpoints", timeout=TIMEOUT).json()
    (ccv,) = [e for e in endpoints if e["simulator"] == "ccvshop"]
    assert ccv["credentials"][0]["secret_key"] == shop.config.secret_key and ccv["url"].endswith("/api/rest/v1/")
    codes = {c["code"]: c for c in get(shop, "codes").json()}
    assert codes["429.10"]["provenance"].startswith("real") and codes["401.13"]["provenance"] == "[CHOSEN]"
    document = requests.get(shop.runtime.endpoint("admin").url + "api/openapi.json", timeout=TIMEOUT).json()
    validate(document)
    assert "/api/ccvshop/orders/{order_id}/pay" in document["paths"]


def test_deliveries_are_listed_and_drained_through_the_admin_api(shop):
    with WebhookReceiver() as receiver:
        post(shop, "webhooks", {"event": "orders.updated.ispaid", "address": receiver.url + "/paid"})
        order = shop.orders(1, paid=False)[0]
        post(shop, f"orders/{order['id']}/pay")
        post(shop, "deliveries/drain")
        (delivery,) = get(shop, "deliveries", event="orders.updated.ispaid").json()
        assert delivery["status"] == "delivered" and delivery["body"]["paid"] is True and "key" not in delivery
        assert get(shop, "deliveries", status="failed").json() == []


def test_vat_numbers_for_a_vies_simulator(shop):
    known = post(shop, "orders", {"icp": True, "country": "DE"}).json()[0]["customer"]["btw"]
    unknown = post(shop, "orders", {"icp": True, "country": "FR", "vat_registered": False}).json()[0]["customer"]["btw"]
    listed = {v["full"]: v for v in get(shop, "vat-numbers").json()}
    assert listed[known]["registered"] is True and listed[known]["country_code"] == "DE"
    assert listed[unknown]["registered"] is False and listed[unknown]["check_digits_valid"] is True
    assert listed[known]["name"]


def test_the_app_handshake_and_install_flow(shop):
    with WebhookReceiver() as app:
        url = app.url + "/Handshake.php"
        answer = post(shop, "app/handshake", {"url": url}).json()
        assert answer["status"] == 200
        (received,) = app.received
        assert verify_handshake(shop.config.app_secret, url, received.body, received.headers["x-hash"])
        credentials = json.loads(received.body)
        assert set(credentials) == {"api_public", "api_secret", "api_root", "return_url", "customer_id",
                                    "create_date"}
    # what the app then does with those credentials (App-Example-Code's Install step)
    from clients.ccvshop import CCVShopClient

    client = CCVShopClient(credentials["api_root"], credentials["api_public"], credentials["api_secret"],
                           clock=shop.runtime.clock)
    (app_resource,) = client.apps()
    assert app_resource["is_installed"] is False
    client.mark_installed(app_resource["id"])
    assert client.get(f"apps/{app_resource['id']}")["is_installed"] is True


def test_orders_invoices_and_webhooks_survive_a_restart(tmp_path):
    first = make_runtime(tmp_path, seed_orders=3)
    first.start()
    try:
        first.scheduler.run_due()  # the seed orders are made just after start, not in its way
        model = first.simulators["ccvshop"].model
        model.create_invoice(model.orders()[0]["id"])
        model.webhooks.create({"event": "orders.created", "address": "http://127.0.0.1:9/x"})
        orders = model.orders()
        assert len(orders) == 3 and orders[0]["invoicenumber"] == 1
    finally:
        first.stop()
    second = make_runtime(tmp_path, seed_orders=3)  # an existing shop is not seeded again
    second.start()
    try:
        second.scheduler.run_due()
        model = second.simulators["ccvshop"].model
        assert model.orders() == orders
        assert len(model.invoices()) == 1 and len(model.webhooks.list()) == 1
    finally:
        second.stop()


def test_seed_orders_a_stopped_start_left_pending_come_after_the_next_start_not_before(tmp_path):
    first = make_runtime(tmp_path, seed_orders=2)
    first.start()
    first.stop()  # before the seed orders were made: their event is still pending in the state dir
    second = make_runtime(tmp_path, seed_orders=2)
    second.start()
    try:
        model = second.simulators["ccvshop"].model
        assert model.orders() == []  # start (and /readyz) did not wait for them
        assert len(second.scheduler.pending("ccvshop.seed_orders")) == 1
        second.scheduler.run_due()
        assert len(model.orders()) == 2
    finally:
        second.stop()


def test_vat_number_listeners_hear_of_every_new_number(shop):
    heard: list[dict] = []
    shop.model.vat_number_listeners.append(heard.append)
    shop.model.vat_number_listeners.append(lambda entry: 1 / 0)  # a broken listener does not fail the order
    try:
        order = shop.model.create_order({"icp": True, "country": "IT", "vat_registered": False})
        shop.model.create_order({"country": "NL", "b2b": False})
    finally:
        shop.model.vat_number_listeners.clear()
    assert [h["full"] for h in heard] == [order["customer"]["btw"]] and heard[0]["registered"] is False
