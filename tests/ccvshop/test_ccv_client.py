"""The CCV Shop client against the simulator (and against fakes that lie): signing, checking, paging, 429s."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from clients.ccvshop import CCVShopClient, CCVShopError, RateLimited, SignatureError
from clients.ccvshop.models import Row, id_from_url
from clients.ccvshop.signing import hash_message
from simulators.core.httpserver import HTTPListener


def test_pages_through_a_collection_by_its_next_links(shop):
    created = shop.orders(7)
    client = shop.client()
    seen = []
    original = client.request

    def spy(method, path, query=None, body=None):
        seen.append(path)
        return original(method, path, query, body)

    client.request = spy
    assert [o.id for o in client.orders(size=3)] == [o["id"] for o in created]
    assert len(seen) == 3 and seen[1].startswith(shop.root) and "start=3&size=3" in seen[1]


def test_typed_orders_rows_and_invoices_with_exact_decimals(shop):
    order = shop.orders(1, country="NL", b2b=False, rows=[{"price": 10.10, "count": 3, "tax": 21, "discount": 0.1},
                                                          {"price": 0.1, "count": 7, "tax": 9}],
                        shipping=4.95, paid=True, payment_costs=0, payment_option=0, extra_costs=0,
                        credit_points=0, coupon=0)[0]
    client = shop.client()
    typed = client.order(order["id"])
    assert typed.total_orderrow_price == Decimal("30.70")  # 3 x 10.00 + 7 x 0.10, no float noise
    assert typed.total_price == Decimal("35.65") and typed.paid and typed.customer.delivery_country == "NL"
    rows = client.order_rows(order["id"])
    assert [r.total_price for r in rows] == [Decimal("30.00"), Decimal("0.70")]
    assert rows[0].discount_total == Decimal("0.30") and rows[0].code == rows[0].product_number
    invoice = shop.model.create_invoice(order["id"])
    (typed_invoice,) = client.order_invoices(order["id"])
    assert typed_invoice.order_id == order["id"] and typed_invoice.invoicenumber_full == invoice["invoicenumber_full"]
    assert client.invoice_rows(invoice["id"])[1].total_price == Decimal("0.70")


def test_a_tax_below_one_is_read_as_a_fraction():
    row = Row.from_json({"id": 1, "tax": 0.21, "count": 1, "price": 1, "total_price": 1})
    assert row.vat_percentage == Decimal("21.00")
    assert id_from_url("https://x/api/rest/v1/orders/42") == 42 and id_from_url(None) is None


@pytest.mark.parametrize("style", ["Z", "+00:00", "+0000"])
def test_each_date_style_is_accepted(shop, style):
    assert shop.client(date_style=style).paymethods()


def test_filters_and_patch_through_the_client(shop):
    paid = shop.orders(2, paid=True, paymethod_id=11)
    shop.orders(1, paid=False, paymethod_id=3)
    client = shop.client()
    assert [o.id for o in client.orders(is_paid=True, paymethod_id=11)] == [o["id"] for o in paid]
    client.update_order(paid[0]["id"], status=7)
    assert client.order(paid[0]["id"]).status == 7
    with pytest.raises(CCVShopError) as refused:
        client.update_order(paid[0]["id"], total_shipping="4.95")
    assert refused.value.status == 400 and refused.value.code == "400.20"


def test_a_429_is_waited_out_on_the_injected_clock_without_sleeping(shop):
    shop.sim.configure(get_per_minute=2)
    shop.orders(1)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the clock moves, nobody sleeps
        waits.append(seconds)
        shop.advance(timedelta(seconds=seconds))

    client = shop.client(sleep=sleep)
    started = shop.now()
    for _ in range(3):
        client.paymethods()
    assert waits == [60.0]
    assert shop.now() - started == timedelta(seconds=60)


def test_rate_limited_after_the_allowed_waits(shop):
    shop.sim.configure(get_per_minute=1)
    client = shop.client(sleep=lambda seconds: None, max_rate_waits=2)  # a sleep that does not move the clock
    client.apps()
    with pytest.raises(RateLimited) as limited:
        client.apps()
    assert limited.value.code == "429.10" and limited.value.headers["retry-after"] == "60"


class Liar:
    """A fake shop: a valid answer with a chosen x-hash (or none)."""

    def __init__(self, public: str, secret: str, mode: str) -> None:
        self.public, self.secret, self.mode = public, secret, mode

    def __call__(self, environ, start_response):
        body = json.dumps({"start": 0, "size": 25, "href": "", "first": "", "previous": None, "next": None,
                           "items": [{"id": 1, "combined_name": "BankTransfer"}]}).encode()
        uri = environ["RAW_URI"]
        date = "2026-11-20T08:00:00Z"
        good = hash_message(self.secret, self.public, "GET", uri, body, date)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if self.mode == "tampered":
            headers += [("x-date", date), ("x-hash", hash_message(self.secret, self.public, "GET", uri, body + b" ",
                                                                  date))]
        elif self.mode == "good":
            headers += [("x-date", date), ("x-hash", good)]
        start_response("200 OK", headers)
        return [body]


@pytest.mark.parametrize("mode, refused", [("unsigned", True), ("tampered", True), ("good", False)])
def test_an_unsigned_or_badly_signed_success_is_refused(mode, refused):
    server = HTTPListener("fake-ccv", "127.0.0.1", 0, Liar("pub", "sec", mode))
    server.start()
    try:
        client = CCVShopClient(server.url, "pub", "sec", timeout=10)
        if refused:
            with pytest.raises(SignatureError):
                client.paymethods()
        else:
            assert client.paymethods() == [{"id": 1, "combined_name": "BankTransfer"}]
    finally:
        server.stop()


def test_a_next_link_to_another_host_is_not_followed(shop):
    class Redirecting(Liar):
        def __call__(self, environ, start_response):
            body = json.dumps({"items": [{"id": 1}], "next": "http://evil.example/api/rest/v1/paymethods?start=1"})
            body = body.encode()
            date = "2026-11-20T08:00:00Z"
            start_response("200 OK", [("x-date", date), ("x-hash", hash_message(
                self.secret, self.public, "GET", environ["RAW_URI"], body, date))])
            return [body]

    server = HTTPListener("fake-ccv-next", "127.0.0.1", 0, Redirecting("pub", "sec", "good"))
    server.start()
    try:
        with pytest.raises(CCVShopError, match="another host"):
            CCVShopClient(server.url, "pub", "sec", timeout=10).paymethods()
    finally:
        server.stop()


def test_api_root_may_be_given_with_the_api_prefix(shop):
    client = CCVShopClient(shop.root + "/api/rest/v1/", shop.config.public_key, shop.config.secret_key,
                           clock=shop.runtime.clock)
    assert client.url("orders/") == shop.root + "/api/rest/v1/orders/"
    assert requests.get(shop.root + "/api/rest/v1/", timeout=10).status_code == 401  # signed or nothing
