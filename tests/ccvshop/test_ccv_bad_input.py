"""Bad input over real sockets: each gets CCV's JSON error, nothing is half written, the server keeps serving."""

from __future__ import annotations

import json
import socket

import pytest
import requests


def order_path(order: dict) -> str:
    return f"/api/rest/v1/orders/{order['id']}/"


@pytest.mark.parametrize("body, code", [(b'{"status": 5', "400.10"), (b"status=5", "400.10"),
                                        (b"\xff\xfe{}", "400.10"), (b'{"status": NaN}', "400.10"),
                                        (b"[" * 50_000 + b"]" * 50_000, "400.10"), (b"[5]", "400.20"),
                                        (b'"paid"', "400.20"), (b"", "400.10")])
def test_malformed_json_is_400_and_changes_nothing(shop, body, code):
    order = shop.orders(1, paid=False, status=1)[0]
    answer = shop.signed("PATCH", order_path(order), body=body)
    assert answer.status_code == 400 and answer.json()["code"] == code
    assert shop.model.order(order["id"]) == order


@pytest.mark.parametrize("changes, fragment", [
    ({"total_shipping": 4.955}, "at most two decimals"), ({"total_shipping": "4.95"}, "at most two decimals"),
    ({"extra_costs": True}, "at most two decimals"), ({"status": "5"}, "integer"), ({"status": 15}, "1-14"),
    ({"paid": "yes"}, "bool"), ({"ordernumber": 9}, "can not be set"), ({"customer": {}}, "can not be set")])
def test_bad_properties_are_refused_before_anything_is_written(shop, changes, fragment):
    order = shop.orders(1, paid=False, status=1)[0]
    body = dict(changes, status=changes.get("status", 2)) if "status" not in changes else changes
    answer = shop.signed("PATCH", order_path(order), body=json.dumps(body).encode())
    assert answer.status_code == 400 and answer.json()["code"] == "400.20"
    assert fragment in answer.json()["developermessage"]
    assert shop.model.order(order["id"]) == order  # not even the valid status of the same request


def test_amounts_with_two_decimals_recompute_the_totals(shop):
    order = shop.orders(1, country="NL", b2b=False, rows=[{"price": 20, "tax": 21}], shipping=0, coupon=0,
                        extra_costs=0, credit_points=0, payment_option=0, payment_costs=0)[0]
    answer = shop.signed("PATCH", order_path(order), body=b'{"total_shipping": 4.95, "extra_costs": -1.5}')
    assert answer.status_code == 204
    changed = shop.model.order(order["id"])
    assert (changed["total_shipping"], changed["extra_costs"], changed["total_price"]) == (4.95, -1.5, 23.45)


def test_a_declared_body_over_the_limit_is_413_in_ccv_json_and_the_server_goes_on(shop):
    shop.sim.configure(max_body_bytes=1000)
    order = shop.orders(1, paid=False)[0]
    big = json.dumps({"extra_costs_description": "x" * 2000}).encode()
    answer = shop.signed("PATCH", order_path(order), body=big)
    assert answer.status_code == 413 and answer.json()["code"] == "413.10"
    assert shop.signed("GET", order_path(order)).status_code == 200
    assert shop.model.order(order["id"]) == order


def test_a_chunked_body_over_the_limit_is_413_too(shop):
    shop.sim.configure(max_body_bytes=1000)
    order = shop.orders(1)[0]

    def chunks():
        for _ in range(30):
            yield b" " * 100

    answer = requests.patch(shop.root + order_path(order), data=chunks(), timeout=10,
                            headers={"x-public": shop.config.public_key, "x-date": "x", "x-hash": "y"})
    assert answer.status_code == 413 and answer.json()["code"] == "413.10"
    assert shop.signed("GET", order_path(order)).status_code == 200


def test_unknown_resources_methods_and_ids(shop):
    order = shop.orders(1)[0]
    assert shop.signed("GET", "/api/rest/v1/customers/").json()["code"] == "404.20"
    assert shop.signed("GET", "/api/rest/v1/orders/abc/").json()["code"] == "404.20"
    missing = shop.signed("GET", f"/api/rest/v1/orders/{order['id'] + 1000}/")
    assert missing.status_code == 404 and missing.json()["code"] == "404.10"
    put = shop.signed("PUT", order_path(order), body=b"{}")
    assert put.status_code == 405 and put.json()["code"] == "405.10" and put.headers["Allow"] == "GET, HEAD, PATCH"
    post = shop.signed("POST", "/api/rest/v1/orders/", body=b"{}")
    assert post.status_code == 501 and post.json()["code"] == "501.10"
    assert shop.signed("DELETE", "/api/rest/v1/invoices/1").status_code == 405
    outside = requests.get(shop.root + "/shop/", timeout=10)
    assert outside.status_code == 404 and outside.json()["code"] == "404.20"


def test_options_lists_the_methods_without_authentication(shop):
    answer = requests.options(shop.root + "/api/rest/v1/webhooks/5", timeout=10)
    assert answer.status_code == 204 and answer.headers["Allow"] == "DELETE, GET, HEAD, PATCH, OPTIONS"


def test_garbage_on_the_socket_does_not_stop_the_server(shop):
    host, port = shop.root.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"\x16\x03\x01\x02\x00garbage that is not HTTP\r\n\r\n")
        conn.recv(1024)
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"GET /api/rest/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
        conn.shutdown(socket.SHUT_WR)  # a body shorter than announced, then nothing
        conn.recv(1024)
    assert shop.signed("GET", "/api/rest/v1/apps").status_code == 200


def test_every_request_is_journaled_with_its_code(shop):
    shop.signed("GET", "/api/rest/v1/apps", secret="wrong")
    shop.signed("GET", "/api/rest/v1/apps")
    entries = shop.runtime.journal.entries(kind="http.request")
    assert [(e["status"], e["code"]) for e in entries[-2:]] == [(401, "401.13"), (200, None)]


def test_a_bug_of_the_simulator_is_still_a_ccv_json_error(shop, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("kapot")

    monkeypatch.setattr(shop.model, "apps", broken)
    answer = shop.signed("GET", "/api/rest/v1/apps")
    assert answer.status_code == 500 and answer.json()["code"] == "500.00"
    assert "kapot" not in answer.text  # no internals on the wire; the log has them
    monkeypatch.undo()
    assert shop.signed("GET", "/api/rest/v1/apps").status_code == 200
