"""Collections over the wire: start/size paging with full-URL links, every order and invoice filter, orderby."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest


def get(shop, uri: str):
    answer = shop.signed("GET", uri)
    return answer.status_code, answer.json()


def test_paging_links_are_full_urls_and_null_at_the_ends(shop):
    shop.orders(5)
    status, first = get(shop, "/api/rest/v1/orders/?size=2")
    assert status == 200
    assert (first["start"], first["size"], len(first["items"]), first["previous"]) == (0, 2, 2, None)
    assert first["next"] == f"{shop.root}/api/rest/v1/orders/?start=2&size=2"
    assert first["first"] == f"{shop.root}/api/rest/v1/orders/?start=0&size=2"
    last = get(shop, "/api/rest/v1/orders/?start=4&size=2")[1]
    assert len(last["items"]) == 1 and last["next"] is None
    assert last["previous"] == f"{shop.root}/api/rest/v1/orders/?start=2&size=2"
    beyond = get(shop, "/api/rest/v1/orders/?start=10&size=2")[1]
    assert beyond["items"] == [] and beyond["next"] is None


def test_links_keep_the_filters(shop):
    shop.orders(3, paid=True)
    page = get(shop, "/api/rest/v1/orders/?is_paid=true&size=1")[1]
    assert dict(parse_qsl(urlsplit(page["next"]).query)) == {"is_paid": "true", "start": "1", "size": "1"}
    # following the link, signed over exactly that link, works
    following = shop.signed("GET", page["next"][len(shop.root):])
    assert following.status_code == 200 and following.json()["start"] == 1


def test_default_size_and_clamping_to_the_largest(shop):
    shop.sim.configure(default_page_size=2, max_page_size=3)
    shop.orders(5)
    assert len(get(shop, "/api/rest/v1/orders")[1]["items"]) == 2
    clamped = get(shop, "/api/rest/v1/orders?size=1000")[1]
    assert clamped["size"] == 3 and len(clamped["items"]) == 3


@pytest.mark.parametrize("query", ["size=0", "size=abc", "start=-1", "start=1.5"])
def test_bad_paging_values_are_400(shop, query):
    status, body = get(shop, f"/api/rest/v1/orders?{query}")
    assert status == 400 and body["code"] == "400.20"


def test_every_order_filter(shop):
    when = shop.now()
    a = shop.orders(1, paid=True, status=5, paymethod_id=11, transaction_id="tr_A",
                    create_date=(when - timedelta(days=3)).isoformat())[0]
    b = shop.orders(1, paid=False, status=4, paymethod_id=3, create_date=(when - timedelta(days=1)).isoformat())[0]
    c = shop.orders(1, paid=True, status=7, paymethod_id=11, transaction_id="tr_C",
                    create_date=when.isoformat())[0]

    def ids(query: str) -> list[int]:
        status, body = get(shop, f"/api/rest/v1/orders?{query}")
        assert status == 200, body
        return [o["id"] for o in body["items"]]

    assert ids("is_paid=true") == [a["id"], c["id"]] and ids("is_paid=false") == [b["id"]]
    assert ids("is_paid=1") == [a["id"], c["id"]]
    assert ids("status=4") == [b["id"]]
    assert ids(f"ordernumber={c['ordernumber']}") == [c["id"]]
    assert ids("paymethod_id=11") == [a["id"], c["id"]]
    assert ids("transaction_id=tr_C") == [c["id"]]
    day_before = (when - timedelta(days=1)).date().isoformat()
    assert ids(f"min_create_date={day_before}") == [b["id"], c["id"]]
    assert ids(f"max_create_date={day_before}") == [a["id"], b["id"]]  # a date means the whole day
    assert ids(f"min_create_date={(when - timedelta(days=2)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
               f"&max_create_date={(when - timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}") == [b["id"]]
    assert ids("is_completed=false") == []  # every order of this shop is completed
    assert ids("orderby=create_date_desc") == [c["id"], b["id"], a["id"]]
    assert ids("orderby=ordernumber") == [a["id"], b["id"], c["id"]]


@pytest.mark.parametrize("query, fragment", [("status=paid", "status"), ("is_paid=maybe", "is_paid"),
                                             ("min_create_date=yesterday", "min_create_date"),
                                             ("vatnumber=NL1", "Unknown query parameter 'vatnumber'"),
                                             ("orderby=total_price", "orderby")])
def test_unreadable_or_unknown_filters_are_400_not_everything(shop, query, fragment):
    shop.orders(2)
    status, body = get(shop, f"/api/rest/v1/orders?{query}")
    assert status == 400 and body["code"] == "400.20" and fragment in body["developermessage"]


def test_invoice_filters(shop):
    first, second = shop.orders(2, paid=False)
    inv1 = shop.model.create_invoice(first["id"])
    inv2 = shop.model.create_invoice(second["id"])
    shop.model.mark_paid(second["id"])
    credit = shop.model.create_invoice(second["id"], credit=True)

    def ids(query: str) -> list[int]:
        status, body = get(shop, f"/api/rest/v1/invoices/?{query}")
        assert status == 200, body
        return [i["id"] for i in body["items"]]

    assert ids("status=unpaid") == [inv1["id"], credit["id"]] and ids("status=paid") == [inv2["id"]]
    assert ids(f"invoicenumber={inv2['invoicenumber']}") == [inv2["id"]]
    assert ids(f"ordernumber={second['ordernumber']}") == [inv2["id"], credit["id"]]
    assert ids(f"invoicenumber_full={credit['invoicenumber_full']}") == [credit["id"]]
    assert ids("orderby=invoicenumber_desc") == [credit["id"], inv2["id"], inv1["id"]]
    assert get(shop, "/api/rest/v1/invoices/?status=open")[1]["code"] == "400.20"
    nested = get(shop, f"/api/rest/v1/orders/{second['id']}/invoices/")[1]
    assert [i["type"] for i in nested["items"]] == ["debit", "credit"]


def test_child_collections_and_single_resources(shop):
    order = shop.orders(1, rows=3)[0]
    rows = get(shop, f"/api/rest/v1/orders/{order['id']}/orderrows")[1]
    assert [r["order_id"] for r in rows["items"]] == [order["id"]] * 3
    one = get(shop, f"/api/rest/v1/orderrows/{rows['items'][1]['id']}/")[1]
    assert one == rows["items"][1]
    assert get(shop, "/api/rest/v1/paymethods/3")[1]["label"] == "Vooraf overmaken"
    assert get(shop, f"/api/rest/v1/orders/{order['id'] + 99}/orderrows")[1]["code"] == "404.10"
