"""Values that look like numbers or text but are not what a shop can keep: each a 400.20 naming the field,
nothing stored, and an accepted amount kept exactly as sent."""

from __future__ import annotations

import json

import pytest


def order_path(order: dict) -> str:
    return f"/api/rest/v1/orders/{order['id']}/"


@pytest.mark.parametrize("body, field", [
    (b'{"total_shipping": 1e300}', "total_shipping"),
    (b'{"total_shipping": 123456789012345678901234567890}', "total_shipping"),
    (b'{"paid": true, "total_shipping": 99999999999999999999999999}', "total_shipping"),
    (b'{"extra_costs": -1e30}', "extra_costs"),
    (b'{"track_and_trace_code": "\\ud800abc"}', "track_and_trace_code"),
    (b'{"status": 5, "extra_costs_description": "x\\udfffy"}', "extra_costs_description"),
])
def test_out_of_range_amounts_and_lone_surrogates_are_a_400_naming_the_field(shop, body, field):
    order = shop.orders(1, paid=False, status=1)[0]
    answer = shop.signed("PATCH", order_path(order), body=body)
    assert answer.status_code == 400 and answer.json()["code"] == "400.20", answer.text
    assert f"'{field}'" in answer.json()["developermessage"]
    assert shop.model.order(order["id"]) == order
    assert shop.model.webhooks.deliveries() == [] and shop.signed("GET", order_path(order)).status_code == 200


def test_a_webhook_address_with_a_lone_surrogate_is_a_400(shop):
    body = b'{"event": "orders.created", "address": "http://h/\\ud800"}'
    answer = shop.signed("POST", "/api/rest/v1/webhooks/", body=body)
    assert answer.status_code == 400 and answer.json()["code"] == "400.20", answer.text
    assert "'address'" in answer.json()["developermessage"]
    assert shop.model.webhooks.list() == []


@pytest.mark.parametrize("amount", [b"99999999999999999.99", b"100000000", b"-100000000.00"])
def test_an_amount_beyond_the_maximum_is_refused_not_rounded(shop, amount):
    order = shop.orders(1)[0]
    answer = shop.signed("PATCH", order_path(order), body=b'{"total_shipping": ' + amount + b"}")
    assert answer.status_code == 400 and answer.json()["code"] == "400.20", answer.text
    assert "out of range" in answer.json()["developermessage"]
    assert shop.model.order(order["id"]) == order


def test_an_amount_with_a_hidden_third_decimal_is_refused(shop):
    # As a float this is 0.1, so it used to pass the two-decimals check and be stored as 0.1.
    order = shop.orders(1)[0]
    answer = shop.signed("PATCH", order_path(order), body=b'{"total_shipping": 0.1000000000000000001}')
    assert answer.status_code == 400 and "at most two decimals" in answer.json()["developermessage"]
    assert shop.model.order(order["id"]) == order


def test_the_largest_amounts_are_kept_exactly_on_the_wire(shop):
    order = shop.orders(1, country="NL", b2b=False, rows=[{"price": 20, "tax": 21}], shipping=0, coupon=0,
                        extra_costs=0, credit_points=0, payment_option=0, payment_costs=0)[0]
    body = b'{"total_shipping": 99999999.99, "paymethod_costs": 99999999.99, "extra_costs": -0.01}'
    assert shop.signed("PATCH", order_path(order), body=body).status_code == 204
    text = shop.signed("GET", order_path(order)).text
    assert '"total_shipping":99999999.99' in text and '"paymethod_costs":99999999.99' in text
    assert '"total_price":200000019.97' in text  # 20 + 2 x 99999999.99 - 0.01, not rounded by a float


@pytest.mark.parametrize("query", [
    "ordernumber=%EF%BC%91", "status=%EF%BC%95", "paymethod_id=%D9%A1", "start=%EF%BC%91", "size=%EF%BC%92",
    "ordernumber=1%E2%80%8A", "ordernumber=1_0", "start=%201", "min_create_date=%EF%BC%92%EF%BC%90%EF%BC%92"
    "%EF%BC%96-11-20"])
def test_digits_of_other_scripts_are_not_numbers(shop, query):
    shop.orders(1)
    answer = shop.signed("GET", f"/api/rest/v1/orders/?{query}")
    assert answer.status_code == 400 and answer.json()["code"] == "400.20", (query, answer.text)
    name = query.split("=")[0]
    not_a_number = shop.signed("GET", f"/api/rest/v1/orders/?{name}=abc").json()
    assert answer.json()["code"] == not_a_number["code"]


def test_invoice_filters_take_ascii_digits_only_too(shop):
    answer = shop.signed("GET", "/api/rest/v1/invoices/?invoicenumber=%EF%BC%91")
    assert answer.status_code == 400 and answer.json()["code"] == "400.20"
    assert shop.signed("GET", "/api/rest/v1/invoices/?invoicenumber=1").status_code == 200


def test_an_admin_order_option_out_of_range_is_a_400_not_a_crash(shop):
    import requests

    for options in ({"shipping": 1e300}, {"rows": [{"price": 1, "count": 1e300}]},
                    {"rows": [{"price": 1, "tax": "２１"}]}, {"shipping_tax_percentage": 1e300}):
        answer = requests.post(shop.admin + "orders", data=json.dumps(options), timeout=10,
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, (options, answer.status_code, answer.text[:300])


def test_admin_ids_take_ascii_digits_only(shop):
    import requests

    order = shop.orders(1)[0]
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in str(order["id"]))
    assert requests.get(shop.admin + f"orders/{order['id']}", timeout=10).status_code == 200
    assert requests.get(shop.admin + f"orders/{fullwidth}", timeout=10).status_code == 404
