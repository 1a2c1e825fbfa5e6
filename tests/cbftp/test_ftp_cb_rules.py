"""Centraal Boekhuis' FTPS rulebook (seed 002, SPEC §3) as Python's ``ftplib.FTP_TLS`` meets it, rule by
rule, over real sockets against the session runtime (``koppelsim`` fixture: enforce mode, the 10-minute
login rule).

Each test shows the refusal a user can act on *and* the finding CB's simulator records, then that the
allowed way still works. The login rule applies to every test: a second login first moves the clock on.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import socket
import ssl
import struct
import warnings
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from simulators.cbftp.config import CBAccount
from simulators.cbftp.maintenance import next_outage, outage_around
from simulators.core.clock import VirtualClock, parse_duration
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

from .wire import wait_for

RELATION, PASSWORD = "7000123", "cb-secret"
BIG = 8 * 1024 * 1024  # a download far larger than the socket buffers: it cannot finish unread


# -- a CB customer's moves, over the wire -------------------------------------------------------------

@dataclass
class CB:
    runtime: object

    @property
    def model(self):
        return self.runtime.simulators["cbftp"].model

    @property
    def endpoint(self):
        return self.runtime.endpoint("cb-ftps")

    def context(self) -> ssl.SSLContext:
        return self.runtime.tls.client_context()

    def connect(self, context: ssl.SSLContext | None = None) -> ftplib.FTP_TLS:
        ftp = ftplib.FTP_TLS(context=context or self.context(), timeout=10)
        ftp.connect(self.endpoint.host, self.endpoint.port)
        return ftp

    def login(self, user: str = RELATION, password: str = PASSWORD, context: ssl.SSLContext | None = None,
              prot_p: bool = True) -> ftplib.FTP_TLS:
        ftp = self.connect(context)
        try:
            ftp.auth()
            ftp.login(user, password)
            if prot_p:
                ftp.prot_p()
        except BaseException:
            ftp.close()
            raise
        return ftp

    def advance(self, delta) -> None:
        self.runtime.scheduler.advance(delta)

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

    def next_login(self) -> None:
        """Wait (on the clock) as CB's rule asks: one login per 10 minutes, outside the maintenance outage."""
        self.advance(parse_duration(self.model.config.login_interval))
        self.out_of_maintenance()

    def findings(self, rule: str | None = None) -> list[dict]:
        return self.model.findings(rule=rule)

    def rules_found(self) -> list[str]:
        return [f["rule"] for f in self.model.findings()]


@pytest.fixture
def cb(koppelsim) -> CB:
    handle = CB(koppelsim.runtime)
    handle.clear_of_maintenance()  # the shared clock may stand anywhere after earlier tests
    return handle


def close_quietly(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()


def names(ftp: ftplib.FTP, folder: str) -> list[str]:
    return sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst(folder))


def get_binary(ftp: ftplib.FTP, path: str) -> bytes:
    sink = io.BytesIO()
    ftp.retrbinary(f"RETR {path}", sink.write)
    return sink.getvalue()


def get_ascii(ftp: ftplib.FTP, path: str) -> bytes:
    lines: list[str] = []
    ftp.retrlines(f"RETR {path}", lines.append)
    return "\n".join(lines).encode() + b"\n"


def refused(action, *args, **kwargs) -> str:
    with pytest.raises(ftplib.Error) as error:
        action(*args, **kwargs)
    return str(error.value)


def final_reply(ftp: ftplib.FTP) -> str:
    try:
        return ftp.voidresp()
    except ftplib.Error as exc:
        return str(exc)


def reset(sock: socket.socket) -> None:
    """Close like a crashed client: TCP RST, no TLS close_notify."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()



PDF = b"%PDF-1.4\n% a scan for CB\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


# -- explicit FTPS only ------------------------------------------------------------------------------

def test_USER_and_PASS_before_AUTH_TLS_are_refused_and_recorded(cb):
    plain = ftplib.FTP(timeout=10)
    plain.connect(cb.endpoint.host, cb.endpoint.port)
    try:
        reply = refused(plain.login, RELATION, PASSWORD)
        assert reply.startswith("550") and "SSL/TLS required" in reply, reply
        reply = refused(plain.sendcmd, f"PASS {PASSWORD}")
        assert reply.startswith("550"), reply
    finally:
        plain.close()
    found = cb.findings("tls_control")
    assert [f["detail"] for f in found] == [f"USER sent before AUTH TLS (user {RELATION})",
                                            "PASS sent before AUTH TLS"]
    assert PASSWORD not in str(cb.model.findings())
    # A refused plain login is no login: the same minute, with TLS, the user gets in.
    ftp = cb.login()
    try:
        assert ftp.pwd() == f"/{RELATION}"
    finally:
        close_quietly(ftp)


def test_PROT_C_gets_534_and_PROT_P_works(cb):
    ftp = cb.login(prot_p=False)
    try:
        assert ftp.sendcmd("PBSZ 0").startswith("200")
        reply = refused(ftp.sendcmd, "PROT C")
        assert reply.startswith("534") and "PROT P" in reply, reply
        assert [f["detail"] for f in cb.findings("tls_data")] == ["PROT C"]
        assert ftp.sendcmd("PROT P").startswith("200")
        ftp._prot_p = True  # what ftplib's prot_p() would have noted
        assert names(ftp, "") == ["in", "out"]
    finally:
        close_quietly(ftp)
    assert cb.rules_found() == ["tls_data"]


def test_data_channel_before_PROT_P_is_refused_with_550(cb):
    ftp = cb.login(prot_p=False)
    try:
        for command in ("PASV", "EPSV"):
            reply = refused(ftp.sendcmd, command)
            assert reply.startswith("550") and "SSL/TLS required on the data channel" in reply, reply
        assert refused(ftp.nlst, "out").startswith("550")  # ftplib's own PASV, the same answer
        assert [f["detail"] for f in cb.findings("tls_data")] == [
            "PASV before PROT P", "EPSV before PROT P", "PASV before PROT P"]
        ftp.prot_p()
        assert names(ftp, "") == ["in", "out"]
    finally:
        close_quietly(ftp)


def _context(cb: CB, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = cb.context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # old TLS is deprecated: that is the point
        context.minimum_version = version
        context.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 will not even offer TLS 1.0/1.1 otherwise
    return context


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1],
                         ids=["TLSv1.0", "TLSv1.1"])
def test_TLS_1_0_and_1_1_are_refused(cb, version):
    try:
        context = _context(cb, version)
    except (ValueError, ssl.SSLError) as exc:
        pytest.skip(f"this Python/OpenSSL cannot build a {version.name} client context: {exc}")
    ftp = cb.connect(context)
    try:
        with pytest.raises(ssl.SSLError) as failed:
            ftp.auth()
        if "NO_PROTOCOLS_AVAILABLE" in str(failed.value).upper():
            pytest.skip(f"the local OpenSSL will not offer {version.name}: {failed.value}")
        assert "PROTOCOL_VERSION" in str(failed.value).upper(), failed.value
    finally:
        ftp.close()
    wait_for(lambda: cb.findings("tls_version"), "record the failed handshake")
    assert cb.rules_found() == ["tls_version"]
    ftp = cb.login()  # the same server, with TLS 1.2+, lets the user in
    try:
        assert names(ftp, "") == ["in", "out"]
    finally:
        close_quietly(ftp)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3],
                         ids=["TLSv1.2", "TLSv1.3"])
def test_TLS_1_2_and_1_3_are_accepted_on_both_channels(cb, version):
    ftp = cb.login(context=_context(cb, version))
    try:
        assert ftp.sock.version() == version.name.replace("v1_", "v1.")
        assert ftp.storbinary("STOR in/tls.pdf", io.BytesIO(PDF)).startswith("226")
        assert names(ftp, "in") == []
    finally:
        close_quietly(ftp)
    assert cb.model.received_before(RELATION, "tls.pdf")
    assert cb.model.findings() == []


# -- passive mode only ---------------------------------------------------------------------------------

def test_PORT_and_EPRT_are_refused_and_PASV_works(cb):
    ftp = cb.login()
    try:
        reply = refused(ftp.sendcmd, "PORT 127,0,0,1,4,1")
        assert reply.startswith("502") and "PASV" in reply, reply
        reply = refused(ftp.sendcmd, "EPRT |1|127.0.0.1|1025|")
        assert reply.startswith("502") and "PASV" in reply, reply
        ftp.set_pasv(False)  # ftplib's own active mode: its PORT gets the same answer
        assert refused(ftp.nlst, "out").startswith("502")
        ftp.set_pasv(True)
        assert names(ftp, "") == ["in", "out"]
    finally:
        close_quietly(ftp)
    assert [f["detail"] for f in cb.findings("active_mode")] == ["PORT", "EPRT", "PORT"]


# -- the account: /{RelatieID}/ with in/ and out/, nothing else ----------------------------------------

def test_home_is_the_relation_folder_with_in_and_out(cb):
    ftp = cb.login()
    try:
        assert ftp.pwd() == f"/{RELATION}"
        assert names(ftp, "") == ["in", "out"]
        assert names(ftp, f"/{RELATION}") == ["in", "out"]
        ftp.cwd("in")
        assert ftp.pwd() == f"/{RELATION}/in"
        ftp.cwd(f"/{RELATION}/out")
        assert ftp.pwd() == f"/{RELATION}/out"
        ftp.cwd(f"/{RELATION}")
        assert ftp.pwd() == f"/{RELATION}"
    finally:
        close_quietly(ftp)
    assert cb.model.findings() == []


@pytest.mark.parametrize("command", ["MKD extra", "MKD in/sub", f"XMKD /{RELATION}/new", "RMD in",
                                     "XRMD out"])
def test_folders_can_be_neither_made_nor_removed(cb, command):
    ftp = cb.login()
    try:
        reply = refused(ftp.sendcmd, command)
        assert reply.startswith("550") and "folders is not allowed" in reply, reply
        assert names(ftp, "") == ["in", "out"]
        assert names(ftp, "in") == [] and names(ftp, "out") == []
    finally:
        close_quietly(ftp)
    recorded = command.replace("XMKD", "MKD").replace("XRMD", "RMD")  # pyftpdlib maps X* onto the verb
    assert [f["detail"] for f in cb.findings("folder")] == [recorded]
    assert not (cb.model.folder(RELATION, "in") / "sub").exists()


OTHER = "7000456"


@pytest.mark.parametrize("command, rules", [
    ("CWD ../..", ["path_escape"]),
    (f"CWD /../{OTHER}", ["path_escape"]),
    (f"CWD /{OTHER}", ["other_account"]),
    (f"CWD ../{OTHER}/out", ["other_account"]),
    ("CWD /etc", ["path_escape"]),
    (f"RETR /{OTHER}/out/secret.txt", ["other_account"]),
    (f"RETR ../{OTHER}/out/secret.txt", ["other_account"]),
    (f"RETR /../../{OTHER}/out/secret.txt", ["path_escape"]),
    ("RETR /etc/passwd", ["path_escape"]),
    ("RETR in/../../../../etc/passwd", ["path_escape"]),
    (f"DELE /{OTHER}/out/secret.txt", ["other_account"]),
    (f"NLST /{OTHER}/out", ["other_account"]),
    (f"SIZE /{OTHER}/out/secret.txt", ["other_account"]),
    (f"MDTM ../{OTHER}/out/secret.txt", ["other_account"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_no_way_out_of_the_account_and_each_attempt_is_one_finding(cb, command, rules):
    secret = b"for relation 7000456 only"
    cb.model.put_account(CBAccount(OTHER, "other-secret"))
    cb.model.place_out(OTHER, "secret.txt", secret, "other")
    ftp = cb.login()
    try:
        verb, path = command.split(" ", 1)
        if verb == "RETR":
            reply = refused(get_binary, ftp, path)
        elif verb == "NLST":
            reply = refused(ftp.nlst, path)
        else:
            reply = refused(ftp.sendcmd, command)
        assert reply.startswith("550"), reply
        assert secret.decode() not in reply
        assert ftp.pwd() == f"/{RELATION}"
        assert names(ftp, "out") == []
    finally:
        close_quietly(ftp)
    assert cb.rules_found() == rules
    assert all(f["relation_id"] == RELATION for f in cb.model.findings())
    assert cb.model.present(OTHER, "out") == ["secret.txt"]


def test_CDUP_and_CWD_dotdot_from_the_home_are_answered_alike(cb):
    """Above the home is the FTP root, which holds only /7000123. CDUP and 'CWD ..' are the same move and
    get the same answer and the same findings (as built: refused with 550, no finding; only climbing
    above the root is a path_escape)."""
    outcomes = []
    ftp = cb.login()
    try:
        for command in ("CDUP", "CWD .."):
            before = len(cb.model.findings())
            try:
                reply = ftp.sendcmd(command)
            except ftplib.Error as exc:
                reply = str(exc)
            outcomes.append((reply[:3], ftp.pwd(), [f["rule"] for f in cb.model.findings()[before:]]))
            ftp.cwd(f"/{RELATION}")
    finally:
        close_quietly(ftp)
    assert outcomes[0] == outcomes[1], outcomes
    assert outcomes[0][1] in ("/", f"/{RELATION}"), outcomes


def test_CWD_dotdot_that_stays_inside_the_account_is_ordinary_navigation(cb):
    ftp = cb.login()
    try:
        ftp.cwd("in")
        assert ftp.sendcmd("CWD ..").startswith("250")
        assert ftp.pwd() == f"/{RELATION}"
        ftp.cwd("out")
        assert ftp.sendcmd("CWD ../in").startswith("250")
        assert ftp.pwd() == f"/{RELATION}/in"
        assert ftp.storbinary("STOR ../in/nav.pdf", io.BytesIO(PDF)).startswith("226")
    finally:
        close_quietly(ftp)
    assert cb.model.findings() == []
    assert cb.model.received_before(RELATION, "nav.pdf")


# -- file names -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "a b.pdf", "caf\u00eb.pdf", "a&b.pdf", "a<b.pdf", "a>b.pdf", "a{b}.pdf", "scan.PDF", "scan.Pdf",
    "x" * 252 + ".pdf",  # 256 characters
], ids=["space", "diaeresis", "ampersand", "lt", "gt", "braces", "upper-ext", "mixed-ext", "256-chars"])
def test_file_name_breaking_the_rules_gets_553_and_a_finding(cb, name):
    ftp = cb.login()
    try:
        reply = refused(ftp.storbinary, f"STOR in/{name}", io.BytesIO(PDF))
        assert reply.startswith("553") and "File name not allowed" in reply, reply
        assert names(ftp, "in") == []
    finally:
        close_quietly(ftp)
    assert [f["detail"].split(":")[0] for f in cb.findings("file_name")] == [repr(name)]
    assert cb.rules_found() == ["file_name"]
    assert not cb.model.received_before(RELATION, name)
    assert cb.model.files(RELATION) == []


@pytest.mark.parametrize("name", ["scan.pdf", "Order_2026-11.v2.pdf", "0123456789-AZaz_.jpg",
                                  "x" * 238 + ".pdf"])
def test_file_name_within_the_rules_is_taken(cb, name):
    ftp = cb.login()
    try:
        assert ftp.storbinary(f"STOR in/{name}", io.BytesIO(PDF)).startswith("226")
        assert names(ftp, "in") == []
    finally:
        close_quietly(ftp)
    taken = [(f["folder"], f["name"], f["kind"]) for f in cb.model.files(RELATION)]
    assert taken == [("in", name, "attachment")]
    assert cb.model.findings() == []


# -- what is placed in in/ stays as placed ---------------------------------------------------------------

def _rename(ftp: ftplib.FTP) -> str:
    reply = refused(ftp.sendcmd, "RNFR in/placed.pdf")
    rnto = refused(ftp.sendcmd, "RNTO in/renamed.pdf")  # RNTO without an accepted RNFR renames nothing
    assert rnto.startswith("503"), rnto
    return reply


@pytest.mark.parametrize("action, rule, says", [
    (lambda ftp: refused(ftp.storbinary, "STOR in/placed.pdf", io.BytesIO(b"%PDF-other")), "overwrite",
     "cannot be overwritten; use a new file name"),
    (_rename, "rename", "Renaming is not allowed"),
    (lambda ftp: refused(ftp.storbinary, "APPE in/placed.pdf", io.BytesIO(b"more")), "append",
     "appending is not possible"),
    (lambda ftp: refused(ftp.storbinary, "STOR in/placed.pdf", io.BytesIO(b"rest"), rest=3), "append",
     "resuming is not possible"),
    (lambda ftp: refused(ftp.delete, "in/placed.pdf"), "delete_in", "cannot be deleted"),
], ids=["second-STOR", "RNFR", "APPE", "REST-STOR", "DELE"])
def test_a_file_placed_in_in_cannot_be_changed(cb, action, rule, says):
    ftp = cb.login()
    try:
        assert ftp.storbinary("STOR in/placed.pdf", io.BytesIO(PDF)).startswith("226")
        reply = action(ftp)
        assert reply.startswith("550") and says in reply, reply
        assert names(ftp, "in") == [] and names(ftp, "out") == []
    finally:
        close_quietly(ftp)
    assert cb.rules_found() == [rule]
    history = cb.model.files(RELATION)
    assert [(f["folder"], f["name"]) for f in history] == [("in", "placed.pdf")]
    assert history[0]["sha256"] == hashlib.sha256(PDF).hexdigest(), "what CB took is what was first placed"


# -- out/: deleted after a complete download only, or after the retention ---------------------------------

def test_a_complete_download_removes_the_file_from_out(cb):
    invoice = cb.model.issue_invoice(RELATION)
    ftp = cb.login()
    try:
        assert names(ftp, "out") == sorted([invoice["pdf_name"], invoice["xml_name"]])
        pdf = cb.model.invoice_bytes(invoice["number"], "pdf")
        assert get_binary(ftp, f"out/{invoice['pdf_name']}") == pdf
        assert names(ftp, "out") == [invoice["xml_name"]]
        assert refused(get_binary, ftp, f"out/{invoice['pdf_name']}").startswith("550")
    finally:
        close_quietly(ftp)
    removed = cb.runtime.journal.entries(kind="file.removed")
    assert [(e["name"], e["reason"]) for e in removed] == [(invoice["pdf_name"], "downloaded")]
    states = {f["name"]: f["state"] for f in cb.model.files(RELATION, "out")}
    assert states == {invoice["pdf_name"]: "downloaded", invoice["xml_name"]: "present"}
    assert cb.model.findings() == []


def test_an_aborted_download_keeps_the_file_in_out(cb):
    payload = bytes(range(256)) * (BIG // 256)
    cb.model.place_out(RELATION, "big.zip", payload, "other")
    ftp = cb.login()
    try:
        ftp.voidcmd("TYPE I")
        data = ftp.transfercmd("RETR out/big.zip")
        assert len(data.recv(1000)) > 0
        reset(data)  # the client goes away after a few bytes
        reply = final_reply(ftp)
        assert reply.startswith("426"), reply
        wait_for(lambda: cb.runtime.journal.entries(kind="file.download_aborted"), "see the aborted download")
        assert names(ftp, "out") == ["big.zip"]
        assert cb.model.files(RELATION, "out")[0]["state"] == "present"
        # Fetched again, completely: now it goes.
        assert get_binary(ftp, "out/big.zip") == payload
        assert names(ftp, "out") == []
    finally:
        close_quietly(ftp)
    assert [e["reason"] for e in cb.runtime.journal.entries(kind="file.removed")] == ["downloaded"]


def test_a_file_nobody_fetches_is_removed_after_30_days(cb):
    invoice = cb.model.issue_invoice(RELATION)
    both = sorted([invoice["pdf_name"], invoice["xml_name"]])
    cb.advance("29d")
    cb.out_of_maintenance()
    ftp = cb.login()
    try:
        assert names(ftp, "out") == both
    finally:
        close_quietly(ftp)
    assert cb.runtime.journal.entries(kind="file.removed") == []
    cb.advance("2d")  # 31 days after the invoice
    cb.out_of_maintenance()
    ftp = cb.login()
    try:
        assert names(ftp, "out") == []
    finally:
        close_quietly(ftp)
    removed = cb.runtime.journal.entries(kind="file.removed")
    assert sorted((e["name"], e["reason"]) for e in removed) == [(n, "expired") for n in both]
    assert {f["state"] for f in cb.model.files(RELATION, "out")} == {"expired"}


# -- one login per 10 minutes --------------------------------------------------------------------------

def test_second_login_within_10_minutes_is_refused_with_530_in_enforce_mode(cb):
    close_quietly(cb.login())
    first = cb.runtime.clock.now()
    cb.advance("9m59s")
    ftp = cb.connect()
    try:
        ftp.auth()
        reply = refused(ftp.login, RELATION, PASSWORD)
        allowed = (first + timedelta(minutes=10)).astimezone(ZoneInfo("Europe/Amsterdam"))
        assert reply.startswith("530") and "at most once every 10 minutes" in reply.lower(), reply
        assert f"{allowed:%H:%M:%S}" in reply, reply  # when to come back
    finally:
        close_quietly(ftp)
    assert len(cb.findings("login_frequency")) == 1
    cb.advance("1s")  # exactly 10 minutes after the first login: allowed, and no finding
    ftp = cb.login()
    try:
        assert ftp.pwd() == f"/{RELATION}"
    finally:
        close_quietly(ftp)
    assert cb.rules_found() == ["login_frequency"]


@pytest.fixture
def report_mode(tmp_path) -> CB:
    """A runtime of our own in mode 'report': breaches of the login rule are recorded, not refused."""
    register_config_sections()
    settings = settings_for_tests()
    settings["cbftp"].update({"mode": "report"})
    runtime = Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings}),
                      clock=VirtualClock("2026-11-20T09:00:00Z"), only=["mailbox", "cbftp"])
    runtime.start(admin=False)
    try:
        yield CB(runtime)
    finally:
        runtime.stop()


def test_in_report_mode_a_second_login_within_10_minutes_gets_in_and_is_recorded(report_mode):
    cb = report_mode
    close_quietly(cb.login())
    cb.advance("3m")
    ftp = cb.connect()
    try:
        ftp.auth()
        assert ftp.login(RELATION, PASSWORD).startswith("230")
        ftp.prot_p()
        assert ftp.storbinary("STOR in/second.pdf", io.BytesIO(PDF)).startswith("226")
    finally:
        close_quietly(ftp)
    (found,) = cb.findings("login_frequency")
    assert found["detail"] == "login at 09:03:00, previous at 09:00:00 UTC"
    cb.advance("10m")  # ten minutes after the last login (the recorded one counts too): no finding
    close_quietly(cb.login())
    assert cb.rules_found() == ["login_frequency"]


def test_a_wrong_password_is_not_a_login(cb):
    ftp = cb.connect()
    try:
        ftp.auth()
        assert refused(ftp.login, RELATION, "not-the-password").startswith("530")
        assert ftp.login(RELATION, PASSWORD).startswith("230")  # the same minute, the same connection
    finally:
        close_quietly(ftp)
    assert cb.model.findings() == []


# -- transfer type by extension ------------------------------------------------------------------------

def test_pdf_uploaded_in_ascii_is_a_finding_but_is_taken(cb):
    ftp = cb.login()
    try:
        assert ftp.storlines("STOR in/scan.pdf", io.BytesIO(PDF)).startswith("226")
        assert names(ftp, "in") == []
    finally:
        close_quietly(ftp)
    (found,) = cb.findings("transfer_type")
    assert found["detail"] == "scan.pdf in ASCII mode; CB expects binary"
    assert [(f["name"], f["kind"]) for f in cb.model.files(RELATION, "in")] == [("scan.pdf", "attachment")]


def test_xml_downloaded_in_binary_is_a_finding_but_is_delivered(cb):
    invoice = cb.model.issue_invoice(RELATION)
    ftp = cb.login()
    try:
        xml = cb.model.invoice_bytes(invoice["number"], "xml")
        assert get_binary(ftp, f"out/{invoice['xml_name']}") == xml
        assert names(ftp, "out") == [invoice["pdf_name"]]
    finally:
        close_quietly(ftp)
    (found,) = cb.findings("transfer_type")
    assert found["detail"] == f"{invoice['xml_name']} in binary mode; CB expects ASCII"


def test_the_right_transfer_types_give_no_finding(cb):
    invoice = cb.model.issue_invoice(RELATION)
    ftp = cb.login()
    try:
        assert get_binary(ftp, f"out/{invoice['pdf_name']}")[:5] == b"%PDF-"
        xml = get_ascii(ftp, f"out/{invoice['xml_name']}")
        assert xml.splitlines() == cb.model.invoice_bytes(invoice["number"], "xml").splitlines()
        assert ftp.storbinary("STOR in/photo.jpg", io.BytesIO(b"\xff\xd8\xff\xe0jpeg")).startswith("226")
        assert names(ftp, "out") == []
    finally:
        close_quietly(ftp)
    assert cb.model.findings() == []


# -- the same file never in two sessions at once --------------------------------------------------------

def test_a_file_being_fetched_in_one_session_is_busy_for_another(cb):
    payload = b"\x5a" * BIG
    cb.model.place_out(RELATION, "big.zip", payload, "other")
    a = cb.login()
    b = None
    try:
        a.voidcmd("TYPE I")
        pending = a.transfercmd("RETR out/big.zip")  # started, never read
        cb.next_login()
        b = cb.login()
        reply = refused(get_binary, b, "out/big.zip")
        assert reply.startswith("450") and "in use by another session" in reply, reply
        (found,) = cb.findings("parallel_session")
        assert found["detail"].startswith("big.zip is in use by session s")
        reset(pending)
        assert final_reply(a).startswith("426")
        wait_for(lambda: cb.runtime.journal.entries(kind="file.download_aborted"), "see the aborted download")
        # The first session is done with it: the second may fetch it now, completely.
        assert get_binary(b, "out/big.zip") == payload
        assert names(b, "out") == []
    finally:
        close_quietly(a)
        if b is not None:
            close_quietly(b)
    assert cb.rules_found() == ["parallel_session"]

