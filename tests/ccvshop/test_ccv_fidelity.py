"""Our resources against the real ones: the same keys, nested the same way, with the same JSON types.

The real samples are a GET order and a GET orderrow from a live shop and three real webhook bodies
(../shared/reference/ccvshop, see SOURCES.md); the other resources are checked against the field list of
the official JSON schemas. Skipped, with the reason, when ../shared is not there.
"""

from __future__ import annotations

import json

import pytest

from simulators.ccvshop import resources

from .conftest import reference

NUMBER = "number"


def shape(value):
    """A JSON value's structure: dicts by key, scalars by JSON type (int and float are both 'number')."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return NUMBER
    if value is None:
        return "null"
    return "string"


def compare(ours, real, path="") -> list[str]:
    """Differences in keys and types; a null on either side matches any type (a nullable field)."""
    if isinstance(real, dict) or isinstance(ours, dict):
        if not (isinstance(real, dict) and isinstance(ours, dict)):
            return [f"{path or '.'}: ours {ours!r}, real {real!r}"]
        found = [f"{path}.{key}: missing in ours" for key in real.keys() - ours.keys()]
        found += [f"{path}.{key}: not in the real resource" for key in ours.keys() - real.keys()]
        for key in real.keys() & ours.keys():
            found += compare(ours[key], real[key], f"{path}.{key}")
        return found
    if "null" in (ours, real) or ours == real:
        return []
    return [f"{path}: ours {ours}, real {real}"]


def test_a_generated_order_has_the_real_orders_keys_nesting_and_types(shop):
    real = json.loads(reference("order_339323562.json").read_text())
    for options in ({"country": "NL", "b2b": False}, {"icp": True}, {"international": True, "b2b": True},
                    {"credit_points": 2.5, "coupon": 5, "extra_costs": -3}):
        order = shop.client().get(f"orders/{shop.orders(**options)[0]['id']}")
        problems = compare(shape(order), shape(real))
        assert problems == [], f"{options}: {problems}"


def test_the_quirks_of_the_real_order_are_kept(shop):
    real = json.loads(reference("order_339323562.json").read_text())
    created = shop.orders(credit_points=1)[0]  # credit points need a user: user.id is then set
    order = shop.client().get(f"orders/{created['id']}")
    assert isinstance(real["user"]["id"], str) and isinstance(order["user"]["id"], str)  # a string id
    assert order["href"].endswith(f"/api/rest/v1/orders/{created['id']}/")  # own href ends in '/'
    assert order["orderrows"]["href"].endswith(f"/orders/{created['id']}/orderrows/")
    assert not order["user"]["href"].endswith("/")  # the user link does not
    assert order["ordernumber_full"] == str(order["ordernumber"])  # no prefix: the number as text
    assert order["create_date"].endswith("Z") and len(order["create_date"]) == len(real["create_date"])


def test_an_order_row_has_the_real_rows_keys_and_types(shop):
    real = json.loads(reference("orderrow_648228528.json").read_text())
    order = shop.orders(row_discount=True)[0]
    row_id = shop.model.order_rows(order["id"])[0]["id"]
    row = shop.client().get(f"orderrows/{row_id}")
    assert compare(shape(row), shape(real)) == []
    assert not row["parent"]["href"].endswith("/") and row["href"].endswith("/")
    # the sample's relations between the prices: selling = price - discount, total = selling * count
    assert real["selling_price"] == real["price"] - real["discount"]
    assert row["selling_price"] == round(row["price"] - row["discount"], 2)
    assert row["total_price"] == round(row["selling_price"] * row["count"], 2)


@pytest.mark.parametrize("sample, event", [("webhook_orders_updated_ispaid.json", "orders.updated.ispaid"),
                                           ("webhook_orders_updated_status.json", "orders.updated.status"),
                                           ("webhook_orders_updated_trackandtrace.json",
                                            "orders.updated.trackandtrace")])
def test_webhook_bodies_have_the_real_keys_types_and_order(shop, sample, event):
    real = json.loads(reference(sample).read_text())
    order = shop.orders(paid=False, status=1)[0]
    shop.model.webhooks.create({"event": event, "address": "http://127.0.0.1:9/unused"})
    shop.model.patch_order(order["id"], {"paid": True, "status": 5, "track_and_trace_code": "3SABCD1234",
                                         "track_and_trace_carrier": "PostNL"})
    (delivery,) = shop.model.webhooks.deliveries(event)
    assert compare(shape(delivery["body"]), shape(real)) == []
    assert list(delivery["body"]) == list(real), "the fields in the sample's order (a client may read it raw)"
    assert delivery["body"]["href"] == f"{shop.root}/api/rest/v1/orders/{order['id']}"  # no trailing slash


def schema_fields(resource: str) -> set[str]:
    fields, current = set(), None
    for line in reference("schema_fields_from_jacobdekeizer_models.txt").read_text().splitlines():
        if line.startswith("== "):
            current = line[3:].strip()
        elif current == resource and line.strip() and not line.startswith("#"):
            fields.add(line.split("\t")[0])
    return fields


def test_invoices_and_their_rows_have_the_fields_of_the_official_schema(shop):
    order = shop.orders(paid=True)[0]
    invoice = shop.model.create_invoice(order["id"])
    client = shop.client()
    got = client.get(f"invoices/{invoice['id']}")
    assert set(got) == schema_fields("Resource/Invoices/Invoices")
    assert isinstance(got["order"], str) and got["order"].endswith(f"/orders/{order['id']}")  # a plain URL
    row = client.get(f"invoices/{invoice['id']}/invoicerows")["items"][0]
    assert set(row) == schema_fields("Resource/Invoicerows/Invoicerows")
    assert isinstance(row["invoice_id"], str)  # "invoice_id string" in the schema
    assert set(got["customer"]) >= schema_fields("Entity/Personalinfo/Personalinfo")


def test_collections_paymethods_and_webhooks_have_the_schema_fields(shop):
    client = shop.client()
    listing = client.get("paymethods")
    assert set(listing) == schema_fields("Resource/Collection/Orders/Orders")
    assert set(listing["items"][0]) == schema_fields("Resource/Paymethods/Paymethods")
    created = client.create_webhook("orders.created", "http://127.0.0.1:9/x")
    assert set(created) == schema_fields("Resource/Webhooks/Webhooks")
    order = client.get(f"orders/{shop.orders()[0]['id']}")
    # basket_href and checkout_href are "only available when 'is_completed' is false" (the real sample lacks them)
    assert set(order) == schema_fields("Resource/Orders/Orders") - {"basket_href", "checkout_href"}


def test_order_rendering_lists_every_key_once():
    assert len(set(resources.ORDER_KEYS)) == len(resources.ORDER_KEYS)
    assert len(set(resources.ROW_KEYS)) == len(resources.ROW_KEYS)
    assert len(set(resources.INVOICE_KEYS)) == len(resources.INVOICE_KEYS)
