"""HMAC authentication over real HTTP, edge by edge, and the signature on every success answer.

The hash is built by hand here (not with the client) so that the test states the rule itself:
x-hash = hex HMAC-SHA512(secret, "public|METHOD|uri|body|x-date").
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from clients.ccvshop.signing import hash_message


def hand_hash(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def test_the_documented_hash_string_is_what_the_server_checks(shop):
    shop.orders(2)
    date = shop.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    uri = "/api/rest/v1/orders/"
    signature = hand_hash(shop.config.secret_key, f"{shop.config.public_key}|GET|{uri}||{date}")
    import requests

    answer = requests.get(shop.root + uri, headers={"x-public": shop.config.public_key, "x-date": date,
                                                    "x-hash": signature}, timeout=10)
    assert answer.status_code == 200 and len(answer.json()["items"]) == 2


@pytest.mark.parametrize("form", ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S+00:00", "%Y-%m-%dT%H:%M:%S+0000",
                                  "%Y-%m-%dT%H:%M:%S.123Z", "%Y-%m-%dT%H:%M:%S"])
def test_every_x_date_form_clients_send_is_accepted(shop, form):
    answer = shop.signed("GET", "/api/rest/v1/paymethods/", date=shop.now().strftime(form))
    assert answer.status_code == 200, answer.text


def test_an_x_date_in_another_zone_means_the_same_instant(shop):
    local = (shop.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01:00")
    assert shop.signed("GET", "/api/rest/v1/paymethods/", date=local).status_code == 200


@pytest.mark.parametrize("offset, status", [(timedelta(minutes=5), 200), (timedelta(minutes=-5), 200),
                                            (timedelta(minutes=5, seconds=1), 401),
                                            (timedelta(minutes=-5, seconds=-1), 401)])
def test_the_five_minutes_skew_against_the_simulated_clock(shop, offset, status):
    date = (shop.now() + offset).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = shop.signed("GET", "/api/rest/v1/paymethods/", date=date)
    assert answer.status_code == status
    if status == 401:
        assert answer.json()["code"] == "401.12"
        assert "differs more than 0:05:00" in answer.json()["developermessage"]


def test_skew_follows_the_virtual_clock_not_the_wall_clock(shop):
    shop.advance("3d")  # the simulated clock is now days away from any real time
    assert shop.signed("GET", "/api/rest/v1/paymethods/").status_code == 200
    old = (shop.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert shop.signed("GET", "/api/rest/v1/paymethods/", date=old).json()["code"] == "401.12"


@pytest.mark.parametrize("uri", ["/api/rest/v1/paymethods", "/api/rest/v1/paymethods/"])
def test_paths_with_and_without_trailing_slash_both_work_signed_as_sent(shop, uri):
    assert shop.signed("GET", uri).status_code == 200


def test_the_uri_in_the_hash_is_exactly_what_was_sent(shop):
    """Signing the path without the slash but sending it with one (or the query in another order) fails."""
    import requests

    shop.orders(3)
    date = shop.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    public, secret = shop.config.public_key, shop.config.secret_key
    signed_for = hash_message(secret, public, "GET", "/api/rest/v1/orders?size=1&start=0", b"", date)
    headers = {"x-public": public, "x-date": date, "x-hash": signed_for}
    ok = requests.get(shop.root + "/api/rest/v1/orders?size=1&start=0", headers=headers, timeout=10)
    assert ok.status_code == 200 and len(ok.json()["items"]) == 1
    for other in ("/api/rest/v1/orders?start=0&size=1", "/api/rest/v1/orders/?size=1&start=0",
                  "/api/rest/v1/orders?size=1&start=0&"):
        refused = requests.get(shop.root + other, headers=headers, timeout=10)
        assert refused.status_code == 401 and refused.json()["code"] == "401.13", other


def test_a_percent_encoded_query_is_hashed_as_sent_not_decoded(shop):
    order = shop.orders(1, transaction_id="tr a/b")[0]
    uri = "/api/rest/v1/orders/?transaction_id=tr%20a%2Fb"
    answer = shop.signed("GET", uri)
    assert answer.status_code == 200
    assert [o["id"] for o in answer.json()["items"]] == [order["id"]]


def test_the_body_is_hashed_raw(shop):
    order = shop.orders(1, paid=False)[0]
    uri = f"/api/rest/v1/orders/{order['id']}/"
    body = b'{ "status" : 5 }'  # spaces and all: hashed byte for byte
    assert shop.signed("PATCH", uri, body=body).status_code == 204
    assert shop.model.order(order["id"])["status"] == 5
    import requests

    date = shop.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    compact = hash_message(shop.config.secret_key, shop.config.public_key, "PATCH", uri, b'{"status":6}', date)
    refused = requests.patch(shop.root + uri, data=b'{"status": 6}', timeout=10,
                             headers={"x-public": shop.config.public_key, "x-date": date, "x-hash": compact})
    assert refused.json()["code"] == "401.13" and shop.model.order(order["id"])["status"] == 5


@pytest.mark.parametrize("drop", ["x-public", "x-date", "x-hash"])
def test_a_missing_header_is_401_10(shop, drop):
    import requests

    date = shop.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {"x-public": shop.config.public_key, "x-date": date,
               "x-hash": hash_message(shop.config.secret_key, shop.config.public_key, "GET", "/api/rest/v1/apps", b"",
                                      date)}
    del headers[drop]
    answer = requests.get(shop.root + "/api/rest/v1/apps", headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"code": "401.10", "status": 401, "developermessage": answer.json()["developermessage"]}
    assert drop in answer.json()["developermessage"]


def test_wrong_key_secret_case_and_garbage_dates(shop):
    assert shop.signed("GET", "/api/rest/v1/apps", public="someone-else").json()["code"] == "401.11"
    assert shop.signed("GET", "/api/rest/v1/apps", secret="not-the-secret").json()["code"] == "401.13"
    assert shop.signed("GET", "/api/rest/v1/apps", date="gisteren").json()["code"] == "401.12"
    upper = shop.signed("GET", "/api/rest/v1/apps", headers={})
    assert upper.status_code == 200
    import requests

    date = shop.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    shout = hash_message(shop.config.secret_key, shop.config.public_key, "GET", "/api/rest/v1/apps", b"", date).upper()
    refused = requests.get(shop.root + "/api/rest/v1/apps", timeout=10,
                           headers={"x-public": shop.config.public_key, "x-date": date, "x-hash": shout})
    assert refused.json()["code"] == "401.13"  # lowercase hex, compared exactly


def test_the_401_message_shows_the_string_that_was_expected_but_never_the_secret(shop):
    answer = shop.signed("GET", "/api/rest/v1/apps?x=1", secret="wrong")
    message = answer.json()["developermessage"]
    assert f"{shop.config.public_key}|GET|/api/rest/v1/apps?x=1||" in message
    assert shop.config.secret_key not in message


def test_every_success_is_signed_over_the_answer_and_the_uri_as_sent(shop):
    order = shop.orders(1, paid=False)[0]
    public, secret = shop.config.public_key, shop.config.secret_key
    for method, uri, body, status in [
        ("GET", "/api/rest/v1/orders?size=1", b"", 200),
        ("GET", f"/api/rest/v1/orders/{order['id']}", b"", 200),
        ("PATCH", f"/api/rest/v1/orders/{order['id']}/", json.dumps({"status": 2}).encode(), 204),
        ("POST", "/api/rest/v1/webhooks/", b'{"event":"orders.created","address":"http://127.0.0.1:9/x"}', 201),
    ]:
        answer = shop.signed(method, uri, body=body)
        assert answer.status_code == status
        date = answer.headers["x-date"]
        assert answer.headers["x-hash"] == hand_hash(secret, f"{public}|{method}|{uri}|{answer.text}|{date}")
    deleted = shop.signed("DELETE", f"/api/rest/v1/webhooks/{json.loads(answer.text)['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert "Content-Type" not in deleted.headers, "no body, so no type"
    assert "Content-Length" not in deleted.headers, "a 204 has no Content-Length (RFC 9110 8.6)"
    assert deleted.headers["x-hash"] == hand_hash(
        secret, f"{public}|DELETE|/api/rest/v1/webhooks/{json.loads(answer.text)['id']}||{deleted.headers['x-date']}")


def test_error_answers_are_not_signed(shop):
    answer = shop.signed("GET", "/api/rest/v1/orders/1/")
    assert answer.status_code == 404 and "x-hash" not in answer.headers
