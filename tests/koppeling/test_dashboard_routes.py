"""The dashboard's routes through Flask's test client, over a real koppeling against the simulators.

What a browser cannot easily show: status codes (404 for unknown ids, 405 for a GET of a POST-only action,
403 for a form of another site, 400 for a foreign Host), escaping in the raw HTML, what a problem report
stores. The browser tests (test_dashboard_browser.py) cover the same pages as a user clicks them.
"""

from __future__ import annotations

import json

import pytest

from clients.koppeling.web import REPORT_KEY, DashboardServer, create_app

ROWS = [{"price": 121.00, "tax": 21, "product_name": "Fiets"}]
PLAIN = {"country": "NL", "b2b": False, "shipping": 0, "payment_option": 0, "extra_costs": 0,
         "credit_points": 0, "coupon": 0, "paymethod_id": 11}


@pytest.fixture
def dashboard(world):
    koppeling = world.koppeling()
    yield koppeling, create_app(koppeling).test_client()
    koppeling.close()


def reject(world, number: str, msg: str) -> dict:
    return world.runtime.rules.add("twinfield", {"when": {"kind": "transaction", "invoicenumber": number},
                                                 "reject": {"msg": msg}})


def test_empty_tabs_say_so(dashboard):
    _, client = dashboard
    assert client.get("/").headers["Location"].endswith("/reporting")
    page = client.get("/reporting").get_data(as_text=True)
    assert 'id="reporting-empty"' in page and 'aria-current="page"' in page
    page = client.get("/errors").get_data(as_text=True)
    assert 'id="errors-empty"' in page and "Errors (0)" in page


def test_unknown_ids_are_404(dashboard):
    _, client = dashboard
    unknown = ("/errors/order-999", "/errors/nonsense", "/errors/payment-order-999",
               "/errors/order-999/report")
    for path in unknown:
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "not" in answer.get_data(as_text=True).lower()
    assert client.post("/errors/order-999/process-again").status_code == 404
    assert client.post("/errors/order-999/report").status_code == 404


def test_actions_are_post_only(world, dashboard):
    koppeling, client = dashboard
    order = world.order(rows=ROWS, **PLAIN)
    reject(world, order["ordernumber_full"], "Periode is gesloten.")
    koppeling.sync()
    error_id = f"order-{order['id']}"
    assert client.get(f"/errors/{error_id}/process-again").status_code == 405
    assert client.get(f"/errors/{error_id}").status_code == 200
    assert [e["id"] for e in koppeling.errors()] == [error_id]  # a GET changed nothing
    assert world.bookings() == []


def test_a_form_of_another_site_cannot_process_again(world, dashboard):
    koppeling, client = dashboard
    order = world.order(rows=ROWS, **PLAIN)
    rule = reject(world, order["ordernumber_full"], "Periode is gesloten.")
    koppeling.sync()
    world.runtime.rules.remove(rule["id"])
    error_id = f"order-{order['id']}"
    assert client.post(f"/errors/{error_id}/process-again",
                       headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post(f"/errors/{error_id}/process-again",
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post(f"/errors/{error_id}/process-again", headers={"Origin": "null"}).status_code == 403
    assert client.get("/reporting", headers={"Host": "evil.example"}).status_code == 400
    assert world.bookings() == []
    same_site = client.post(f"/errors/{error_id}/process-again", headers={"Origin": "http://localhost"})
    assert same_site.status_code == 200 and len(world.bookings()) == 1


def test_process_again_shows_the_outcome_and_a_second_post_is_404(world, dashboard):
    koppeling, client = dashboard
    order = world.order(rows=ROWS, **PLAIN)
    rule = reject(world, order["ordernumber_full"], "Periode is gesloten.")
    koppeling.sync()
    error_id = f"order-{order['id']}"
    still = client.post(f"/errors/{error_id}/process-again").get_data(as_text=True)
    assert "Still an error" in still and "Periode is gesloten." in still
    world.runtime.rules.remove(rule["id"])
    posted = client.post(f"/errors/{error_id}/process-again").get_data(as_text=True)
    number = koppeling.reporting()[0]["twinfield"]["number"]
    assert "Posted." in posted and number in posted
    assert client.post(f"/errors/{error_id}/process-again").status_code == 404
    assert len(world.bookings(invoicenumber=order["ordernumber_full"])) == 1


def test_hostile_text_is_escaped_in_the_html(world, dashboard):
    koppeling, client = dashboard
    hostile = '<script>alert("x")</script>'
    order = world.order(rows=[{**ROWS[0], "product_name": hostile}], **PLAIN)
    reject(world, order["ordernumber_full"], '<img src=x onerror="alert(1)"> & co')
    koppeling.sync()
    error_id = f"order-{order['id']}"
    pages = [client.get(p).get_data(as_text=True) for p in ("/errors", f"/errors/{error_id}")]
    pages.append(client.post(f"/errors/{error_id}/report").get_data(as_text=True))
    for page in pages:
        assert "<script>" not in page and "<img src=x" not in page
        assert "&lt;img src=x onerror=" in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in pages[1]  # the order in short
    assert "&amp;lt;script&amp;gt;" in pages[1]  # the request XML: escaped once by XML, once by HTML


def test_report_problem_is_kept_in_the_koppelings_state(world, dashboard):
    koppeling, client = dashboard
    order = world.order(rows=ROWS, **PLAIN)
    reject(world, order["ordernumber_full"], "Boekjaar 2026 is niet open.")
    koppeling.sync()
    error_id = f"order-{order['id']}"
    page = client.post(f"/errors/{error_id}/report").get_data(as_text=True)
    assert "nothing was sent anywhere" in page
    stored = json.loads(koppeling.store.meta(REPORT_KEY.format(error_id)))
    assert stored["id"] == error_id and stored["check"] == "twinfield"
    assert stored["messages"] == koppeling.error_detail(error_id)["messages"]
    assert stored["request"].startswith("<transaction") and stored["reported_at"] == "2026-11-20T08:00:00Z"
    assert client.get(f"/errors/{error_id}/report").get_json() == stored
    errors_tab = client.get("/errors").get_data(as_text=True)
    assert ">reported</a>" in errors_tab and "Report problem</button>" not in errors_tab


def test_server_binds_loopback_on_a_free_port_and_stops_twice(world):
    import requests

    koppeling = world.koppeling()
    server = DashboardServer(koppeling).start()
    try:
        assert server.host == "127.0.0.1" and server.port > 0
        answer = requests.get(f"{server.url}/reporting", timeout=10)
        assert answer.status_code == 200 and "Reporting (0)" in answer.text
    finally:
        server.stop()
        server.stop()
        koppeling.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/reporting", timeout=5)


def test_two_presses_at_once_process_once(world):
    from concurrent.futures import ThreadPoolExecutor

    import requests

    koppeling = world.koppeling()
    order = world.order(rows=ROWS, **PLAIN)
    rule = reject(world, order["ordernumber_full"], "Periode is gesloten.")
    koppeling.sync()
    world.runtime.rules.remove(rule["id"])
    url = f"/errors/order-{order['id']}/process-again"
    with DashboardServer(koppeling) as server, ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: requests.post(server.url + url, timeout=30).status_code, range(2)))
    koppeling.close()
    assert sorted(answers) == [200, 404]
    assert len(world.bookings(invoicenumber=order["ordernumber_full"])) == 1


def test_a_failing_koppeling_is_a_500_page_that_says_why(world, dashboard, monkeypatch):
    koppeling, client = dashboard
    order = world.order(rows=ROWS, **PLAIN)
    reject(world, order["ordernumber_full"], "Periode is gesloten.")
    koppeling.sync()

    def broken(error_id, wait=True):
        raise RuntimeError("<b>Twinfield</b> went away")

    monkeypatch.setattr(koppeling, "process_again", broken)
    answer = client.post(f"/errors/order-{order['id']}/process-again")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 500
    assert "RuntimeError: &lt;b&gt;Twinfield&lt;/b&gt; went away" in page


def test_process_again_while_another_process_runs_is_409_busy_and_changes_nothing(world, dashboard):
    from clients.koppeling.lock import StateLock

    koppeling, client = dashboard
    order = world.order(rows=ROWS, **PLAIN)
    rule = reject(world, order["ordernumber_full"], "Periode is gesloten.")
    koppeling.sync()
    world.runtime.rules.remove(rule["id"])
    with StateLock(koppeling.store.path).hold():  # the daemon's run, as another process holds it
        answer = client.post(f"/errors/order-{order['id']}/process-again")
    assert answer.status_code == 409 and "The koppeling is busy" in answer.get_data(as_text=True)
    assert [e["id"] for e in koppeling.errors()] == [f"order-{order['id']}"] and world.bookings() == []
    assert client.post(f"/errors/order-{order['id']}/process-again").status_code == 200
    assert len(world.bookings()) == 1
