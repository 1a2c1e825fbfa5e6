"""What CB does with a file placed in in/ (seed 002, SPEC §3), seen from an ``ftplib.FTP_TLS`` client:
taken at once (in/ is empty by the time the 226 arrives); an order file gets an ONTBEV receipt ``*.ont``
in out/; a file too corrupt for a syntax check gets an XML error file ``*.fout.xml``; a PDF or JPG is
recorded as an attachment and gets no receipt. The order files are written with the CB client's own
``build_opdnaw``, the receipts read with its ``parse_ontbev`` — nothing is shared with the simulator.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from lxml import etree

from clients.cbftp.digicom import Order, OrderLine, build_opdnaw, parse_ontbev
from simulators.cbftp.maintenance import next_outage, outage_around

from .wire import runtime_login

RELATION, PASSWORD = "7000123", "cb-secret"
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass
class CB:
    koppelsim: object

    @property
    def runtime(self):
        return self.koppelsim.runtime

    @property
    def model(self):
        return self.runtime.simulators["cbftp"].model

    def login(self) -> ftplib.FTP_TLS:
        return runtime_login(self.runtime)

    def api(self, path: str) -> requests.Response:
        return requests.get(f"{self.koppelsim.admin_url}api/cb/{path}", timeout=10)


@pytest.fixture
def cb(koppelsim) -> CB:
    """The shared clock may stand anywhere after earlier tests: out of (and clear of) the outage."""
    handle = CB(koppelsim)
    maintenance = handle.model.config.maintenance
    window = outage_around(koppelsim.now(), maintenance) or next_outage(koppelsim.now(), maintenance)
    if window is not None and window[0] - koppelsim.now() < timedelta(hours=2):
        koppelsim.runtime.scheduler.advance_to(window[1])
    return handle


def close_quietly(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()


def names(ftp: ftplib.FTP, folder: str) -> list[str]:
    return sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst(folder))


def get_ascii(ftp: ftplib.FTP, path: str) -> bytes:
    lines: list[str] = []
    ftp.retrlines(f"RETR {path}", lines.append)
    return "\r\n".join(lines).encode("latin-1") + b"\r\n"


def put_ascii_raw(ftp: ftplib.FTP_TLS, path: str, data: bytes) -> str:
    """An ASCII-mode upload of bytes as they are (ftplib's storlines would reshape lines)."""
    ftp.voidcmd("TYPE A")
    conn = ftp.transfercmd(f"STOR {path}")
    try:
        conn.sendall(data)
        conn.unwrap()
    finally:
        conn.close()
    return ftp.voidresp()


def test_an_order_is_taken_at_once_and_answered_with_an_accepted_receipt(cb):
    now = cb.runtime.clock.now()
    order = Order(order_number="PO-4711",
                  lines=[OrderLine("9789085013402", 2), OrderLine("9789073013827", 1)])
    data = build_opdnaw(order, sender_relation_id=RELATION, reference="REF-20261120-1", now=now)
    ftp = cb.login()
    try:
        assert ftp.storlines("STOR in/ord7000123.txt", io.BytesIO(data)).startswith("226")
        assert names(ftp, "in") == []  # taken before the 226
        (receipt_name,) = names(ftp, "out")
        assert receipt_name.startswith(f"{RELATION}u") and receipt_name.endswith(".ont")
        receipt = parse_ontbev(get_ascii(ftp, f"out/{receipt_name}"))
        assert names(ftp, "out") == []  # fetched completely: gone
    finally:
        close_quietly(ftp)
    assert receipt.accepted, receipt.errors
    assert receipt.original_reference == "REF-20261120-1" and receipt.original_message_type == "OPDNAW"
    assert receipt.errors == ()
    (received,) = cb.model.files(RELATION, "in")
    assert (received["name"], received["kind"], received["detail"]) == ("ord7000123.txt", "order", None)
    assert cb.model.findings() == []


def test_an_order_breaking_the_rules_gets_a_receipt_naming_the_line(cb):
    now = cb.runtime.clock.now()
    order = Order(order_number="PO-4712",  # the second article's check digit is wrong
                  lines=[OrderLine("9789085013402", 1), OrderLine("9789085013403", 1)])
    data = build_opdnaw(order, sender_relation_id=RELATION, reference="REF-BAD-1", now=now, check=False)
    lines = data.decode("latin-1").split("\r\n")
    bad_line = next(i for i, line in enumerate(lines, start=1) if "9789085013403" in line)
    ftp = cb.login()
    try:
        assert ftp.storlines("STOR in/ordbad.txt", io.BytesIO(data)).startswith("226")
        (receipt_name,) = names(ftp, "out")
        receipt = parse_ontbev(get_ascii(ftp, f"out/{receipt_name}"))
    finally:
        close_quietly(ftp)
    assert not receipt.accepted
    assert receipt.refused_lines == (bad_line,)
    assert {e.field for e in receipt.errors} == {"0200"}  # the article field
    assert cb.model.findings() == []  # a wrong order is CB's answer to give, not a breach of the FTP rules


def test_a_corrupt_binary_file_gets_an_xml_error_file_instead_of_a_receipt(cb):
    junk = bytes(range(256)) * 8
    ftp = cb.login()
    try:
        assert put_ascii_raw(ftp, "in/broken.txt", junk).startswith("226")
        assert names(ftp, "in") == []
        out = names(ftp, "out")
        assert out == ["broken.fout.xml"], out
        body = get_ascii(ftp, "out/broken.fout.xml")
    finally:
        close_quietly(ftp)
    root = etree.fromstring(body.replace(b"\r\n", b"\n"), SAFE_XML)
    assert root.tag == "error"
    assert root.findtext("filename") == "broken.txt"
    assert (root.findtext("code") or "").startswith("D9")
    languages = {d.get("{http://www.w3.org/XML/1998/namespace}lang") for d in root.findall("description")}
    assert languages == {"nl", "en"}
    (received,) = cb.model.files(RELATION, "in")
    assert received["kind"] == "order" and received["detail"].startswith("too corrupt")
    assert not [n for n in cb.model.present(RELATION, "out") if n.endswith(".ont")]


@pytest.mark.parametrize("name, data", [
    ("cover-9789085013402.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"),
    ("pakbon_2026-11.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"),
], ids=["jpg", "pdf"])
def test_a_pdf_or_jpg_is_recorded_as_an_attachment_without_a_receipt(cb, name, data):
    ftp = cb.login()
    try:
        assert ftp.storbinary(f"STOR in/{name}", io.BytesIO(data)).startswith("226")
        assert names(ftp, "in") == []
        assert names(ftp, "out") == []  # no receipt, no error file
    finally:
        close_quietly(ftp)
    files = cb.api(f"files/{RELATION}")
    assert files.status_code == 200, files.text
    body = files.json()
    assert body["present"] == {"in": [], "out": []}
    (entry,) = body["history"]
    assert (entry["folder"], entry["name"], entry["kind"]) == ("in", name, "attachment")
    assert entry["size"] == len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert cb.model.findings() == []
    assert cb.runtime.journal.entries(kind="cb.attachment_received", match={"name": name})


def test_files_of_an_unknown_account_or_folder_are_refused_by_the_admin_api(cb):
    assert cb.api("files/7999999").status_code == 404
    assert cb.api(f"files/{RELATION}?folder=elsewhere").status_code == 400
    assert cb.api(f"files/{RELATION}?folder=in").json()["history"] == []


# -- CB never replaces a file waiting unread in out/ --------------------------------------------------------

NOT_DIGICOM = b"this is not a Digicom message\r\n"


def error_file_of(body: bytes) -> str:
    """The upload an XML error file is about (its ``<filename>``)."""
    return etree.fromstring(body.replace(b"\r\n", b"\n"), SAFE_XML).findtext("filename")


def out_rows(cb: CB) -> dict[str, list[str]]:
    """CB's records of out/, state by name (several rows of one name, oldest first)."""
    rows: dict[str, list[str]] = {}
    for row in cb.model.files(RELATION, "out"):
        rows.setdefault(row["name"], []).append(row["state"])
    return rows


def test_two_unreadable_files_of_one_stem_each_keep_their_own_error_file(cb):
    """``dup.txt`` then ``dup.opd``: the second error file once replaced the first, unread."""
    ftp = cb.login()
    try:
        assert put_ascii_raw(ftp, "in/dup.txt", NOT_DIGICOM).startswith("226")
        assert put_ascii_raw(ftp, "in/dup.opd", NOT_DIGICOM).startswith("226")
        assert names(ftp, "out") == ["dup-2.fout.xml", "dup.fout.xml"]
        assert out_rows(cb) == {"dup.fout.xml": ["present"], "dup-2.fout.xml": ["present"]}
        assert error_file_of(get_ascii(ftp, "out/dup.fout.xml")) == "dup.txt"
        assert error_file_of(get_ascii(ftp, "out/dup-2.fout.xml")) == "dup.opd"
        assert names(ftp, "out") == []
    finally:
        close_quietly(ftp)
    assert out_rows(cb) == {"dup.fout.xml": ["downloaded"], "dup-2.fout.xml": ["downloaded"]}
    placed = cb.runtime.journal.entries(kind="file.created", match={"folder": "out"})
    assert [e["name"] for e in placed] == ["dup.fout.xml", "dup-2.fout.xml"]


def test_an_error_file_name_fetched_already_is_used_again(cb):
    ftp = cb.login()
    try:
        assert put_ascii_raw(ftp, "in/again.txt", NOT_DIGICOM).startswith("226")
        assert error_file_of(get_ascii(ftp, "out/again.fout.xml")) == "again.txt"
        assert put_ascii_raw(ftp, "in/again.opd", NOT_DIGICOM).startswith("226")
        assert names(ftp, "out") == ["again.fout.xml"]  # nothing waits under that name: no suffix
        assert error_file_of(get_ascii(ftp, "out/again.fout.xml")) == "again.opd"
    finally:
        close_quietly(ftp)
    assert out_rows(cb) == {"again.fout.xml": ["downloaded", "downloaded"]}


def test_an_unreadable_file_with_the_longest_name_gets_an_error_file_within_255_characters(cb):
    long_txt, long_opd = "x" * 251 + ".txt", "x" * 251 + ".opd"
    ftp = cb.login()
    try:
        assert put_ascii_raw(ftp, f"in/{long_txt}", NOT_DIGICOM).startswith("226")
        assert put_ascii_raw(ftp, f"in/{long_opd}", NOT_DIGICOM).startswith("226")
        assert names(ftp, "in") == []
        first, second = "x" * 246 + ".fout.xml", "x" * 244 + "-2.fout.xml"
        assert names(ftp, "out") == sorted([first, second])
        assert error_file_of(get_ascii(ftp, f"out/{first}")) == long_txt
        assert error_file_of(get_ascii(ftp, f"out/{second}")) == long_opd
    finally:
        close_quietly(ftp)


def test_a_receipt_never_replaces_a_file_waiting_under_its_name(cb):
    now = cb.runtime.clock.now()
    taken = f"{RELATION}u0001{now.astimezone(ZoneInfo('Europe/Amsterdam')):%Y%m%d}.ont"  # the first receipt's name
    cb.model.place_file(RELATION, taken, b"placed first\r\n")
    data = build_opdnaw(Order(order_number="PO-1", lines=[OrderLine("9789085013402", 1)]),
                        sender_relation_id=RELATION, reference="REF-NEXT", now=now)
    ftp = cb.login()
    try:
        assert ftp.storlines("STOR in/next.txt", io.BytesIO(data)).startswith("226")
        (receipt,) = set(names(ftp, "out")) - {taken}
        assert receipt == taken.replace("u0001", "u0002")
        assert get_ascii(ftp, f"out/{taken}") == b"placed first\r\n"
        assert parse_ontbev(get_ascii(ftp, f"out/{receipt}")).original_reference == "REF-NEXT"
    finally:
        close_quietly(ftp)
    assert out_rows(cb) == {taken: ["downloaded"], receipt: ["downloaded"]}


def test_an_invoice_is_refused_rather_than_replace_a_file_waiting_under_its_name(cb):
    admin = f"{cb.koppelsim.admin_url}api/cb/invoices"
    pdf_name = f"{RELATION}_K1734987.pdf"  # the next invoice's PDF (numbers start at K1734987)
    cb.model.place_file(RELATION, pdf_name, b"%PDF-1.4 placed first\n%%EOF\n")
    refused = requests.post(admin, json={"relation_id": RELATION}, timeout=30)
    assert refused.status_code == 409, refused.text
    assert cb.model.invoices() == []
    assert cb.model.present(RELATION, "out") == [pdf_name]  # neither half of the invoice placed
    ftp = cb.login()
    try:
        ftp.voidcmd("TYPE I")
        ftp.retrbinary(f"RETR out/{pdf_name}", lambda chunk: None)
        issued = requests.post(admin, json={"relation_id": RELATION}, timeout=30)  # the name is free again
        assert issued.status_code == 201, issued.text
        assert names(ftp, "out") == sorted([issued.json()["xml_name"], issued.json()["pdf_name"]])
    finally:
        close_quietly(ftp)
    assert issued.json()["pdf_name"] == pdf_name
