"""Fair use: credits per minute on the simulated clock (writes 3, reads 1), 429 + Retry-After, the client
waiting through its injected sleep (which moves the virtual clock: nothing here sleeps), and concurrency."""

from __future__ import annotations

import threading

import requests


def limit(tw, per_ip: int = 1000, per_client: int = 1000, concurrent: int = 10) -> None:
    tw.sim.configure(rate_limit_per_ip=per_ip, rate_limit_per_client=per_client,
                     max_concurrent_per_organisation=concurrent)


def write(tw, token: str, soap, sales_xml, number: str) -> requests.Response:
    return tw.post("processxml", soap.envelope(soap.process_string(sales_xml(number)), token))


def test_writes_cost_three_reads_one_and_the_window_is_simulated_time(tw, soap, sales_xml, customer):
    token = tw.token()
    limit(tw, per_ip=10)
    for number in ("W1", "W2", "W3"):
        assert write(tw, token, soap, sales_xml, number).status_code == 200
    read = soap.envelope(soap.process_string("<list><type>offices</type></list>"), token)
    assert tw.post("processxml", read).status_code == 200  # 9 + 1 = 10 credits: just within
    refused = write(tw, token, soap, sales_xml, "W4")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert tw.post("processxml", read).status_code == 429  # even one credit is too many now
    assert [b["invoicenumber"] for b in tw.bookings()] == ["W1", "W2", "W3"]
    tw.advance("30s")
    assert write(tw, token, soap, sales_xml, "W4").headers["Retry-After"] == "30"
    tw.advance("30s")
    assert write(tw, token, soap, sales_xml, "W4").status_code == 200


def test_the_client_honours_retry_after_by_moving_the_clock(tw, customer):
    client = tw.client()  # its sleep advances the virtual clock
    limit(tw, per_ip=9)
    started = tw.clock.now()
    numbers = [client.post_transaction("VRK", [
        {"type": "total", "dim1": "1300", "dim2": "4000", "debitcredit": "debit", "value": "121.00"},
        {"type": "detail", "dim1": "8000", "debitcredit": "credit", "value": "100.00", "vatcode": "VH"}],
        invoicenumber=f"C{i}") for i in range(4)]
    assert len(set(numbers)) == 4 and len(tw.bookings()) == 4
    assert (tw.clock.now() - started).total_seconds() == 60  # one wait of Retry-After, on the clock
    throttled = tw.runtime.journal.entries(kind="http.throttled")
    assert len(throttled) == 1 and throttled[0]["retry_after"] == 60


def test_the_client_id_has_its_own_bucket(tw, soap, sales_xml, customer):
    token = tw.token()
    limit(tw, per_client=6)
    assert write(tw, token, soap, sales_xml, "K1").status_code == 200
    assert write(tw, token, soap, sales_xml, "K2").status_code == 200
    assert write(tw, token, soap, sales_xml, "K3").status_code == 429


def test_too_many_requests_at_once_get_429(tw, soap, sales_xml, customer):
    token = tw.token()
    limit(tw, concurrent=1)
    tw.runtime.rules.add("twinfield", {"when": {"kind": "transaction", "invoicenumber": "SLOW"},
                                       "delay": {"seconds": 30}})
    results: dict[str, int] = {}
    started = threading.Event()

    def slow() -> None:
        started.set()
        results["slow"] = write(tw, token, soap, sales_xml, "SLOW").status_code

    thread = threading.Thread(target=slow)
    thread.start()
    started.wait(5)
    # the slow request holds the organisation's only slot until the clock moves 30 s: wait until it is in
    for _ in range(500):
        if tw.sim.limiter.describe()["running"].get("KOPPELSIM"):
            break
        threading.Event().wait(0.01)
    second = write(tw, token, soap, sales_xml, "FAST")
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    assert thread.is_alive()  # still held: the virtual clock has not moved
    tw.advance("30s")
    thread.join(10)
    assert results["slow"] == 200
    assert write(tw, token, soap, sales_xml, "FAST").status_code == 200
