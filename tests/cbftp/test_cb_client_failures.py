"""The CB client when things go wrong, against the CB simulator over real sockets on the virtual clock:

* a download CB sent whole (and so deleted) but that a kill -9 cut short on disk is reported as lost,
  kept aside for inspection, and never counted as received; one that was whole on disk is received once;
* an upload that arrived just before a crash counts as uploaded when CB later says the name is taken;
  an upload CB refuses for good (5xx) is set aside with CB's reply and the session goes on; a 4xx leaves
  it waiting;
* the file-name check is seed 002's ASCII rule, the same as the simulator's;
* the maintenance window's zone is the simulator's [CHOSEN] reading of the seed's "UTC/GMT +1".

(The client killed mid-session is tests/cbftp/clientproc.py, shared with test_cb_client.py.)
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from clients.cbftp.client import CBClient, CBConnection, Window
from clients.cbftp.digicom import Order, OrderLine
from clients.cbftp.names import name_problem
from clients.cbftp.store import CBClientStore
from simulators.cbftp import names as cb_names
from simulators.cbftp.config import Maintenance
from simulators.cbftp.invoices import generate_invoice
from simulators.cbftp.ubl import build_ubl

from .clientproc import run_crashing_session
from .wire import clear_of_maintenance, wait_for

RELATION, PASSWORD = "7000123", "cb-secret"
BIG_XML = f"{RELATION}_K1734991.xml"  # the reviewer's case: a UBL invoice of some MB, LF line ends
PDF = b"%PDF-1.4\n% pakbon\n%%EOF\n"


@pytest.fixture
def cb(koppelsim):
    """CB's model, the shared clock moved well clear of the maintenance window (as in test_cb_client.py)."""
    clear_of_maintenance(koppelsim, Window())
    return koppelsim.runtime.simulators["cbftp"].model


def make_client(koppelsim, state: Path) -> CBClient:
    endpoint = koppelsim.endpoint("cb-ftps")
    connection = CBConnection(endpoint.host, endpoint.port, RELATION, PASSWORD, RELATION,
                              koppelsim.runtime.tls.client_context(), timeout=20)
    return CBClient(connection, CBClientStore(state / "client.db"), state / "inbox", koppelsim.clock)



def an_order(number: str) -> Order:
    return Order(order_number=number, lines=[OrderLine("9789085013402", 2)])


def big_invoice_xml() -> bytes:
    invoice = generate_invoice(random.Random(7), relation_id=RELATION, issue_date=date(2026, 11, 1),
                               number="K1734991", customer_name="Boekhandel De Zeef", lines=600)
    return build_ubl(invoice)


def stor_commands(koppelsim, name: str) -> int:
    return len(koppelsim.journal.entries(kind="ftp.command", match={"command": "STOR", "arg": f"in/{name}"}))


def killed_at(koppelsim, state: Path, point: str) -> None:
    """One session of the client in a process of its own that dies (exit 137, like kill -9) at ``point``."""
    done = run_crashing_session(koppelsim, state, point)
    assert done.returncode == 137, (done.stdout + done.stderr).decode(errors="replace")[-2000:]


def cb_state(cb, name: str) -> list[str]:
    return [f["state"] for f in cb.files(RELATION, "out") if f["name"] == name]


# -- downloads a crash cut short ------------------------------------------------------------------------

def test_a_text_file_CB_sent_whole_but_the_killed_client_kept_in_part_is_reported_lost_not_received(
        koppelsim, cb, tmp_path):
    xml = big_invoice_xml()
    cb.place_file(RELATION, BIG_XML, xml)
    killed_at(koppelsim, tmp_path, "cut_short")
    # CB sent all of it, so it deleted it (on its own thread, just after the transfer: a bounded wait).
    wait_for(lambda: cb_state(cb, BIG_XML) == ["downloaded"], "record the invoice as downloaded")
    assert cb.present(RELATION, "out") == []
    koppelsim.advance(CBClient.LOGIN_INTERVAL)

    client = make_client(koppelsim, tmp_path)
    report = client.session()

    assert report.skipped is None, report
    assert report.received == [] and list(report.incomplete) == [BIG_XML], report
    assert "cut short" in report.incomplete[BIG_XML]
    assert client.store.received_files() == [] and client.store.downloading() == {}
    inbox = tmp_path / "inbox"
    assert not (inbox / BIG_XML).exists()
    kept = (inbox / f"{BIG_XML}.incomplete").read_bytes()  # kept for inspection: CB's first block, as it came
    assert 0 < len(kept) < len(xml) and xml.replace(b"\n", b"\r\n").startswith(kept)
    (lost,) = client.store.incomplete_files()
    assert (lost["name"], lost["kept"], lost["size"]) == (BIG_XML, len(kept), len(xml))
    assert client.invoices() == []  # nothing half-read is parsed ("Premature end of data" before the fix)

    koppelsim.advance(CBClient.LOGIN_INTERVAL)  # reported once; the next session has nothing to say about it
    again = client.session()
    assert again.incomplete == {} and again.received == []
    assert len(client.store.incomplete_files()) == 1
    assert cb.findings() == []


def test_a_text_file_whole_on_disk_when_the_client_was_killed_is_received_once(koppelsim, cb, tmp_path):
    xml = big_invoice_xml()
    cb.place_file(RELATION, BIG_XML, xml)
    killed_at(koppelsim, tmp_path, "mid_download")  # after CB's 226, before the file was put in place
    wait_for(lambda: cb_state(cb, BIG_XML) == ["downloaded"], "record the invoice as downloaded")
    koppelsim.advance(CBClient.LOGIN_INTERVAL)

    client = make_client(koppelsim, tmp_path)
    report = client.session()

    # Its CRLF count and CB's SIZE prove the ASCII part whole (completeness.py): received, once.
    assert report.received == [BIG_XML] and report.incomplete == {}, report
    assert (tmp_path / "inbox" / BIG_XML).read_bytes() == xml.replace(b"\n", b"\r\n")  # network ASCII, as it came
    assert [i.number for i in client.invoices()] == ["K1734991"]
    assert client.store.downloading() == {} and client.store.incomplete_files() == []
    koppelsim.advance(CBClient.LOGIN_INTERVAL)
    assert client.session().received == []
    assert len(client.store.received_files()) == 1
    assert cb.findings() == []


def test_a_download_CB_refuses_is_reported_and_the_rest_is_still_collected(koppelsim, cb, tmp_path):
    invoice = cb.issue_invoice(RELATION)
    koppelsim.rules.add("cbftp", {"when": {"command": "RETR", "arg": f"out/{invoice['pdf_name']}"},
                                  "ftp": {"reply": "550 Requested action not taken."}, "times": 1})
    client = make_client(koppelsim, tmp_path)

    report = client.session()

    assert report.received == [invoice["xml_name"]], report
    assert report.incomplete[invoice["pdf_name"]].startswith("CB refused the download: 550")
    assert not (tmp_path / "inbox" / f".{invoice['pdf_name']}.part").exists()
    koppelsim.advance(CBClient.LOGIN_INTERVAL)  # CB still lists it: fetched, and no longer counted as lost
    assert client.session().received == [invoice["pdf_name"]]
    assert client.store.incomplete_files() == [] and client.store.downloading() == {}


# -- uploads CB answers with an error -------------------------------------------------------------------

def test_an_upload_that_arrived_just_before_a_crash_counts_as_uploaded_and_the_session_goes_on(
        koppelsim, cb, tmp_path):
    queuing = make_client(koppelsim, tmp_path)
    first = queuing.queue_order(an_order("PO-C1"))
    second = queuing.queue_order(an_order("PO-C2"))
    queuing.store.close()
    killed_at(koppelsim, tmp_path, "after_upload")  # CB said 226 for the first; the client died before noting it
    assert [f["name"] for f in cb.files(RELATION, "in")] == [first]
    koppelsim.advance(CBClient.LOGIN_INTERVAL)

    client = make_client(koppelsim, tmp_path)
    report = client.session()

    assert report.uploaded == [first, second] and report.already_at_cb == [first], report
    assert report.refused == {} and report.deferred == {}
    assert client.store.pending_uploads() == []
    assert sorted(n for n in report.received if n.endswith(".ont")) == sorted(report.received)
    assert [r["accepted"] for r in client.receipts()] == [True, True]  # out/ collected: both answers
    assert sorted(f["name"] for f in cb.files(RELATION, "in")) == [first, second]  # each taken once
    (upload,) = [u for u in client.store.uploads() if u["name"] == first]
    assert upload["uploaded_at"] and "already placed" in upload["reply"]
    # The one retry is how the client learns the first attempt arrived: CB notes it, nothing more.
    assert [(f["rule"], f["detail"]) for f in cb.findings()] == [("overwrite", first)]


def test_an_upload_CB_refuses_for_good_is_set_aside_and_the_rest_goes_on(koppelsim, cb, tmp_path):
    invoice = cb.issue_invoice(RELATION)
    client = make_client(koppelsim, tmp_path)
    bad = "pak bon.pdf"  # queued past the name check (an older client's queue, say): CB refuses it with 553
    client.store.queue_upload(bad, PDF, "attachment", koppelsim.now())
    order = client.queue_order(an_order("PO-BAD"))

    report = client.session()

    assert list(report.refused) == [bad] and report.refused[bad].startswith("553"), report
    assert report.uploaded == [order]
    assert {invoice["xml_name"], invoice["pdf_name"]} <= set(report.received)  # out/ still collected
    assert len([n for n in report.received if n.endswith(".ont")]) == 1
    assert client.store.pending_uploads() == []
    (refused,) = client.store.refused_uploads()
    assert refused["name"] == bad and refused["reply"] == report.refused[bad]

    koppelsim.advance(CBClient.LOGIN_INTERVAL)
    later = client.session()  # not sent again: no second refusal, no second login spent on it
    assert later.refused == {} and later.uploaded == []
    assert stor_commands(koppelsim, bad) == 1
    assert [f["rule"] for f in cb.findings()] == ["file_name"]


def test_a_name_CB_already_has_from_elsewhere_is_refused_not_counted_as_uploaded(koppelsim, cb, tmp_path):
    other = make_client(koppelsim, tmp_path / "other-installation")
    other.queue_file("scan-1.pdf", PDF)
    assert other.session().uploaded == ["scan-1.pdf"]
    koppelsim.advance(CBClient.LOGIN_INTERVAL)

    client = make_client(koppelsim, tmp_path / "this-installation")
    client.queue_file("scan-1.pdf", PDF + b"% another scan\n")
    report = client.session()

    # No earlier attempt of this client's own could have put it there: CB's 550 is a refusal.
    assert report.uploaded == [] and report.already_at_cb == [], report
    assert report.refused["scan-1.pdf"].startswith("550")
    assert client.store.pending_uploads() == []


def test_a_4xx_on_an_upload_leaves_it_waiting_and_the_session_goes_on(koppelsim, cb, tmp_path):
    client = make_client(koppelsim, tmp_path)
    busy = client.queue_file("scan-2.pdf", PDF)
    order = client.queue_order(an_order("PO-450"))
    koppelsim.rules.add("cbftp", {"when": {"command": "STOR", "arg": f"in/{busy}"},
                                  "ftp": {"reply": "450 Requested file action not taken: busy."}, "times": 1})

    report = client.session()

    assert list(report.deferred) == [busy] and report.deferred[busy].startswith("450"), report
    assert report.uploaded == [order] and report.refused == {}
    assert [u["name"] for u in client.store.pending_uploads()] == [busy]
    koppelsim.advance(CBClient.LOGIN_INTERVAL)
    assert client.session().uploaded == [busy]
    assert client.store.pending_uploads() == []
    assert cb.findings() == []


# -- file names and the maintenance window --------------------------------------------------------------

ALLOWED = ["pakbon-2026_11.v2.pdf", "A.pdf", "ORD7000123.txt", "x", "a" * 251 + ".pdf"]
REFUSED = ["pakbon-ë.pdf", "scan².pdf", "ｆｕｌｌ.pdf", "pak bon.pdf", "a&b.pdf", "bon{1}.pdf", "x<y.jpg",
           "x.PDF", "x.Pdf", ".pakbon.pdf", "a" * 256, "", "map/x.pdf", "x\\y.pdf", "ı.pdf", "x.pdf\n"]


@pytest.mark.parametrize("name", ALLOWED + REFUSED)
def test_the_client_checks_names_by_seed_002_exactly_as_the_simulator_does(koppelsim, tmp_path, name):
    client = make_client(koppelsim, tmp_path)
    refused_by_cb = cb_names.name_problem(name) is not None
    assert refused_by_cb == (name in REFUSED)
    assert (name_problem(name) is not None) == refused_by_cb
    if refused_by_cb:
        with pytest.raises(ValueError, match="breaks CB's file-name rules"):
            client.queue_file(name, PDF)
        assert client.store.pending_uploads() == []
    else:
        assert client.queue_file(name, PDF) == name


def test_a_name_with_a_trailing_newline_is_refused_by_the_client():
    # The simulator's pattern ends in '$', which also matches before a final newline; an FTP command
    # line cannot carry one, but the client's check does not depend on that.
    assert name_problem("x.pdf\n") is not None and name_problem("x.pdf") is None


def test_the_client_keeps_away_from_the_simulators_reading_of_the_seeds_window():
    # Seed 002 says "every Friday between 08:00 and 09:00 UTC/GMT +1"; Europe/Amsterdam is a [CHOSEN]
    # reading that the client and the simulator share.
    window, cb = Window(), Maintenance()
    assert (window.zone, f"{window.start:%H:%M}", f"{window.end:%H:%M}") == (cb.timezone, cb.start, cb.end)
    assert window.weekday == 4 and cb.weekday == "friday"
    assert "UTC/GMT +1" in Window.__doc__ and "[CHOSEN]" in Window.__doc__
