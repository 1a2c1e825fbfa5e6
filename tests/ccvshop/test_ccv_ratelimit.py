"""Rate limits per resource and method, counted on the simulated clock; the window resets when it moves."""

from __future__ import annotations

import json
import math

import pytest

from simulators.ccvshop.config import CCVShopConfig
from simulators.ccvshop.ratelimit import RateLimiter


def test_the_defaults_are_150_reads_and_100_writes_per_minute():
    config = CCVShopConfig()
    assert (config.get_per_minute, config.write_per_minute, config.total_per_minute) == (150, 100, None)


def test_150_gets_pass_the_151st_is_429_10_with_retry_after(shop):
    for n in range(150):
        answer = shop.signed("GET", "/api/rest/v1/paymethods")
        assert answer.status_code == 200, n
    assert answer.headers["X-RateLimit-Limit"] == "150" and answer.headers["X-RateLimit-Remaining"] == "0"
    refused = shop.signed("GET", "/api/rest/v1/paymethods")
    assert refused.status_code == 429
    assert refused.json() == {"code": "429.10", "status": 429, "developermessage": refused.json()["developermessage"]}
    assert refused.headers["Retry-After"] == "60"
    assert int(refused.headers["X-RateLimit-Reset"]) == math.ceil(shop.now().timestamp()) + 60


def test_the_window_resets_on_the_simulated_clock(shop):
    shop.sim.configure(get_per_minute=3)
    for _ in range(3):
        assert shop.signed("GET", "/api/rest/v1/apps").status_code == 200
    shop.advance("40s")
    refused = shop.signed("GET", "/api/rest/v1/apps")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "20"
    shop.advance("19s")
    assert shop.signed("GET", "/api/rest/v1/apps").status_code == 429  # refused requests do not count, but 1s left
    shop.advance("1s")
    fresh = shop.signed("GET", "/api/rest/v1/apps")
    assert fresh.status_code == 200 and fresh.headers["X-RateLimit-Remaining"] == "2"


def test_limits_are_per_resource_and_method(shop):
    shop.sim.configure(get_per_minute=2, write_per_minute=1)
    order = shop.orders(1)[0]
    for _ in range(2):
        assert shop.signed("GET", "/api/rest/v1/apps").status_code == 200
    assert shop.signed("GET", "/api/rest/v1/apps").status_code == 429
    assert shop.signed("GET", "/api/rest/v1/paymethods").status_code == 200  # another resource: its own count
    patch = f"/api/rest/v1/orders/{order['id']}"
    assert shop.signed("PATCH", patch, body=b'{"status":2}').status_code == 204
    refused = shop.signed("PATCH", patch, body=b'{"status":3}')
    assert refused.status_code == 429 and refused.headers["X-RateLimit-Limit"] == "1"
    assert shop.model.order(order["id"])["status"] == 2  # the refused write changed nothing
    assert shop.signed("GET", patch).status_code == 200  # reads of orders are counted apart from writes


def test_a_total_limit_answers_429_11(shop):
    shop.sim.configure(total_per_minute=2)
    assert shop.signed("GET", "/api/rest/v1/apps").status_code == 200
    assert shop.signed("GET", "/api/rest/v1/paymethods").status_code == 200
    refused = shop.signed("GET", "/api/rest/v1/webhooks")
    assert refused.status_code == 429 and refused.json()["code"] == "429.11"


def test_unauthenticated_requests_do_not_use_up_the_limit(shop):
    shop.sim.configure(get_per_minute=1)
    for _ in range(3):
        assert shop.signed("GET", "/api/rest/v1/apps", secret="wrong").status_code == 401
    assert shop.signed("GET", "/api/rest/v1/apps").status_code == 200


def test_the_limiter_on_its_own_follows_the_clock_it_is_given(shop):
    from datetime import timedelta

    limiter = RateLimiter(shop.sim.configure(get_per_minute=1))
    now = shop.now()
    assert limiter.take("orders", "GET", now)["X-RateLimit-Remaining"] == "0"
    with pytest.raises(Exception) as refused:
        limiter.take("orders", "GET", now + timedelta(seconds=59))
    assert refused.value.headers["Retry-After"] == "1"
    assert limiter.take("orders", "GET", now + timedelta(seconds=60))["X-RateLimit-Remaining"] == "0"
    json.dumps(limiter.take("invoices", "GET", now))  # headers are plain strings
