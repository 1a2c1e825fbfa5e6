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

import pytest
import requests
from lxml import etree

from clients.cbftp.digicom import Order, OrderLine, build_opdnaw, parse_ontbev
from simulators.cbftp.maintenance import next_outage, outage_around

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
        endpoint = self.runtime.endpoint("cb-ftps")
        ftp = ftplib.FTP_TLS(context=self.runtime.tls.client_context(), timeout=10)
        ftp.connect(endpoint.host, endpoint.port)
        try:
            ftp.auth()
            ftp.login(RELATION, PASSWORD)
            ftp.prot_p()
        except BaseException:
            ftp.close()
            raise
        return ftp

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
