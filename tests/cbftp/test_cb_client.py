"""The thin, real CB client (``clients/cbftp/client.py``) against the Centraal Boekhuis simulator, over real
sockets on the virtual clock: one session uploads what waits and collects out/; it never logs in twice
within 10 minutes nor inside the maintenance window; it breaks none of CB's rules (zero findings); it
reads receipts and UBL invoices; and a client killed mid-download loses nothing.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from clients.cbftp.client import CBClient, CBConnection, Window
from clients.cbftp.digicom import Order, OrderLine
from clients.cbftp.store import CBClientStore

from .clientproc import run_crashing_session
from .wire import clear_of_maintenance, wait_for

RELATION, PASSWORD = "7000123", "cb-secret"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
UBL_SCHEMAS = Path("/work/shared/reference/ubl-2.1")
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
PDF = b"%PDF-1.4\n% pakbon\n%%EOF\n"


@pytest.fixture
def cb(koppelsim):
    """CB's model; the shared clock is first moved out of the maintenance window (the client keeps away
    from the whole hour, the server is down for its first minutes)."""
    clear_of_maintenance(koppelsim, Window())
    return koppelsim.runtime.simulators["cbftp"].model


def connection(koppelsim) -> CBConnection:
    endpoint = koppelsim.endpoint("cb-ftps")
    return CBConnection(endpoint.host, endpoint.port, RELATION, PASSWORD, RELATION,
                        koppelsim.runtime.tls.client_context(), timeout=20)


def make_client(koppelsim, state: Path, window: Window | None = None) -> CBClient:
    return CBClient(connection(koppelsim), CBClientStore(state / "client.db"), state / "inbox",
                    koppelsim.clock, window=window)



def connects(koppelsim) -> int:
    return len(koppelsim.journal.entries(kind="ftp.connect"))


def next_friday(after: datetime, at: time) -> datetime:
    local = after.astimezone(AMSTERDAM)
    day = local.date() + timedelta(days=(4 - local.weekday()) % 7)
    moment = datetime.combine(day, at, tzinfo=AMSTERDAM)
    return moment if moment > local else datetime.combine(day + timedelta(days=7), at, tzinfo=AMSTERDAM)


def an_order(number: str) -> Order:
    return Order(order_number=number, lines=[OrderLine("9789085013402", 2), OrderLine("9789073013827", 1)])


def test_a_session_uploads_what_waits_and_collects_receipts_and_invoices(koppelsim, cb, tmp_path):
    invoice = cb.issue_invoice(RELATION, lines=4)
    client = make_client(koppelsim, tmp_path)
    first = client.queue_order(an_order("PO-1"))
    second = client.queue_order(an_order("PO-2"))
    scan = client.queue_file("pakbon-2026-11.pdf", PDF)
    assert len({first, second}) == 2

    report = client.session()

    assert report.skipped is None
    assert report.uploaded == sorted([first, second, scan])
    receipts = [n for n in report.received if n.endswith(".ont")]
    assert len(receipts) == 2
    assert sorted(set(report.received) - set(receipts)) == sorted([invoice["xml_name"], invoice["pdf_name"]])
    inbox = tmp_path / "inbox"
    assert sorted(p.name for p in inbox.iterdir()) == sorted(report.received)  # no .part left behind
    assert (inbox / invoice["pdf_name"]).read_bytes() == cb.invoice_bytes(invoice["number"], "pdf")
    # On the server: everything taken from in/, everything fetched from out/.
    assert cb.present(RELATION, "in") == [] and cb.present(RELATION, "out") == []
    assert sorted(f["name"] for f in cb.files(RELATION, "in")) == sorted([first, second, scan])
    assert {f["kind"] for f in cb.files(RELATION, "in") if f["name"] == scan} == {"attachment"}

    parsed = client.receipts()
    assert [r["accepted"] for r in parsed] == [True, True] and all(r["errors"] == () for r in parsed)
    (got,) = client.invoices()
    assert got.number == invoice["number"] and got.relation_id == RELATION
    assert got.payable == Decimal(invoice["payable"])
    ubl = etree.fromstring(cb.invoice_bytes(invoice["number"], "xml"), SAFE_XML)
    assert [line.id for line in got.lines] == [e.findtext("{*}ID") for e in ubl.findall("{*}InvoiceLine")]
    assert len(got.lines) == 4
    assert sum(line.amount for line in got.lines) == got.tax_exclusive
    assert all(u["uploaded_at"] for u in client.store.uploads())
    assert cb.findings() == []  # the client keeps every rule of CB's rulebook


def test_a_second_session_within_10_minutes_is_skipped_without_connecting(koppelsim, cb, tmp_path):
    client = make_client(koppelsim, tmp_path)
    assert client.session().skipped is None
    started = koppelsim.now()
    before = connects(koppelsim)
    koppelsim.advance("9m")
    client.queue_order(an_order("PO-LATER"))
    report = client.session()
    assert report.skipped and "next session allowed" in report.skipped, report
    assert report.uploaded == [] and connects(koppelsim) == before
    assert client.next_session_at() == started + CBClient.LOGIN_INTERVAL
    koppelsim.runtime.scheduler.advance_to(client.next_session_at())
    report = client.session()
    assert report.skipped is None and len(report.uploaded) == 1
    assert connects(koppelsim) == before + 1
    assert cb.findings() == []


def test_inside_the_maintenance_window_the_client_does_not_even_connect(koppelsim, cb, tmp_path):
    client = make_client(koppelsim, tmp_path)
    client.queue_order(an_order("PO-FRI"))
    before = connects(koppelsim)
    for minute in (2, 30, 59):  # the server is down 08:00-08:05; the client keeps away 08:00-09:00
        koppelsim.runtime.scheduler.advance_to(next_friday(koppelsim.now(), time(8, minute)))
        report = client.session()
        assert report.skipped and report.uploaded == [], report
        nine = datetime.combine(koppelsim.now().astimezone(AMSTERDAM).date(), time(9, 0), tzinfo=AMSTERDAM)
        assert client.next_session_at() == nine
    assert connects(koppelsim) == before
    koppelsim.runtime.scheduler.advance_to(nine)
    report = client.session()
    assert report.skipped is None and len(report.uploaded) == 1
    assert cb.findings() == []
    assert koppelsim.journal.entries(kind="cb.maintenance_refused") == []


def test_a_421_from_the_server_is_a_skipped_session_not_a_crash(koppelsim, cb, tmp_path):
    # A client told the wrong window (Mondays) meets CB's Friday outage: it hears 421 and comes back later.
    client = make_client(koppelsim, tmp_path, window=Window(weekday=0))
    client.queue_order(an_order("PO-421"))
    koppelsim.runtime.scheduler.advance_to(next_friday(koppelsim.now(), time(8, 1)))
    report = client.session()
    assert report.skipped and report.skipped.startswith("421"), report
    assert client.store.pending_uploads()  # nothing lost: still queued
    koppelsim.advance("15m")
    report = client.session()
    assert report.skipped is None and len(report.uploaded) == 1
    assert cb.findings() == []


@pytest.mark.skipif(not UBL_SCHEMAS.is_dir(), reason=f"the OASIS UBL 2.1 schemas are not at {UBL_SCHEMAS}")
def test_invoices_are_parsed_and_validate_against_UBL_2_1(koppelsim, cb, tmp_path):
    debit = cb.issue_invoice(RELATION, lines=2)
    credit = cb.issue_invoice(RELATION, credit=True, lines=1)
    client = make_client(koppelsim, tmp_path)
    assert client.session().skipped is None
    invoices = {i.number: i for i in client.invoices(schema_dir=UBL_SCHEMAS)}
    assert set(invoices) == {debit["number"], credit["number"]}
    assert not invoices[debit["number"]].is_credit and invoices[credit["number"]].is_credit
    assert invoices[debit["number"]].payable == Decimal(debit["payable"])
    assert [len(invoices[n].lines) for n in (debit["number"], credit["number"])] == [2, 1]
    assert all(i.iban and i.currency == "EUR" for i in invoices.values())


# -- a client killed mid-download -------------------------------------------------------------------------

def crash_mid_download(koppelsim, state: Path) -> subprocess.CompletedProcess:
    return run_crashing_session(koppelsim, state, "mid_download")


def killed_then_resumed(koppelsim, cb, tmp_path) -> tuple[dict, CBClient]:
    invoice = cb.issue_invoice(RELATION)
    crashed = crash_mid_download(koppelsim, tmp_path)
    assert crashed.returncode == 137, crashed.stderr.decode(errors="replace")[-2000:]
    assert b"SESSION ENDED" not in crashed.stdout
    # It died after its first RETR completed (the PDF sorts first): CB deletes that file, as it should
    # (just after its 226 reply, on the server's own thread: hence the bounded wait).
    wait_for(lambda: cb.present(RELATION, "out") == [invoice["xml_name"]], "remove the fetched PDF from out/")
    koppelsim.advance(CBClient.LOGIN_INTERVAL)
    client = make_client(koppelsim, tmp_path)
    report = client.session()
    assert report.skipped is None, report
    return invoice, client


def test_a_client_killed_mid_download_receives_every_file_exactly_once(koppelsim, cb, tmp_path):
    invoice, client = killed_then_resumed(koppelsim, cb, tmp_path)
    received = [r["name"] for r in client.store.received_files()]
    assert sorted(received) == sorted([invoice["xml_name"], invoice["pdf_name"]])
    assert client.store.downloading() == {}
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == sorted(received)
    assert [i.number for i in client.invoices()] == [invoice["number"]]
    assert cb.present(RELATION, "out") == []
    # A third session finds nothing new and counts nothing twice.
    koppelsim.advance(CBClient.LOGIN_INTERVAL)
    assert client.session().received == []
    assert len(client.store.received_files()) == 2
    assert cb.findings() == []


def test_a_client_killed_mid_download_keeps_the_whole_file(koppelsim, cb, tmp_path):
    invoice, client = killed_then_resumed(koppelsim, cb, tmp_path)
    inbox = tmp_path / "inbox"
    assert (inbox / invoice["xml_name"]).read_bytes().splitlines() == \
        cb.invoice_bytes(invoice["number"], "xml").splitlines()
    assert (inbox / invoice["pdf_name"]).read_bytes() == cb.invoice_bytes(invoice["number"], "pdf")


def test_a_binary_download_cut_short_after_CB_deleted_it_is_reported_not_received(koppelsim, cb, tmp_path):
    # What a kill -9 leaves when it strikes after CB sent the whole PDF (and deleted it) but before the
    # client had read it all: a .part shorter than the size CB gave. Nothing is in out/ any more.
    client = make_client(koppelsim, tmp_path)
    client.store.note_downloading("K1.pdf", 1000)
    (tmp_path / "inbox" / ".K1.pdf.part").write_bytes(b"%PDF-1.4 only the start")
    report = client.session()
    assert report.skipped is None, report
    assert list(report.incomplete) == ["K1.pdf"] and report.received == []
    assert "cut short" in report.incomplete["K1.pdf"]
    assert client.store.received_files() == [] and client.store.downloading() == {}
    (kept,) = client.store.incomplete_files()
    assert (kept["name"], kept["kept"], kept["size"]) == ("K1.pdf", 23, 1000)
    assert (tmp_path / "inbox" / "K1.pdf.incomplete").read_bytes() == b"%PDF-1.4 only the start"
    assert not (tmp_path / "inbox" / "K1.pdf").exists()
    assert cb.findings() == []
