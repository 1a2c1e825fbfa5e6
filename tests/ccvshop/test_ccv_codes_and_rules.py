"""Error codes (names against numbers), scripted faults through the admin API, and the totals checker."""

from __future__ import annotations

import requests

from simulators.ccvshop import errors, totals

from .conftest import TIMEOUT


def test_every_code_is_its_status_a_dot_and_a_number_and_named_once():
    codes = [value for value in vars(errors).values() if isinstance(value, errors.Code)]
    assert len({c.code for c in codes}) == len(codes) == len(errors.CODES)
    for code in codes:
        status, _, number = code.code.partition(".")
        assert int(status) == code.status and number.isdigit()
        assert code.provenance.startswith(("real:", "[CHOSEN]"))
    # the ones the official SDK knows keep its numbers
    assert (errors.RATE_RESOURCE.code, errors.RATE_TOTAL.code, errors.METHOD_NOT_ALLOWED.code,
            errors.INVALID_RESOURCE.code, errors.METHOD_NOT_IMPLEMENTED.code) == ("429.10", "429.11", "405.10",
                                                                                  "404.20", "501.10")


def test_a_rule_set_through_the_admin_api_scripts_an_error_once(shop):
    shop.orders(1)
    admin = shop.runtime.endpoint("admin").url
    rule = {"sim": "ccvshop", "when": {"method": "PATCH", "resource": "orders"},
            "error": {"code": "500.10", "message": "boom"}, "times": 1}
    assert requests.post(admin + "api/rules", json=rule, timeout=TIMEOUT).status_code == 201
    order = shop.model.orders()[0]
    uri = f"/api/rest/v1/orders/{order['id']}/"
    failed = shop.signed("PATCH", uri, body=b'{"status":6}')
    assert failed.status_code == 500 and failed.json() == {"code": "500.10", "status": 500, "developermessage": "boom"}
    assert shop.model.order(order["id"])["status"] == order["status"]  # nothing written
    assert shop.signed("PATCH", uri, body=b'{"status":6}').status_code == 204  # the rule is used up


def test_bad_rules_are_refused_when_set(shop):
    admin = shop.runtime.endpoint("admin").url
    for rule in ({"sim": "ccvshop", "when": {}, "error": {"code": "oops"}},
                 {"sim": "ccvshop", "when": {"colour": "red"}, "error": {"code": "500.10"}},
                 {"sim": "ccvshop", "when": {}, "answer": {"code": "500.10"}}):
        answer = requests.post(admin + "api/rules", json=rule, timeout=TIMEOUT)
        assert answer.status_code == 400, rule


def test_posting_to_an_orders_invoices_creates_its_invoice(shop):
    order = shop.orders(1, paid=True)[0]
    created = shop.signed("POST", f"/api/rest/v1/orders/{order['id']}/invoices/", body=b"{}")
    assert created.status_code == 201 and created.json()["status"] == "paid"
    refused = shop.signed("POST", f"/api/rest/v1/orders/{order['id']}/invoices/", body=b'{"type":"credit"}')
    assert refused.status_code == 400 and len(shop.model.invoices()) == 1


def test_the_totals_checker_finds_a_changed_row_or_total(shop):
    order = shop.orders(1, rows=2)[0]
    rows = shop.model.order_rows(order["id"])
    assert totals.problems(order, rows) == []
    assert totals.problems({**order, "total_tax": order["total_tax"] + 0.01}, rows)[0].startswith("total_tax")
    changed = [{**rows[0], "total_price": rows[0]["total_price"] + 1}, rows[1]]
    assert any(p.startswith(f"row {rows[0]['id']}") for p in totals.problems(order, changed))


def test_a_credit_invoice_negates_every_amount_and_still_adds_up(shop):
    order = shop.orders(1, shipping=4.95, extra_costs=2.5, coupon=5)[0]
    debit = shop.model.create_invoice(order["id"])
    credit = shop.model.create_invoice(order["id"], credit=True)
    for key in ("total_price", "total_tax", "total_shipping", "extra_costs", "total_discounts", "total_price_exc_tax"):
        assert credit[key] == -debit[key], key
    rows = shop.model.invoice_rows(credit["id"])
    assert totals.problems(credit, rows, incl_key="invoice_row_taxes_included") == []
    assert debit["total_price"] == order["total_price"] and debit["total_tax"] == order["total_tax"]
