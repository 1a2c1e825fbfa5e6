"""HEAD is GET without the body (RFC 9110 9.3.2), signed by the client with the method it sends: HEAD."""

from __future__ import annotations

import socket

import pytest

from clients.ccvshop.signing import hash_message


@pytest.mark.parametrize("uri", ["/api/rest/v1/orders/", "/api/rest/v1/orders/{id}/", "/api/rest/v1/paymethods"])
def test_head_answers_as_get_without_a_body(shop, uri):
    order = shop.orders(2)[0]
    uri = uri.format(id=order["id"])
    got = shop.signed("GET", uri)
    head = shop.signed("HEAD", uri)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == got.headers["Content-Length"] == str(len(got.content))
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert head.headers["X-RateLimit-Limit"] == got.headers["X-RateLimit-Limit"]
    # Signed over what the client receives: no body.
    expected = hash_message(shop.config.secret_key, shop.config.public_key, "HEAD", uri, b"", head.headers["x-date"])
    assert head.headers["x-hash"] == expected


def test_head_signed_as_get_is_refused(shop):
    uri = "/api/rest/v1/orders/"
    date = shop.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = hash_message(shop.config.secret_key, shop.config.public_key, "GET", uri, b"", date)
    import requests

    answer = requests.head(shop.root + uri, timeout=10, headers={
        "x-public": shop.config.public_key, "x-date": date, "x-hash": signature})
    assert answer.status_code == 401


def test_a_head_answer_has_no_body_on_the_wire_so_the_next_answer_follows_it(shop):
    date = shop.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    host, port = shop.root.removeprefix("http://").split(":")
    requests_on_one_connection = b""
    for method in ("HEAD", "GET"):
        uri = "/api/rest/v1/paymethods"
        signature = hash_message(shop.config.secret_key, shop.config.public_key, method, uri, b"", date)
        requests_on_one_connection += (f"{method} {uri} HTTP/1.1\r\nHost: x\r\nx-public: {shop.config.public_key}\r\n"
                                       f"x-date: {date}\r\nx-hash: {signature}\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(requests_on_one_connection)
        data = b""
        while data.count(b"HTTP/1.1 200") < 2 or not data.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    head_answer, _, rest = data.partition(b"\r\n\r\n")
    assert head_answer.startswith(b"HTTP/1.1 200") and rest.startswith(b"HTTP/1.1 200")  # no body in between
