"""The Centraal Boekhuis admin API under /api/cb/, over real HTTP with ``requests``, checked against what the
FTPS server and the embedded test mailbox show a real client (``ftplib.FTP_TLS``)."""

from __future__ import annotations

import ftplib
import io
from datetime import timedelta

import pytest
import requests
from lxml import etree

from simulators.cbftp.findings import RULES
from simulators.cbftp.maintenance import next_outage, outage_around
from simulators.core.clock import parse_duration

from .wire import runtime_login

RELATION, PASSWORD = "7000123", "cb-secret"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
# The client-side rules of seed 002, by the names the simulator gives them.
SEED_RULES = {"tls_control", "tls_data", "tls_version", "active_mode", "folder", "path_escape",
              "other_account", "file_name", "overwrite", "rename", "append", "delete_in", "upload_out",
              "login_frequency", "transfer_type", "parallel_session", "quota"}


class Admin:
    def __init__(self, koppelsim) -> None:
        self.koppelsim = koppelsim
        self.base = f"{koppelsim.admin_url}api/"

    def get(self, path: str, **params) -> requests.Response:
        return requests.get(self.base + path, params=params, timeout=10)

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(self.base + path, json=body, timeout=30)

    @property
    def model(self):
        return self.koppelsim.runtime.simulators["cbftp"].model

    def login(self, user: str = RELATION, password: str = PASSWORD) -> ftplib.FTP_TLS:
        return runtime_login(self.koppelsim.runtime, user, password)

    def out_of_maintenance(self) -> None:
        window = outage_around(self.koppelsim.now(), self.model.config.maintenance)
        if window is not None:
            self.koppelsim.runtime.scheduler.advance_to(window[1])

    def clear_of_maintenance(self, margin: timedelta = timedelta(hours=2)) -> None:
        """Out of the outage, and far enough from the next one for the short clock moves of a test."""
        self.out_of_maintenance()
        upcoming = next_outage(self.koppelsim.now(), self.model.config.maintenance)
        if upcoming is not None and upcoming[0] - self.koppelsim.now() < margin:
            self.koppelsim.runtime.scheduler.advance_to(upcoming[1])

    def next_login(self) -> None:
        self.koppelsim.advance(parse_duration(self.model.config.login_interval))
        self.out_of_maintenance()


@pytest.fixture
def admin(koppelsim) -> Admin:
    handle = Admin(koppelsim)
    handle.clear_of_maintenance()  # the shared clock may stand anywhere after earlier tests
    return handle


def close_quietly(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()


def names(ftp: ftplib.FTP, folder: str) -> list[str]:
    return sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst(folder))


# -- accounts -----------------------------------------------------------------------------------------

def test_accounts_list_relation_id_user_and_password(admin):
    got = admin.get("cb/accounts")
    assert got.status_code == 200
    accounts = {a["relation_id"]: a for a in got.json()}
    assert sorted(accounts) == [RELATION, "7000456"]  # yours, and the built-in hub's
    account = accounts[RELATION]
    assert (account["relation_id"], account["user"], account["password"]) == (RELATION, RELATION, PASSWORD)
    assert account["invoice_channel"] == "ftp"
    ftp = admin.login(account["user"], account["password"])  # what the API says works on the wire
    close_quietly(ftp)


def test_a_new_account_gets_its_folders_and_can_log_in(admin):
    created = admin.post("cb/accounts",
                         {"relation_id": "7000789", "password": "pw-789", "name": "Boekhandel Nieuw"})
    assert created.status_code == 201, created.text
    assert created.json() == {"relation_id": "7000789", "user": "7000789", "name": "Boekhandel Nieuw",
                              "email": None, "invoice_channel": "ftp"}
    listed = {a["relation_id"]: a for a in admin.get("cb/accounts").json()}
    assert listed["7000789"]["password"] == "pw-789" and RELATION in listed
    assert admin.model.folder("7000789", "in").is_dir() and admin.model.folder("7000789", "out").is_dir()
    # Its own login clock: our customer logging in a moment earlier does not hold it back.
    close_quietly(admin.login())
    ftp = admin.login("7000789", "pw-789")
    try:
        assert ftp.pwd() == "/7000789"
        assert names(ftp, "") == ["in", "out"]
        assert ftp.storbinary("STOR in/first.pdf", io.BytesIO(b"%PDF-1.4\n%%EOF\n")).startswith("226")
    finally:
        close_quietly(ftp)
    assert admin.get("cb/files/7000789").json()["history"][0]["name"] == "first.pdf"
    assert admin.model.findings() == []


def test_an_account_with_its_own_user_name_logs_in_with_it(admin):
    created = admin.post("cb/accounts", {"relation_id": "7000790", "password": "pw", "user": "boekhandel"})
    assert created.status_code == 201, created.text
    ftp = admin.login("boekhandel", "pw")
    try:
        assert ftp.pwd() == "/7000790"
    finally:
        close_quietly(ftp)


@pytest.mark.parametrize("body, says", [
    ({"relation_id": "123", "password": "x"}, "7 digits"),
    ({"relation_id": "70001234", "password": "x"}, "7 digits"),
    ({"relation_id": "7000999", "password": ""}, "password"),
    ({"relation_id": "7000999"}, "password"),
    ({"relation_id": "7000999", "password": "x", "invoice_channel": "fax"}, "invoice_channel"),
    ({"relation_id": "7000999", "password": "x", "invoice_channel": "email"}, "email"),
    ({"relation_id": "7000999", "password": "x", "shoe_size": 44}, "shoe_size"),
], ids=["short-id", "long-id", "empty-password", "no-password", "channel", "email-without-address",
        "unknown"])
def test_a_bad_account_is_refused_with_400_saying_why(admin, body, says):
    got = admin.post("cb/accounts", body)
    assert got.status_code == 400, got.text
    assert says in got.text, got.text
    assert [a["relation_id"] for a in admin.get("cb/accounts").json()] == [RELATION, "7000456"]


# -- findings and rules ---------------------------------------------------------------------------------

def test_findings_are_listed_and_filtered_by_rule(admin):
    ftp = admin.login()
    try:
        with pytest.raises(ftplib.error_perm):
            ftp.sendcmd("MKD extra")
        with pytest.raises(ftplib.error_perm):
            ftp.sendcmd("PORT 127,0,0,1,4,1")
        with pytest.raises(ftplib.error_perm):
            ftp.sendcmd("MKD again")
    finally:
        close_quietly(ftp)
    everything = admin.get("cb/findings").json()
    assert [(f["rule"], f["detail"], f["relation_id"]) for f in everything] == [
        ("folder", "MKD extra", RELATION), ("active_mode", "PORT", RELATION),
        ("folder", "MKD again", RELATION)]
    assert all(f["rule_text"] == RULES[f["rule"]] and f["session"] for f in everything)
    assert [f["detail"] for f in admin.get("cb/findings", rule="folder").json()] == ["MKD extra", "MKD again"]
    assert [f["detail"] for f in admin.get("cb/findings", rule="active_mode").json()] == ["PORT"]
    assert admin.get("cb/findings", rule="quota").json() == []
    assert len(admin.get("cb/findings", relation_id=RELATION).json()) == 3
    assert admin.get("cb/findings", relation_id="7000456").json() == []


def test_rules_name_every_client_side_rule_of_the_seed(admin):
    got = admin.get("cb/rules")
    assert got.status_code == 200
    rules = got.json()
    assert {r["rule"] for r in rules} == SEED_RULES
    assert all(r["text"] for r in rules)
    texts = {r["rule"]: r["text"] for r in rules}
    assert "10 minutes" in texts["login_frequency"] and "TLS 1.2" in texts["tls_version"]


# -- invoices -----------------------------------------------------------------------------------------

def test_an_invoice_issued_by_the_api_lands_in_out_and_its_files_are_served(admin):
    issued = admin.post("cb/invoices", {"relation_id": RELATION, "issue_date": "2026-11-01", "lines": 3})
    assert issued.status_code == 201, issued.text
    invoice = issued.json()
    number = invoice["number"]
    assert invoice["xml_name"] == f"{RELATION}_{number}.xml"
    assert invoice["pdf_name"] == f"{RELATION}_{number}.pdf"
    assert invoice["issue_date"] == "2026-11-01" and invoice["channel"] == "ftp"

    xml = admin.get(f"cb/invoices/{number}/xml")
    assert xml.status_code == 200 and xml.headers["Content-Type"].startswith("application/xml")
    assert f'filename="{RELATION}_{number}.xml"' in xml.headers["Content-Disposition"]
    root = etree.fromstring(xml.content, SAFE_XML)
    assert root.findtext(f"{{{CBC}}}ID") == number
    assert root.findtext(f"{{{CBC}}}IssueDate") == "2026-11-01"
    assert len(root.findall("{*}InvoiceLine")) == 3
    pdf = admin.get(f"cb/invoices/{number}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"

    ftp = admin.login()
    try:
        assert names(ftp, "out") == sorted([invoice["xml_name"], invoice["pdf_name"]])
        sink = io.BytesIO()
        ftp.retrbinary(f"RETR out/{invoice['pdf_name']}", sink.write)
        assert sink.getvalue() == pdf.content  # the API serves what was delivered
    finally:
        close_quietly(ftp)
    assert [i["number"] for i in admin.get("cb/invoices", relation_id=RELATION).json()] == [number]
    # Still served after the download removed it from out/ (kept for the admin API).
    assert admin.get(f"cb/invoices/{number}/pdf").content == pdf.content


def test_invoice_requests_that_cannot_be_met_get_a_4xx(admin):
    assert admin.post("cb/invoices", {"relation_id": "7999999"}).status_code == 404
    assert admin.post("cb/invoices", {"relation_id": RELATION, "lines": 0}).status_code == 400
    assert admin.post("cb/invoices", {"relation_id": RELATION, "lines": 1001}).status_code == 400
    assert admin.post("cb/invoices", {"relation_id": RELATION, "issue_date": "1 november"}).status_code == 400
    assert admin.get("cb/invoices/K0000000/xml").status_code == 404
    number = admin.post("cb/invoices", {"relation_id": RELATION}).json()["number"]
    assert admin.get(f"cb/invoices/{number}/docx").status_code == 400
    assert len(admin.get("cb/invoices").json()) == 1


def test_a_credit_invoice_says_so(admin):
    number = admin.post("cb/invoices", {"relation_id": RELATION, "credit": True}).json()["number"]
    root = etree.fromstring(admin.get(f"cb/invoices/{number}/xml").content, SAFE_XML)
    assert root.findtext(f"{{{CBC}}}InvoiceTypeCode") == "C"


def test_an_email_account_gets_each_invoice_file_in_its_own_message(admin):
    address = "facturen@boekhandel-mail.example"
    created = admin.post("cb/accounts", {"relation_id": "7000555", "password": "pw-555", "email": address,
                                         "invoice_channel": "email"})
    assert created.status_code == 201, created.text
    number = admin.post("cb/invoices", {"relation_id": "7000555"}).json()["number"]
    expected = {f"7000555_{number}.xml": admin.get(f"cb/invoices/{number}/xml").content,
                f"7000555_{number}.pdf": admin.get(f"cb/invoices/{number}/pdf").content}

    messages = admin.get("mailbox/messages", to=address).json()
    assert len(messages) == 2, messages
    seen = {}
    for summary in messages:
        assert summary["to"] == [address] and number in summary["subject"]
        message = admin.get(f"mailbox/messages/{summary['id']}").json()
        (attachment,) = message["attachments"]
        body = admin.get(f"mailbox/messages/{summary['id']}/attachments/{attachment['index']}")
        assert body.status_code == 200
        seen[attachment["name"]] = body.content
    assert seen == expected
    # E-mail only: nothing waits in out/ of that account.
    assert admin.get("cb/files/7000555").json()["present"]["out"] == []
    assert admin.get("mailbox/messages", to="nobody@else.example").json() == []
