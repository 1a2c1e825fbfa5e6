"""Crash safety of the Centraal Boekhuis simulator: ``koppelsim sim`` as a real process, killed with
SIGKILL at awkward moments and started again on the same state directory. An accepted file is never
lost or duplicated: what waits in out/ is still there (and expires on time), an order answered before
the kill is answered once, an upload cut short leaves nothing, and a file the crash left in in/ is
taken exactly once (``CBModel.recover``).

Everything is checked through the wire: ``ftplib.FTP_TLS`` under CB's rulebook (explicit FTPS, PROT P,
passive, one login per 10 minutes, ASCII for .txt/.ont/.xml, binary for .pdf) and the admin API. The
process runs on the system clock; simulated time moves with ``POST /api/clock``, never by sleeping.
Real-time waits are bounded polls only. The journal is written in batches (a kill -9 may lose its last
half second), so counts across a kill are taken from the state (``/api/cb/files``), and journal counts
only from entries read back (which writes them) before the kill.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import os
import random
import ssl
import urllib.parse
from pathlib import Path

import pytest

from clients.cbftp.digicom import Order, OrderLine, build_opdnaw, parse_ontbev
from simulators.core.clock import monotonic, parse_instant, real_sleep
from simulators.core.runtime import settings_for_tests
from simulators.process import SimProcess, free_port

from .wire import ftps_login

pytestmark = pytest.mark.slow
WAIT_SECONDS = 10.0  # real time for the running process to act on something we did
RELATION, PASSWORD = "7000123", "cb-secret"  # the default account (simulators/cbftp/config.py)
BINARY = (".epub", ".jpg", ".pdf", ".zip")  # CB's rulebook: binary for these, ASCII for the rest


class Sim(SimProcess):
    """`python -m simulators sim` with only CB, on a fixed FTP port and one state directory."""

    def __init__(self, tmp_path: Path, **cbftp) -> None:
        settings = settings_for_tests()  # free ports, no login delay, passive ports "any"
        # No maintenance window unless a test asks for it: a clock moved by days could land in one.
        settings["cbftp"].update({"maintenance": {"enabled": False}, **cbftp})
        super().__init__(tmp_path, settings, only="cbftp")  # only CB (invoices go by FTP): a quicker start

    # -- the process ------------------------------------------------------------------------------

    def choose_ports(self) -> None:
        """Fixed ports (the FTP port in the config), so a client reconnects to the same after a restart."""
        self.ftp_port = free_port()
        self.settings["cbftp"]["port"] = self.ftp_port
        super().choose_ports()

    def restart(self) -> None:
        self.kill9()
        self.start()

    def advance(self, duration: str) -> dict:
        return self.http("POST", "/api/clock", {"advance": duration})

    def pending(self) -> dict[str, int]:
        return self.http("GET", "/api/clock")["scheduler"]["by_kind"]

    def files(self) -> dict:
        return self.http("GET", f"/api/cb/files/{RELATION}")

    def received(self, name: str) -> list[dict]:
        """What CB recorded as taken from in/ under ``name`` (one row per time it was taken)."""
        return [f for f in self.files()["history"] if f["folder"] == "in" and f["name"] == name]

    def receipts(self) -> list[dict]:
        return [f for f in self.files()["history"] if f["folder"] == "out" and f["kind"] == "receipt"]

    def journal(self, kind: str, **match: str) -> list[dict]:
        """Entries of one kind (reading them writes the journal's pending batch)."""
        return self.http("GET", "/api/journal?" + urllib.parse.urlencode({"kind": kind, **match}))

    def findings(self) -> list[dict]:
        return self.http("GET", f"/api/cb/findings?relation_id={RELATION}")

    # -- FTPS, as CB's rulebook asks --------------------------------------------------------------

    def login(self, wait: bool = True) -> ftplib.FTP_TLS:
        """Explicit FTPS with PROT P. ``wait`` first moves the clock 10 minutes: CB allows one login per
        10 minutes per account (mode enforce); only the first login of a test goes without."""
        if wait:
            self.advance("10m")
        context = ssl.create_default_context(cafile=str(self.state / "tls" / "ca.pem"))
        return ftps_login("127.0.0.1", self.ftp_port, context)

    # -- the state directory (only to stage what a crash leaves behind, or to read before a kill) --

    def folder(self, name: str) -> Path:
        """``accounts.py``: ftp_root = files/cbftp/accounts/<id>; the folder = <ftp_root>/<id>/<name>."""
        return self.state / "files" / "cbftp" / "accounts" / RELATION / RELATION / name

    def staging(self) -> Path:
        return self.state / "files" / ".staging"

    def wait_for(self, condition, what: str) -> None:
        deadline = monotonic() + WAIT_SECONDS
        while not condition():
            if monotonic() > deadline:
                raise AssertionError(f"{what} did not happen within {WAIT_SECONDS}s:\n{self.output()}")
            real_sleep(0.05)


@pytest.fixture
def make_sim(tmp_path):
    made: list[Sim] = []

    def make(**cbftp) -> Sim:
        made.append(Sim(tmp_path, **cbftp))
        return made[-1]

    try:
        yield make
    finally:
        for sim in made:
            sim.kill9()


@pytest.fixture
def sim(make_sim) -> Sim:
    return make_sim()


# -- FTP helpers -----------------------------------------------------------------------------------


def quit_quietly(client: ftplib.FTP) -> None:
    try:
        client.quit()
    except (OSError, EOFError, ftplib.Error):
        client.close()


def names(client: ftplib.FTP, folder: str) -> list[str]:
    return sorted(n.rsplit("/", 1)[-1] for n in client.nlst(folder))


def is_binary(name: str) -> bool:
    return os.path.splitext(name)[1] in BINARY


def on_the_wire(name: str, stored: bytes) -> bytes:
    """What a download of a file with these bytes carries: binary as is, ASCII with CRLF line ends
    (RFC 959's NVT-ASCII; the server adds the CR a bare LF lacks)."""
    return stored if is_binary(name) else stored.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def download(client: ftplib.FTP_TLS, path: str) -> bytes:
    """RETR in the type CB expects for the name, bytes as they arrive (ftplib's retrlines would reshape)."""
    client.voidcmd("TYPE I" if is_binary(path) else "TYPE A")
    chunks = []
    with client.transfercmd(f"RETR {path}") as conn:
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        if isinstance(conn, ssl.SSLSocket):
            conn.unwrap()
    assert client.voidresp().startswith("226")
    return b"".join(chunks)


def order_file(reference: str) -> bytes:
    order = Order(order_number=reference[-10:],
                  lines=[OrderLine("9789085013402", 2), OrderLine("9789073013827", 1)])
    return build_opdnaw(order, sender_relation_id=RELATION, reference=reference,
                        now=parse_instant("2026-11-20T09:00:00Z"))


def upload_order(client: ftplib.FTP_TLS, name: str, data: bytes) -> str:
    return client.storlines(f"STOR in/{name}", io.BytesIO(data))  # ASCII, as CB asks for .txt


def expired(sim: Sim, name: str) -> list[dict]:
    return sim.journal("file.removed", name=name, reason="expired")


# -- the cases -------------------------------------------------------------------------------------


def test_files_waiting_in_out_survive_a_kill_are_fetched_once_and_still_expire(sim):
    sim.start()
    client = sim.login(wait=False)
    try:
        assert upload_order(client, "ord1.txt", order_file("REF-OUT-1")).startswith("226")
    finally:
        quit_quietly(client)
    fetched = sim.http("POST", "/api/cb/invoices", {"relation_id": RELATION})  # fetched after the restart
    unfetched = sim.http("POST", "/api/cb/invoices", {"relation_id": RELATION})  # left to expire
    (receipt,) = sim.receipts()
    to_fetch = [receipt["name"], fetched["xml_name"], fetched["pdf_name"]]
    to_expire = [unfetched["xml_name"], unfetched["pdf_name"]]
    waiting = sorted(to_fetch + to_expire)
    assert sim.files()["present"]["out"] == waiting
    before = {name: (sim.folder("out") / name).read_bytes() for name in waiting}
    placed = {f["name"]: f["sha256"] for f in sim.files()["history"] if f["folder"] == "out"}
    assert {name: hashlib.sha256(data).hexdigest() for name, data in before.items()} == placed

    sim.restart()

    client = sim.login()
    try:
        assert names(client, "out") == waiting
        for name in to_fetch:
            assert download(client, f"out/{name}") == on_the_wire(name, before[name]), name
        assert names(client, "out") == sorted(to_expire)  # fetched completely: gone
        with pytest.raises(ftplib.error_perm, match="^550"):  # downloadable once
            download(client, f"out/{fetched['pdf_name']}")
    finally:
        quit_quietly(client)
    answer = parse_ontbev(on_the_wire(receipt["name"], before[receipt["name"]]))
    assert answer.accepted and answer.original_reference == "REF-OUT-1", answer
    assert sim.pending().get("cbftp.expire") == 5  # one per file placed, also the fetched ones

    sim.advance("31d")  # the 30-day retention, planned before the kill
    sim.wait_for(lambda: sim.files()["present"]["out"] == [], "the retention expiry after POST /api/clock")
    for name in to_expire:
        assert len(expired(sim, name)) == 1, name
    for name in to_fetch:
        assert expired(sim, name) == [], name
        assert len(sim.journal("file.removed", name=name, reason="downloaded")) == 1, name
    states = {f["name"]: f["state"] for f in sim.files()["history"] if f["folder"] == "out"}
    assert states == {**{n: "downloaded" for n in to_fetch}, **{n: "expired" for n in to_expire}}
    assert "cbftp.expire" not in sim.pending()

    sim.restart()  # what expired stays expired: nothing fires a second time
    sim.advance("31d")
    for name in to_expire:
        assert len(expired(sim, name)) == 1, name
    assert sim.files()["present"]["out"] == []
    assert sim.findings() == []


def test_an_order_accepted_just_before_the_kill_is_answered_once_and_its_name_stays_taken(sim):
    sim.start()
    data = order_file("REF-ACCEPTED")
    client = sim.login(wait=False)
    try:
        assert upload_order(client, "ord2.txt", data).startswith("226")
        sim.kill9()  # at once after the 226: no QUIT, nothing else read from the process before
    finally:
        client.close()

    sim.start()
    assert [(f["kind"], f["state"]) for f in sim.received("ord2.txt")] == [("order", "processed")]
    (receipt,) = sim.receipts()
    client = sim.login()
    try:
        assert names(client, "in") == []
        assert names(client, "out") == [receipt["name"]]
        answer = parse_ontbev(download(client, f"out/{receipt['name']}"))
        with pytest.raises(ftplib.error_perm, match="^550"):
            upload_order(client, "ord2.txt", data)
        assert names(client, "in") == [] and names(client, "out") == []
    finally:
        quit_quietly(client)
    assert answer.accepted and answer.original_reference == "REF-ACCEPTED", answer
    assert len(sim.received("ord2.txt")) == 1 and len(sim.receipts()) == 1
    assert [(f["rule"], f["detail"]) for f in sim.findings()] == [("overwrite", "ord2.txt")]


def test_an_upload_cut_short_by_the_kill_leaves_nothing_and_the_name_stays_free(sim):
    payload = b"%PDF-1.4\n" + random.Random(3).randbytes(512 * 1024)
    sim.start()
    client = sim.login(wait=False)
    client.voidcmd("TYPE I")
    data = client.transfercmd("STOR in/x.pdf")
    try:
        data.sendall(payload[:256 * 1024])

        def staged() -> bool:
            return any(p.stat().st_size > 0 for p in sim.staging().iterdir())
        sim.wait_for(staged, "the first bytes of the upload reaching the staging area")
        sim.kill9()
    finally:
        data.close()
        client.close()
    assert list(sim.folder("in").iterdir()) == []

    sim.start()
    assert list(sim.staging().iterdir()) == [], "the interrupted transfer's staging file is swept at start"
    assert sim.received("x.pdf") == [] and sim.files()["present"]["in"] == []
    client = sim.login()
    try:
        assert names(client, "in") == []
        assert client.storbinary("STOR in/x.pdf", io.BytesIO(payload)).startswith("226")
        assert names(client, "in") == []  # taken at once
    finally:
        quit_quietly(client)
    (taken,) = sim.received("x.pdf")
    assert (taken["kind"], taken["size"], taken["sha256"]) == (
        "attachment", len(payload), hashlib.sha256(payload).hexdigest())
    assert len(sim.journal("cb.attachment_received", name="x.pdf")) == 1
    assert sim.findings() == []


def test_an_order_published_in_in_but_not_yet_taken_is_taken_once_at_restart(sim):
    sim.start()
    sim.kill9()
    # The crash left a complete upload under its final name, before CB took it.
    (sim.folder("in") / "ord4.txt").write_bytes(order_file("REF-RECOVER"))

    sim.start()
    assert sim.files()["present"]["in"] == []
    (taken,) = sim.received("ord4.txt")
    assert (taken["kind"], taken["state"], taken["detail"]) == ("order", "processed", None)
    (receipt,) = sim.receipts()
    assert sim.files()["present"]["out"] == [receipt["name"]]
    assert len(sim.journal("cb.order_received", name="ord4.txt")) == 1  # read back: written before the kill

    sim.restart()  # a second restart does not answer it again
    assert sim.files()["present"] == {"in": [], "out": [receipt["name"]]}
    assert len(sim.received("ord4.txt")) == 1 and sim.receipts() == [receipt]
    assert len(sim.journal("cb.order_received", name="ord4.txt")) == 1
    client = sim.login(wait=False)  # the first login of this account
    try:
        assert names(client, "in") == [] and names(client, "out") == [receipt["name"]]
        answer = parse_ontbev(download(client, f"out/{receipt['name']}"))
    finally:
        quit_quietly(client)
    assert answer.accepted and answer.original_reference == "REF-RECOVER", answer
    assert sim.findings() == []


def test_an_order_taken_but_left_in_in_by_the_kill_is_moved_away_not_answered_again(sim):
    sim.start()
    client = sim.login(wait=False)
    try:
        assert upload_order(client, "ord5.txt", order_file("REF-TAKEN")).startswith("226")
    finally:
        quit_quietly(client)
    (receipt,) = sim.receipts()
    assert len(sim.received("ord5.txt")) == 1
    assert len(sim.journal("cb.order_received", name="ord5.txt")) == 1
    sim.kill9()
    # The crash came after CB recorded and answered the order, before the file left in/: put back the
    # very bytes CB took (kept aside in its archive).
    (archived,) = (sim.state / "files" / "cbftp" / "received" / RELATION).glob("*-ord5.txt")
    (sim.folder("in") / "ord5.txt").write_bytes(archived.read_bytes())

    sim.start()
    assert sim.files()["present"] == {"in": [], "out": [receipt["name"]]}
    assert len(sim.received("ord5.txt")) == 1 and sim.receipts() == [receipt]
    assert len(sim.journal("cb.order_received", name="ord5.txt")) == 1
    client = sim.login()
    try:
        assert names(client, "in") == [] and names(client, "out") == [receipt["name"]]
    finally:
        quit_quietly(client)
    assert sim.findings() == []


def test_weekly_maintenance_and_monthly_invoice_run_stay_planned_once_across_restarts(make_sim):
    sim = make_sim(maintenance={"enabled": True}, invoice_day=1)
    recurring = ("cbftp.outage", "cbftp.invoice_run")

    def planned() -> dict[str, int]:
        return {kind: sim.pending().get(kind, 0) for kind in recurring}

    sim.start()
    assert planned() == {"cbftp.outage": 1, "cbftp.invoice_run": 1}
    sim.restart()  # planned at the first start; the restart finds them and plans no second one
    assert planned() == {"cbftp.outage": 1, "cbftp.invoice_run": 1}

    sim.advance("32d")  # past at least four outages and one invoice run: each plans its next one
    assert len(sim.journal("cb.maintenance_started")) >= 4
    assert len(sim.http("GET", "/api/cb/invoices")) >= 1
    assert planned() == {"cbftp.outage": 1, "cbftp.invoice_run": 1}
    sim.restart()  # the next ones, planned by the events themselves, neither lost nor doubled
    assert planned() == {"cbftp.outage": 1, "cbftp.invoice_run": 1}


def test_simulated_time_survives_a_restart(sim):
    sim.start()
    quit_quietly(sim.login(wait=False))
    moved = parse_instant(sim.advance("1d")["now"])
    quit_quietly(sim.login())  # the last login: one day (plus 10 minutes) ahead of real time

    sim.restart()
    assert parse_instant(sim.http("GET", "/api/clock")["now"]) >= moved
    quit_quietly(sim.login())  # 10 minutes after the last login: allowed
    assert sim.findings() == []
