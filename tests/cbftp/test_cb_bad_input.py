"""Hostile or broken FTP sequences against the Centraal Boekhuis simulator, over real sockets with
``ftplib.FTP_TLS`` (and raw lines where ftplib would refuse to send them).

The issue's bar, for every case: the reply is one a user can act on; no partial upload becomes visible in
in/ (nor is recorded as received); and afterwards the server keeps serving — a normal login and order
upload, answered with an ONTBEV receipt, with no finding added for the well-behaved session.
"""

from __future__ import annotations

import ftplib
import io
import itertools
import socket
import ssl
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from clients.cbftp.digicom import Order, OrderLine, build_opdnaw, parse_ontbev
from simulators.cbftp.config import CBAccount
from simulators.cbftp.maintenance import next_outage, outage_around
from simulators.core.clock import VirtualClock, parse_duration
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

from .wire import wait_for

RELATION, PASSWORD = "7000123", "cb-secret"
OTHER = "7000456"
PDF = b"%PDF-1.4\n%%EOF\n"
_orders = itertools.count(1)


@dataclass
class CB:
    runtime: Runtime

    @property
    def model(self):
        return self.runtime.simulators["cbftp"].model

    @property
    def endpoint(self):
        return self.runtime.endpoint("cb-ftps")

    def context(self) -> ssl.SSLContext:
        return self.runtime.tls.client_context()

    def connect(self) -> ftplib.FTP_TLS:
        ftp = ftplib.FTP_TLS(context=self.context(), timeout=10)
        ftp.connect(self.endpoint.host, self.endpoint.port)
        return ftp

    def login(self, prot_p: bool = True) -> ftplib.FTP_TLS:
        ftp = self.connect()
        try:
            ftp.auth()
            ftp.login(RELATION, PASSWORD)
            if prot_p:
                ftp.prot_p()
        except BaseException:
            ftp.close()
            raise
        return ftp

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
        self.runtime.scheduler.advance(parse_duration(self.model.config.login_interval))
        self.out_of_maintenance()

    def rules_found(self) -> list[str]:
        return [f["rule"] for f in self.model.findings()]

    def staged_bytes(self) -> int:
        staging = self.runtime.store.files_root / ".staging"
        return sum(p.stat().st_size for p in staging.iterdir()) if staging.is_dir() else 0


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


def refused(action, *args, **kwargs) -> str:
    with pytest.raises(ftplib.Error) as error:
        action(*args, **kwargs)
    return str(error.value)


def final_reply(ftp: ftplib.FTP) -> str:
    try:
        return ftp.voidresp()
    except ftplib.Error as exc:
        return str(exc)


def raw(ftp: ftplib.FTP, line: bytes) -> str:
    """A command line exactly as given (ftplib refuses CR, LF in arguments); its reply."""
    ftp.sock.sendall(line + b"\r\n")
    try:
        return ftp.getresp()
    except ftplib.Error as exc:
        return str(exc)


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()



def order_file(now: datetime) -> tuple[str, bytes, str]:
    number = next(_orders)
    reference = f"BAD{now:%m%d%H%M}{number:04d}"
    data = build_opdnaw(Order(order_number=f"PO{number}", lines=[OrderLine("9789085013402", 2)]),
                        sender_relation_id=RELATION, reference=reference, now=now)
    return f"order{number}{now:%Y%m%d%H%M%S}.txt", data, reference


def upload_order(cb: CB, ftp: ftplib.FTP_TLS) -> None:
    """A normal order upload: ASCII for a .txt, taken at once, answered with an accepted receipt."""
    name, data, reference = order_file(cb.runtime.clock.now())
    before = set(names(ftp, "out"))
    assert ftp.storlines(f"STOR in/{name}", io.BytesIO(data)).startswith("226")
    assert names(ftp, "in") == []
    (receipt,) = [n for n in names(ftp, "out") if n not in before]
    assert receipt.endswith(".ont")
    lines: list[str] = []
    ftp.retrlines(f"RETR out/{receipt}", lines.append)
    answer = parse_ontbev("\r\n".join(lines).encode("latin-1"))
    assert answer.accepted and answer.original_reference == reference, answer


def still_serving(cb: CB) -> None:
    """A fresh session, ten minutes later: login, order upload, receipt — and no new finding."""
    findings = len(cb.model.findings())
    cb.next_login()
    ftp = cb.login()
    try:
        assert ftp.pwd() == f"/{RELATION}"
        upload_order(cb, ftp)
    finally:
        close_quietly(ftp)
    assert len(cb.model.findings()) == findings, cb.model.findings()[findings:]


def nothing_received(cb: CB, name: str) -> None:
    assert name not in cb.model.present(RELATION, "in")
    assert not cb.model.received_before(RELATION, name)
    assert not cb.runtime.journal.entries(kind="file.created", match={"folder": "in", "name": name})


# -- before TLS ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, code, says", [
    (f"USER {RELATION}", "550", "SSL/TLS required on the control channel"),
    (f"PASS {PASSWORD}", "550", "SSL/TLS required on the control channel"),
    ("PASV", "530", "Log in with USER and PASS first"),
    ("EPSV", "530", "Log in with USER and PASS first"),
    ("LIST", "530", "Log in with USER and PASS first"),
    ("STOR in/x.pdf", "530", "Log in with USER and PASS first"),
    ("CWD in", "530", "Log in with USER and PASS first"),
    ("PORT 127,0,0,1,4,1", "530", "Log in with USER and PASS first"),
    ("PBSZ 0", "503", "not allowed on insecure control connection"),
    ("PROT P", "503", "not allowed on insecure control connection"),
], ids=["USER", "PASS", "PASV", "EPSV", "LIST", "STOR", "CWD", "PORT", "PBSZ", "PROT"])
def test_a_command_before_AUTH_TLS_is_refused_and_the_connection_can_still_be_secured(cb, command, code,
                                                                                      says):
    ftp = cb.connect()
    try:
        reply = refused(ftp.sendcmd, command)
        assert reply.startswith(code) and says in reply, reply
        # The same connection: AUTH TLS, login (the refused command was no login), a normal upload.
        ftp.auth()
        assert ftp.login(RELATION, PASSWORD).startswith("230")
        ftp.prot_p()
        upload_order(cb, ftp)
    finally:
        close_quietly(ftp)
    expected = ["tls_control"] if command.split()[0] in ("USER", "PASS") else []
    assert cb.rules_found() == expected
    assert PASSWORD not in str(cb.model.findings())
    still_serving(cb)


def test_PROT_C_is_refused_and_a_transfer_without_PROT_P_gets_nowhere(cb):
    ftp = cb.login(prot_p=False)
    try:
        assert ftp.sendcmd("PBSZ 0").startswith("200")
        assert refused(ftp.sendcmd, "PROT C").startswith("534")
        reply = refused(ftp.storbinary, "STOR in/clear.pdf", io.BytesIO(PDF))  # ftplib goes on in the clear
        assert reply.startswith("550") and "SSL/TLS required on the data channel" in reply, reply
        nothing_received(cb, "clear.pdf")
        ftp.prot_p()
        upload_order(cb, ftp)
    finally:
        close_quietly(ftp)
    assert cb.rules_found() == ["tls_data", "tls_data"]
    still_serving(cb)


def test_PORT_to_a_third_party_is_refused_and_never_connected(cb):
    bystander = socket.socket()
    bystander.bind(("127.0.0.1", 0))
    bystander.listen(1)
    bystander.setblocking(False)
    port = bystander.getsockname()[1]
    ftp = cb.login()
    try:
        reply = refused(ftp.sendcmd, f"PORT 127,0,0,1,{port // 256},{port % 256}")
        assert reply.startswith("502") and "use PASV or EPSV" in reply, reply
        assert ftp.voidcmd("NOOP").startswith("200")  # a round trip: anything the PORT set off has happened
        with pytest.raises(BlockingIOError):
            bystander.accept()  # nobody knocked at the third party's door
        assert names(ftp, "in") == []
    finally:
        close_quietly(ftp)
        bystander.close()
    assert cb.rules_found() == ["active_mode"]
    still_serving(cb)


# -- paths --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, says, rules", [
    ("../../x.pdf", "Upload into /7000123/in/", ["path_escape"]),
    ("in/../../../etc/x.pdf", "Upload into /7000123/in/", ["path_escape"]),
    (f"/{OTHER}/in/x.pdf", "Upload into /7000123/in/", ["other_account"]),
    (f"../{OTHER}/in/x.pdf", "Upload into /7000123/in/", ["other_account"]),
    (f"/../../{OTHER}/in/x.pdf", "Upload into /7000123/in/", ["path_escape"]),
    ("out/x.pdf", "out/ is written by CB only", ["upload_out"]),
    ("x.pdf", "Upload into /7000123/in/", []),
    ("in/sub/x.pdf", "Upload into /7000123/in/", []),
    ("in\\..\\..\\x.pdf", "Upload into /7000123/in/", []),
], ids=["up-up", "in-up-etc", "other-abs", "other-rel", "root-escape-other", "into-out", "home", "subfolder",
        "backslashes"])
def test_an_upload_outside_in_is_refused_and_lands_nowhere(cb, path, says, rules):
    cb.model.put_account(CBAccount(OTHER, "other-secret"))
    ftp = cb.login()
    try:
        reply = refused(ftp.storbinary, f"STOR {path}", io.BytesIO(PDF))
        assert reply.startswith("550") and says in reply, reply
        assert names(ftp, "in") == [] and names(ftp, "out") == []
    finally:
        close_quietly(ftp)
    assert cb.rules_found() == rules
    stray = [p for p in cb.runtime.store.files_root.rglob("*") if p.is_file() and p.name.endswith("x.pdf")]
    assert stray == []
    assert cb.model.files(RELATION) == [] and cb.model.files(OTHER) == []
    still_serving(cb)


# -- names ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "a\x01b.pdf", "a\tb.pdf", "a\x1bb.pdf", "a\x7fb.pdf", "x" * 252 + ".pdf", "x" * 1000 + ".pdf",
    "..pdf", ".hidden.pdf",
], ids=["SOH", "TAB", "ESC", "DEL", "256-chars", "1004-chars", "dot-dot-pdf", "leading-dot"])
def test_a_name_with_control_characters_or_too_long_gets_553(cb, name):
    ftp = cb.login()
    try:
        reply = refused(ftp.storbinary, f"STOR in/{name}", io.BytesIO(PDF))
        assert reply.startswith("553") and "0-9, a-z, A-Z" in reply, reply  # says which names are allowed
        assert names(ftp, "in") == []
    finally:
        close_quietly(ftp)
    assert cb.model.files(RELATION) == []
    assert cb.rules_found() == ["file_name"]
    still_serving(cb)


@pytest.mark.parametrize("line", [b"STOR in/a\rb.pdf", b"STOR in/\xff\xfe.pdf", b"STOR in/caf\xc3\xab.pdf"],
                         ids=["bare-CR", "not-UTF-8", "UTF-8-diaeresis"])
def test_a_name_ftplib_would_not_send_gets_553(cb, line):
    ftp = cb.login()
    try:
        reply = raw(ftp, line)
        assert reply.startswith("553"), reply
        assert ftp.voidcmd("NOOP").startswith("200")
        assert names(ftp, "in") == []
    finally:
        close_quietly(ftp)
    assert cb.rules_found() == ["file_name"]
    still_serving(cb)


def test_a_NUL_in_a_file_name_gets_a_reply_and_the_session_goes_on(cb):
    ftp = cb.login()
    try:
        reply = raw(ftp, b"STOR in/a\x00b.pdf")
        assert reply[:3] in ("501", "553"), reply
        assert ftp.voidcmd("NOOP").startswith("200")
    finally:
        ftp.close()


def test_a_255_character_name_is_taken_like_any_other(cb):
    """The longest name the rule allows is taken like any other (it once failed with 451 and stayed in in/:
    the archive name added a prefix beyond the file system's 255)."""
    name = "x" * 251 + ".pdf"
    ftp = cb.login()
    try:
        reply = ftp.storbinary(f"STOR in/{name}", io.BytesIO(PDF))
        assert reply.startswith("226"), reply
        assert names(ftp, "in") == []
    finally:
        close_quietly(ftp)
    assert [f["name"] for f in cb.model.files(RELATION, "in")] == [name]
    assert cb.model.findings() == []


# -- broken sequences and unknown commands -----------------------------------------------------------------

@pytest.mark.parametrize("command, code", [
    ("XYZZY", "500"), ("SITE EXEC /bin/sh", "500"), ("RNTO in/x.pdf", "503"), ("TYPE X", "504"),
    ("STRU R", "504"), ("MODE B", "504"), ("ACCT x", "500"), ("RETR in/nothing.pdf", "550"),
    ("RETR out/nothing.pdf", "550"), ("DELE out/nothing.pdf", "550"), ("STOU", "550"),
    ("SITE CHMOD 777 in/x.pdf", "550"), ("MFMT 20200101000000 in/x.pdf", "550"),
], ids=lambda v: v if isinstance(v, str) and not v.isdigit() else None)
def test_a_broken_or_unknown_command_gets_a_5xx_and_the_session_goes_on(cb, command, code):
    ftp = cb.login()
    try:
        reply = refused(ftp.sendcmd, command)
        assert reply.startswith(code), reply
        assert ftp.voidcmd("NOOP").startswith("200")
        upload_order(cb, ftp)
    finally:
        close_quietly(ftp)
    still_serving(cb)


def test_an_overlong_command_line_is_refused_and_the_server_keeps_serving(cb):
    ftp = cb.login()
    try:
        reply = raw(ftp, b"NOOP " + b"x" * 10000)
        assert reply.startswith("500") and "too long" in reply, reply
    finally:
        ftp.close()  # pyftpdlib may answer the rest of the line too: this connection is out of step
    still_serving(cb)


def test_a_wrong_password_gets_530_and_is_no_login(cb):
    ftp = cb.connect()
    try:
        ftp.auth()
        assert refused(ftp.login, RELATION, "wrong-password").startswith("530")
        assert refused(ftp.login, "9999999", PASSWORD).startswith("530")
        assert ftp.login(RELATION, PASSWORD).startswith("230")
        ftp.prot_p()
        upload_order(cb, ftp)
    finally:
        close_quietly(ftp)
    assert cb.model.findings() == []
    assert "wrong-password" not in str(cb.runtime.journal.entries())
    still_serving(cb)


# -- a client that drops mid-upload -------------------------------------------------------------------

def start_upload(cb: CB, name: str) -> tuple[ftplib.FTP_TLS, socket.socket]:
    ftp = cb.login()
    ftp.voidcmd("TYPE I")
    data = ftp.transfercmd(f"STOR in/{name}")
    data.sendall(b"%PDF-1.4\n" + b"x" * 20000)  # ... and the rest never comes
    wait_for(lambda: cb.staged_bytes() > 0, "receive the first bytes")
    return ftp, data


def test_a_data_connection_reset_mid_upload_publishes_nothing(cb):
    ftp, data = start_upload(cb, "reset.pdf")
    try:
        reset(data)
        reply = final_reply(ftp)
        assert reply.startswith("426"), reply
        assert names(ftp, "in") == []
        # The same session sends it again, whole: taken.
        assert ftp.storbinary("STOR in/reset.pdf", io.BytesIO(PDF)).startswith("226")
    finally:
        close_quietly(ftp)
    assert cb.runtime.journal.entries(kind="file.incomplete", match={"name": "reset.pdf"})
    assert [(f["name"], f["size"]) for f in cb.model.files(RELATION, "in")] == [("reset.pdf", len(PDF))]
    assert cb.staged_bytes() == 0
    still_serving(cb)


def test_a_data_connection_closed_without_close_notify_publishes_nothing(cb):
    ftp, data = start_upload(cb, "cut.pdf")
    try:
        data.close()  # a FIN, no TLS close_notify
        reply = final_reply(ftp)
        assert not reply.startswith("226"), reply
        assert names(ftp, "in") == []
    finally:
        close_quietly(ftp)
    nothing_received(cb, "cut.pdf")
    still_serving(cb)


def test_a_client_vanishing_mid_upload_leaves_nothing_in_in(cb):
    disconnects = len(cb.runtime.journal.entries(kind="ftp.disconnect"))
    ftp, data = start_upload(cb, "vanish.pdf")
    ftp.file.close()
    reset(ftp.sock)  # the whole client dies: control connection first ...
    wait_for(lambda: len(cb.runtime.journal.entries(kind="ftp.disconnect")) > disconnects,
             "see the disconnect")
    reset(data)  # ... then its data connection
    wait_for(lambda: cb.staged_bytes() == 0, "discard the staged bytes")
    nothing_received(cb, "vanish.pdf")
    assert cb.runtime.journal.entries(kind="file.incomplete", match={"name": "vanish.pdf"})
    assert cb.model.files(RELATION) == []
    still_serving(cb)


# -- over the quota (a runtime of our own with a small limit) ------------------------------------------------

@pytest.fixture
def small_quota(tmp_path):
    register_config_sections()
    settings = settings_for_tests()
    settings["cbftp"].update({"max_file_size": 1000})
    runtime = Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings}),
                      clock=VirtualClock("2026-11-20T09:00:00Z"), only=["mailbox", "cbftp"])
    runtime.start(admin=False)
    try:
        yield CB(runtime)
    finally:
        runtime.stop()


def test_an_upload_over_the_quota_gets_552_a_finding_and_leaves_nothing(small_quota):
    cb = small_quota
    ftp = cb.login()
    try:
        ftp.voidcmd("TYPE I")
        data = ftp.transfercmd("STOR in/huge.pdf")
        try:
            data.sendall(b"%PDF-1.4\n" + b"x" * 200_000)
            data.unwrap()
        except OSError:
            pass  # the server cuts the data connection once the limit is passed: expected
        finally:
            data.close()
        reply = final_reply(ftp)
        assert reply.startswith("552") and "limit of 1000 bytes" in reply, reply
        assert names(ftp, "in") == []
        # The same session goes on: a file within the limit is taken.
        assert ftp.storbinary("STOR in/small.pdf", io.BytesIO(PDF)).startswith("226")
    finally:
        close_quietly(ftp)
    nothing_received(cb, "huge.pdf")
    (quota,) = cb.model.findings(rule="quota")
    assert quota["detail"] == "huge.pdf over 1000 bytes" and quota["relation_id"] == RELATION
    assert cb.rules_found() == ["quota"]
    assert cb.staged_bytes() == 0
    still_serving(cb)
