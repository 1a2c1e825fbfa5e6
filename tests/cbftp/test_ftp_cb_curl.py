"""The Centraal Boekhuis simulator driven by the ``curl`` command line: a third-party FTPS client that shares
no code with ftplib (its own TLS use, EPSV, its own path walking).

Every call is ``curl --ssl-reqd --ftp-pasv --cacert <ca> -u 7000123:cb-secret``. curl logs in once per
run, and CB allows one login per 10 minutes: the session runtime (enforce mode) gets its clock moved 10
minutes between runs; the report-mode test shows what happens when nobody waits.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from lxml import etree

from clients.cbftp.digicom import Order, OrderLine, build_opdnaw, parse_ontbev
from simulators.cbftp.maintenance import next_outage, outage_around
from simulators.core.clock import VirtualClock, parse_duration
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="the curl command line client is not installed")
RELATION, PASSWORD = "7000123", "cb-secret"
CURL_SECONDS = 20  # real time for one curl run
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class Curl:
    """curl against one runtime's CB endpoint; ``wait`` moves the clock past the 10-minute login rule."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.model = runtime.simulators["cbftp"].model
        endpoint = runtime.endpoint("cb-ftps")
        self.base = f"ftp://{endpoint.host}:{endpoint.port}/"
        self.ca = str(runtime.tls.ca_cert)

    def __call__(self, *args: str, tls: bool = True,
                 user: str = f"{RELATION}:{PASSWORD}") -> subprocess.CompletedProcess:
        command = [CURL, "--silent", "--show-error", "--verbose", "--max-time", "15", "--ftp-pasv",
                   "--user", user]
        if tls:
            command += ["--ssl-reqd", "--cacert", self.ca]
        return subprocess.run(command + list(args), capture_output=True, timeout=CURL_SECONDS)

    def url(self, path: str = "") -> str:
        return self.base + path

    def out_of_maintenance(self) -> None:
        window = outage_around(self.runtime.clock.now(), self.model.config.maintenance)
        if window is not None:
            self.runtime.scheduler.advance_to(window[1])

    def clear_of_maintenance(self, margin: timedelta = timedelta(hours=2)) -> None:
        """Out of the outage, and far enough from the next one for the short clock moves of a test."""
        self.out_of_maintenance()
        upcoming = next_outage(self.runtime.clock.now(), self.model.config.maintenance)
        if upcoming is not None and upcoming[0] - self.runtime.clock.now() < margin:
            self.runtime.scheduler.advance_to(upcoming[1])

    def wait(self) -> None:
        self.runtime.scheduler.advance(parse_duration(self.model.config.login_interval))
        self.out_of_maintenance()

    def listing(self, folder: str) -> list[str]:
        result = self("--list-only", self.url(f"{folder}/" if folder else ""))
        return sorted(ok(result).decode().split())


def ok(result: subprocess.CompletedProcess) -> bytes:
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout


def server_said(result: subprocess.CompletedProcess) -> list[str]:
    """The server's replies as curl's --verbose shows them (lines starting with '< ')."""
    return [line[2:] for line in result.stderr.decode(errors="replace").splitlines() if line.startswith("< ")]


def client_said(result: subprocess.CompletedProcess) -> list[str]:
    return [line[2:] for line in result.stderr.decode(errors="replace").splitlines() if line.startswith("> ")]


@pytest.fixture
def curl(koppelsim) -> Curl:
    handle = Curl(koppelsim.runtime)
    handle.clear_of_maintenance()  # the shared clock may stand anywhere after earlier tests
    return handle


def order_bytes(curl: Curl, reference: str) -> bytes:
    return build_opdnaw(Order(order_number="PO-CURL", lines=[OrderLine("9789085013402", 3),
                                                             OrderLine("9789073013827", 1)]),
                        sender_relation_id=RELATION, reference=reference, now=curl.runtime.clock.now())


def test_a_whole_exchange_with_curl_order_receipt_and_invoice(curl, tmp_path):
    invoice = curl.model.issue_invoice(RELATION)
    order = tmp_path / "order20261120.txt"
    order.write_bytes(order_bytes(curl, "CURL-0001"))

    # The order, in ASCII as CB asks for a .txt; curl walks to in/ relative to the home /7000123.
    result = curl("--use-ascii", "--upload-file", str(order), curl.url("in/"))
    ok(result)
    assert "TYPE A" in client_said(result) and any(r.startswith("226") for r in server_said(result))

    curl.wait()
    out = curl.listing("out")
    receipts = [n for n in out if n.endswith(".ont")]
    assert len(receipts) == 1 and sorted(set(out) - set(receipts)) == sorted([invoice["xml_name"],
                                                                               invoice["pdf_name"]])

    curl.wait()
    receipt = parse_ontbev(ok(curl("--use-ascii", curl.url(f"out/{receipts[0]}"))))
    assert receipt.accepted and receipt.original_reference == "CURL-0001" and receipt.errors == ()

    curl.wait()
    pdf = tmp_path / invoice["pdf_name"]
    ok(curl("--output", str(pdf), curl.url(f"out/{invoice['pdf_name']}")))  # binary: no --use-ascii
    assert pdf.read_bytes() == curl.model.invoice_bytes(invoice["number"], "pdf")

    curl.wait()
    xml = ok(curl("--use-ascii", curl.url(f"out/{invoice['xml_name']}")))
    assert xml.splitlines() == curl.model.invoice_bytes(invoice["number"], "xml").splitlines()
    root = etree.fromstring(xml, SAFE_XML)
    assert root.findtext("{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}ID") == \
        invoice["number"]

    curl.wait()
    assert curl.listing("out") == []  # every complete download removed its file
    curl.wait()
    assert curl.listing("in") == []  # the order was taken at once
    assert curl.model.findings() == []  # curl, used this way, keeps every rule of CB's rulebook
    assert [f["kind"] for f in curl.model.files(RELATION, "in")] == ["order"]


def test_curl_with_an_absolute_path_and_a_single_CWD_works(curl, tmp_path):
    source = tmp_path / "scan.pdf"
    source.write_bytes(b"%PDF-1.4\n%%EOF\n")
    result = curl("--ftp-method", "singlecwd", "--upload-file", str(source), curl.url(f"%2F{RELATION}/in/"))
    ok(result)
    assert f"CWD /{RELATION}/in" in client_said(result)
    assert curl.model.received_before(RELATION, "scan.pdf")
    assert curl.model.findings() == []


def test_a_url_path_repeating_the_relation_id_is_relative_to_the_home_and_refused(curl, tmp_path):
    """curl's paths are relative to the login folder, and the home *is* /7000123: ftp://host/7000123/in/
    asks for /7000123/7000123/in, which is not there. The reply names the folders that are."""
    source = tmp_path / "scan.pdf"
    source.write_bytes(b"%PDF-1.4\n%%EOF\n")
    result = curl("--upload-file", str(source), curl.url(f"{RELATION}/in/"))
    assert result.returncode == 9, result.stderr[-1000:]  # CURLE_REMOTE_ACCESS_DENIED
    assert f"CWD {RELATION}" in client_said(result)
    refusal = [r for r in server_said(result) if r.startswith("550")]
    assert refusal and f"/{RELATION}/in and /{RELATION}/out" in refusal[-1], server_said(result)
    assert not curl.model.received_before(RELATION, "scan.pdf")


def test_curl_default_absolute_url_walks_through_the_root(curl, tmp_path):
    source = tmp_path / "scan.pdf"
    source.write_bytes(b"%PDF-1.4\n%%EOF\n")
    ok(curl("--upload-file", str(source), curl.url(f"%2F{RELATION}/in/")))
    assert curl.model.received_before(RELATION, "scan.pdf")


def test_curl_MKD_is_refused_saying_why(curl):
    result = curl("--quote", "MKD extra", curl.url())
    assert result.returncode == 21, result.stderr  # CURLE_QUOTE_ERROR
    assert any(r.startswith("550") and "Creating folders is not allowed" in r for r in server_said(result)), \
        server_said(result)
    assert [f["detail"] for f in curl.model.findings(rule="folder")] == ["MKD extra"]
    curl.wait()
    assert curl.listing("") == ["in", "out"]


def test_curl_TLS_1_1_is_refused_while_1_2_and_1_3_work(curl):
    old = curl("--tlsv1.1", "--tls-max", "1.1", "--ciphers", "DEFAULT:@SECLEVEL=0", curl.url())
    if old.returncode == 4 or b"not built with" in old.stderr or b"no protocols available" in old.stderr:
        pytest.skip(f"this curl cannot offer TLS 1.1: {old.stderr[-300:]!r}")
    assert old.returncode == 35, old.stderr  # CURLE_SSL_CONNECT_ERROR
    assert b"protocol version" in old.stderr, old.stderr[-500:]
    assert [f["rule"] for f in curl.model.findings()] == ["tls_version"]
    for flags, version in ((["--tlsv1.2", "--tls-max", "1.2"], b"TLSv1.2"), (["--tlsv1.3"], b"TLSv1.3")):
        result = curl(*flags, "--list-only", curl.url())
        assert sorted(ok(result).decode().split()) == ["in", "out"]
        assert b"SSL connection using " + version in result.stderr
        curl.wait()


def test_curl_without_TLS_is_refused(curl):
    result = curl(curl.url(), tls=False)
    assert result.returncode == 67, result.stderr  # CURLE_LOGIN_DENIED
    assert any(r.startswith("550 SSL/TLS required") for r in server_said(result)), server_said(result)
    assert [f["detail"] for f in curl.model.findings(rule="tls_control")] == [
        f"USER sent before AUTH TLS (user {RELATION})"]  # curl stops at the refused USER: no PASS in clear
    assert sorted(ok(curl("--list-only", curl.url())).decode().split()) == ["in", "out"]


def test_curl_upload_with_a_forbidden_name_gets_553(curl, tmp_path):
    source = tmp_path / "x.txt"
    source.write_bytes(b"#00010\r\n")
    result = curl("--use-ascii", "--upload-file", str(source), curl.url("in/Bestelling%20nov.TXT"))
    assert result.returncode == 25, result.stderr[-1000:]  # CURLE_UPLOAD_FAILED
    refusal = [r for r in server_said(result) if r.startswith("553")]
    assert refusal and "File name not allowed" in refusal[-1], server_said(result)
    assert [f["rule"] for f in curl.model.findings()] == ["file_name"]
    assert curl.model.files(RELATION) == []


def test_a_second_curl_run_within_10_minutes_is_refused_in_enforce_mode(curl):
    ok(curl("--list-only", curl.url("out/")))
    result = curl("--list-only", curl.url("out/"))
    assert result.returncode == 67, result.stderr  # CURLE_LOGIN_DENIED
    assert any(r.startswith("530") and "at most once every 10 minutes" in r for r in server_said(result))
    assert [f["rule"] for f in curl.model.findings()] == ["login_frequency"]
    curl.wait()
    ok(curl("--list-only", curl.url("out/")))
    assert len(curl.model.findings()) == 1


# -- report mode: rules are recorded, nothing is refused ------------------------------------------------

@pytest.fixture
def report_mode(tmp_path):
    register_config_sections()
    settings = settings_for_tests()
    settings["cbftp"].update({"mode": "report"})
    runtime = Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings}),
                      clock=VirtualClock("2026-11-20T09:00:00Z"), only=["mailbox", "cbftp"])
    runtime.start(admin=False)
    try:
        yield Curl(runtime)
    finally:
        runtime.stop()


def test_in_report_mode_curl_runs_back_to_back_and_each_extra_login_is_a_finding(report_mode, tmp_path):
    curl = report_mode
    invoice = curl.model.issue_invoice(RELATION)
    order = tmp_path / "order1.txt"
    order.write_bytes(order_bytes(curl, "CURL-REPORT"))
    ok(curl("--use-ascii", "--upload-file", str(order), curl.url("in/")))
    (receipt,) = [n for n in curl.listing("out") if n.endswith(".ont")]
    assert parse_ontbev(ok(curl("--use-ascii", curl.url(f"out/{receipt}")))).accepted
    pdf = ok(curl(curl.url(f"out/{invoice['pdf_name']}")))
    assert pdf == curl.model.invoice_bytes(invoice["number"], "pdf")
    assert curl.listing("out") == [invoice["xml_name"]]
    # Five logins in the same minute: four too many, each recorded, none refused.
    assert [f["rule"] for f in curl.model.findings()] == ["login_frequency"] * 4
