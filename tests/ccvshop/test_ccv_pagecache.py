"""A kept page of orders (rest.py, pagecache.py) is never served once any order changed, whoever changed it:
the REST API, the admin API, the model, or SQL straight into the store."""

from __future__ import annotations

import json

from simulators.ccvshop.pagecache import PageCache


def listed(shop, uri: str = "/api/rest/v1/orders/") -> list[dict]:
    answer = shop.signed("GET", uri)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_change_of_an_order_shows_in_the_next_page(shop):
    order = shop.orders(2, paid=False)[0]
    assert listed(shop) == listed(shop)  # the second answer is the kept page
    assert shop.signed("PATCH", f"/api/rest/v1/orders/{order['id']}", json.dumps({"paid": True}).encode()
                       ).status_code == 204
    assert [o["paid"] for o in listed(shop) if o["id"] == order["id"]] == [True]


def test_a_change_made_beside_the_model_shows_too(shop):
    order = shop.orders(1)[0]
    listed(shop)
    with shop.model.store.transaction() as db:  # what a scenario step or a migration may do
        row = db.execute("SELECT data FROM ccv_orders WHERE id = ?", (order["id"],)).fetchone()[0]
        data = json.loads(row)
        data["transaction_id"] = "changed under the REST layer"
        db.execute("UPDATE ccv_orders SET data = ? WHERE id = ?", (json.dumps(data), order["id"]))
    assert [o["transaction_id"] for o in listed(shop) if o["id"] == order["id"]] == ["changed under the REST layer"]


def test_new_orders_and_a_reset_show(shop):
    shop.orders(1)
    before = len(listed(shop))
    shop.orders(1)
    assert len(listed(shop)) == before + 1
    shop.sim.reset()
    assert len(listed(shop)) == len(shop.model.orders())


def test_pages_are_kept_per_version_and_the_cache_is_bounded():
    cache, made = PageCache(max_pages=2), []

    def render(text: bytes):
        return lambda: made.append(text) or text

    assert cache.get("a", 1, render(b"A1")) == b"A1"
    assert cache.get("a", 1, render(b"other")) == b"A1"
    assert cache.get("a", 2, render(b"A2")) == b"A2"
    cache.get("b", 1, render(b"B1"))
    cache.get("c", 1, render(b"C1"))  # full: starts over
    assert cache.get("a", 2, render(b"A2 again")) == b"A2 again"
    assert made == [b"A1", b"A2", b"B1", b"C1", b"A2 again"]


def test_a_kept_page_is_signed_anew_for_every_answer(shop):
    """The signature of a kept page is continued from a kept HMAC state with each answer's own x-date: it must
    be exactly the HMAC a client computes over the whole answer (the SDK's validateResponse)."""
    from clients.ccvshop.signing import hash_message

    shop.orders(3)
    uri = "/api/rest/v1/orders/"
    seen = []
    for _ in range(3):
        answer = shop.signed("GET", uri)
        assert answer.status_code == 200
        expected = hash_message(shop.config.secret_key, shop.config.public_key, "GET", uri, answer.content,
                                answer.headers["x-date"])
        assert answer.headers["x-hash"] == expected
        seen.append((answer.content, answer.headers["x-date"], answer.headers["x-hash"]))
        shop.advance("1s")
    assert len({content for content, _, _ in seen}) == 1, "one kept page"
    assert len({(date, signature) for _, date, signature in seen}) == 3, "each answer its own date and signature"
