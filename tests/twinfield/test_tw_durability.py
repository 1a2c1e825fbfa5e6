"""State that lasts: bookings, numbers and tokens survive a restart; a booking is stored whole or not at
all; concurrent writers never share a number."""

from __future__ import annotations

import threading

import pytest
import requests

from clients.twinfield import TwinfieldClient, TwinfieldOAuth
from simulators.twinfield.config import Dimension

LINES = [{"type": "total", "dim1": "1300", "dim2": "4000", "debitcredit": "debit", "value": "121.00"},
         {"type": "detail", "dim1": "8000", "debitcredit": "credit", "value": "100.00", "vatcode": "VH"}]


def test_bookings_numbers_and_refresh_tokens_survive_a_restart(runtime_factory, tmp_path):
    first = runtime_factory(tmp_path / "state")
    first.start()
    try:
        sim = first.simulators["twinfield"]
        sim.model.put_dimension(Dimension("DEB", "4000", "Jan Jansen"))
        oauth = TwinfieldOAuth(sim.base_url, "koppelsim", "koppelsim-secret", "http://localhost/callback",
                               first.clock, timeout=10)
        tokens = oauth.login("KOPPELSIM", "koppeling", "koppeling-secret")
        client = TwinfieldClient(oauth, tokens, first.clock, office="NLA000001", timeout=10)
        assert client.post_transaction("VRK", LINES, invoicenumber="R1") == "202600001"
    finally:
        first.stop()
    second = runtime_factory(tmp_path / "state")
    second.start()
    try:
        sim = second.simulators["twinfield"]
        assert [b["invoicenumber"] for b in sim.model.bookings()] == ["R1"]
        oauth = TwinfieldOAuth(sim.base_url, "koppelsim", "koppelsim-secret", "http://localhost/callback",
                               second.clock, timeout=10)
        fresh = oauth.refresh(tokens.refresh_token)  # the refresh token is still good after the restart
        client = TwinfieldClient(oauth, fresh, second.clock, office="NLA000001", timeout=10)
        assert client.post_transaction("VRK", LINES, invoicenumber="R2") == "202600002"
    finally:
        second.stop()


def test_a_booking_that_fails_half_way_leaves_nothing_behind(tw, customer, sales_xml, monkeypatch):
    store = tw.model.store
    real = store.transaction

    class Boom(Exception):
        pass

    def failing_transaction():
        context = real()
        db = context.__enter__()

        class Guard:
            def __enter__(self):
                return _Failing(db)

            def __exit__(self, *exc):
                return context.__exit__(*exc)

        return Guard()

    class _Failing:
        def __init__(self, db):
            self.db = db
            self.lines = 0

        def execute(self, sql, *args):
            if sql.startswith("INSERT INTO tw_lines"):
                self.lines += 1
                if self.lines == 2:
                    raise Boom("the disk is full")
            return self.db.execute(sql, *args)

        def executemany(self, sql, rows):  # row by row, so the second line fails after the first is written
            for row in rows:
                self.execute(sql, row)

    monkeypatch.setattr(tw.model.transactions.store, "transaction", failing_transaction)
    with pytest.raises(Boom):
        tw.model.transactions.post(tw.model.directory.caller("KOPPELSIM", "koppeling"),
                                   tw.model.directory.office("NLA000001"),
                                   {"attrs": {}, "header": {"office": "NLA000001", "code": "VRK",
                                                            "invoicenumber": "H1", "date": "20261120"},
                                    "lines": [{**line, "id": None} for line in LINES]}, tw.clock.now())
    monkeypatch.undo()
    assert store.query("SELECT COUNT(*) FROM tw_transactions")[0][0] == 0
    assert store.query("SELECT COUNT(*) FROM tw_lines")[0][0] == 0
    # the number was not used up either
    assert tw.process(sales_xml("H1")).findtext("header/number") == "202600001"


def test_concurrent_bookings_get_distinct_consecutive_numbers(tw, customer, soap, sales_xml):
    token = tw.token()
    numbers: list[str] = []
    errors: list[str] = []

    def post(i: int) -> None:
        response = tw.post("processxml", soap.envelope(soap.process_string(sales_xml(f"P{i}")), token))
        if response.status_code != 200:
            errors.append(response.text)
            return
        from lxml import etree

        inner = etree.fromstring(etree.fromstring(response.content).find(
            f".//{{{soap.TNS}}}ProcessXmlStringResult").text.encode())
        numbers.append(inner.findtext("header/number"))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert sorted(numbers) == [f"2026{i:05d}" for i in range(1, 9)]
    assert requests.get(tw.base + "/", timeout=10).status_code == 200
