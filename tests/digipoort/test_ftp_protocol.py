"""The FTP(S) protocol of the Digipoort simulator as Python's ``ftplib`` sees it: TLS is mandatory (on the
control and the data channel, TLS 1.2 minimum), the account sees IN and OUT only, and every action the
interface does not offer is refused with a 5xx reply that says what to do instead (SPEC §2.1; ftp.py).
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import ssl
import warnings
from contextlib import contextmanager
from typing import Iterator

import pytest
import requests

from clients.digipoort.messages import build_meta


@contextmanager
def session(digipoort, context: ssl.SSLContext | None = None,
            prot_p: bool = True) -> Iterator[ftplib.FTP_TLS]:
    ftp = ftplib.FTP_TLS(context=context or digipoort.ssl_context(), timeout=10)
    ftp.connect(digipoort.host, digipoort.port)
    try:
        ftp.auth()
        ftp.login(digipoort.user, digipoort.password)
        if prot_p:
            ftp.prot_p()
        yield ftp
    finally:
        try:
            ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            ftp.close()


def put(ftp: ftplib.FTP, path: str, data: bytes) -> str:
    return ftp.storbinary(f"STOR {path}", io.BytesIO(data))


def get(ftp: ftplib.FTP, path: str) -> bytes:
    sink = io.BytesIO()
    ftp.retrbinary(f"RETR {path}", sink.write)
    return sink.getvalue()


def names(ftp: ftplib.FTP, folder: str) -> list[str]:
    return sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst(folder))


def submit(ftp: ftplib.FTP, ref: str) -> str:
    """A good submission; returns the name of its ``.ok`` in OUT."""
    import hashlib

    payload = f"<aangifte ref='{ref}'/>".encode()
    put(ftp, f"IN/{ref}.xml", payload)
    put(ftp, f"IN/{ref}.meta", build_meta(
        context_id=ref, filename=f"{ref}.xml", content_type="application/xml",
        sha256=hashlib.sha256(payload).hexdigest(), size=len(payload), berichtsoort="ICP",
        aanleverkenmerk=None, eerder_aanleverkenmerk=None, identity_number="001000044B37", identity_type="Fi",
        rol="Bedrijf", created="2026-11-20T08:00:00Z"))
    found = [n for n in names(ftp, "OUT") if n.startswith(f"{ref}_") and n.endswith(".ok")]
    assert len(found) == 1, names(ftp, "OUT")
    return found[0]


# -- TLS is not optional ------------------------------------------------------------------------------

def test_plain_ftp_login_without_AUTH_TLS_is_refused(digipoort):
    ftp = ftplib.FTP(timeout=10)
    ftp.connect(digipoort.host, digipoort.port)
    try:
        with pytest.raises(ftplib.error_perm) as refused:
            ftp.login(digipoort.user, digipoort.password)
        assert str(refused.value).startswith("550") and "SSL/TLS required" in str(refused.value)
        with pytest.raises(ftplib.error_perm) as refused:
            ftp.sendcmd(f"PASS {digipoort.password}")
        assert str(refused.value).startswith("550")
    finally:
        ftp.close()
    with session(digipoort) as ftp:  # the same server, with AUTH TLS, lets the user in
        assert ftp.pwd() == "/"


def test_data_connection_before_PROT_P_is_refused(digipoort):
    with session(digipoort, prot_p=False) as ftp:
        for command in ("PASV", "EPSV"):
            with pytest.raises(ftplib.error_perm) as refused:
                ftp.sendcmd(command)
            assert str(refused.value).startswith("550") and "TLS" in str(refused.value), refused.value
        with pytest.raises(ftplib.error_perm):
            ftp.nlst("OUT")
        ftp.prot_p()
        assert names(ftp, "OUT") == []


def _context(digipoort, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = digipoort.ssl_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: that is the point
        context.minimum_version = version
        context.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        # OpenSSL 3 refuses to even offer TLS 1.1 at its default security level.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def test_TLS_1_1_client_is_refused(digipoort):
    try:
        context = _context(digipoort, ssl.TLSVersion.TLSv1_1)
    except (ValueError, ssl.SSLError) as exc:
        pytest.skip(f"this Python/OpenSSL cannot even build a TLS 1.1 client context: {exc}")
    ftp = ftplib.FTP_TLS(context=context, timeout=10)
    ftp.connect(digipoort.host, digipoort.port)
    try:
        with pytest.raises(ssl.SSLError) as refused:
            ftp.auth()
        if "NO_PROTOCOLS_AVAILABLE" in str(refused.value) or "no protocols available" in str(refused.value):
            pytest.skip(f"the local OpenSSL will not offer TLS 1.1 at all: {refused.value}")
        # The server answered the TLS 1.1 hello with a protocol_version alert.
        assert "PROTOCOL_VERSION" in str(refused.value).upper(), refused.value
    finally:
        ftp.close()
    with session(digipoort) as ftp:
        assert names(ftp, "IN") == []


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3],
                         ids=["TLSv1.2", "TLSv1.3"])
def test_TLS_1_2_and_1_3_clients_work(digipoort, version):
    with session(digipoort, _context(digipoort, version)) as ftp:
        assert ftp.sock.version() == version.name.replace("v1_", "v1.")
        put(ftp, "IN/tls.xml", b"<x/>")
        assert get(ftp, "IN/tls.xml") == b"<x/>"


# -- what the interface does not offer ----------------------------------------------------------------

def _stor(path: str, rest: int | None = None):
    def action(ftp: ftplib.FTP) -> None:
        ftp.storbinary(f"STOR {path}", io.BytesIO(b"<y/>"), rest=rest)
    return action


def _rename(ftp: ftplib.FTP) -> None:
    try:
        ftp.sendcmd("RNFR IN/x.xml")
    finally:
        # Whatever RNFR answered, RNTO must not rename anything.
        with pytest.raises(ftplib.error_perm) as rnto:
            ftp.sendcmd("RNTO IN/renamed.xml")
        assert str(rnto.value)[:3] in ("503", "550"), rnto.value


REFUSALS = [
    pytest.param(lambda ftp: ftp.sendcmd("MKD IN/sub"), "550", "Creating folders is not allowed",
                 id="MKD"),
    pytest.param(lambda ftp: ftp.sendcmd("MKD extra"), "550", "Creating folders is not allowed",
                 id="MKD-top"),
    pytest.param(lambda ftp: ftp.sendcmd("XMKD IN/sub"), "550", "Creating folders is not allowed", id="XMKD"),
    pytest.param(lambda ftp: ftp.sendcmd("RMD IN"), "550", "Removing folders is not allowed", id="RMD"),
    pytest.param(lambda ftp: ftp.sendcmd("XRMD OUT"), "550", "Removing folders is not allowed", id="XRMD"),
    pytest.param(_rename, "550", "Renaming is not allowed; upload the file under its final name",
                 id="RNFR-RNTO"),
    pytest.param(lambda ftp: ftp.storbinary("APPE IN/x.xml", io.BytesIO(b"<more/>")), "550",
                 "upload the whole file with STOR", id="APPE"),
    pytest.param(lambda ftp: ftp.storbinary("STOU", io.BytesIO(b"<y/>")), "550",
                 "upload with STOR and a file name", id="STOU"),
    pytest.param(lambda ftp: ftp.sendcmd("SITE CHMOD 777 IN/x.xml"), "550",
                 "Changing permissions is not allowed", id="SITE-CHMOD"),
    pytest.param(lambda ftp: ftp.sendcmd("MFMT 20200101000000 IN/x.xml"), "550",
                 "Changing modification times is not allowed", id="MFMT"),
    pytest.param(_stor("OUT/x.xml"), "550", "Uploads go into IN", id="STOR-OUT"),
    pytest.param(_stor("OUT/a_kenmerk.ok"), "550", "Uploads go into IN", id="STOR-OUT-fake-ok"),
    pytest.param(_stor("IN/x.xml", rest=2), "550", "send the whole file", id="REST-STOR"),
]


@pytest.mark.parametrize("action, code, says", REFUSALS)
def test_action_outside_the_interface_is_refused_saying_what_to_do(digipoort, action, code, says):
    with session(digipoort) as ftp:
        put(ftp, "IN/x.xml", b"<x/>")
        with pytest.raises(ftplib.error_perm) as refused:
            action(ftp)
        reply = str(refused.value)
        # Nothing changed: the file is whole and unrenamed, no folder appeared, OUT is Digipoort's.
        assert names(ftp, "IN") == ["x.xml"] and get(ftp, "IN/x.xml") == b"<x/>"
        assert names(ftp, "/") == ["IN", "OUT"]
        assert names(ftp, "OUT") == []
        assert reply.startswith(code), reply
        assert says in reply, reply
        # After a refused REST the next upload is whole again.
        put(ftp, "IN/x.xml", b"<x/>")
        assert get(ftp, "IN/x.xml") == b"<x/>"


def test_DELE_in_OUT_removes_the_response_and_is_journaled(digipoort, koppelsim):
    with session(digipoort) as ftp:
        ok = submit(ftp, "dele1")
        assert ftp.delete(f"OUT/{ok}").startswith("250")
        assert ok not in names(ftp, "OUT")
        with pytest.raises(ftplib.error_perm) as again:
            ftp.delete(f"OUT/{ok}")
        assert str(again.value).startswith("550")
        with pytest.raises(ftplib.error_perm) as folder:
            ftp.delete("OUT")
        assert str(folder.value).startswith("550")
        assert names(ftp, "/") == ["IN", "OUT"]
    removed = koppelsim.journal.entries(kind="file.removed", match={"folder": "OUT"})
    assert [(e["name"], e["reason"], e["user"]) for e in removed] == [(ok, "DELE", digipoort.user)]
    # The submission itself is not forgotten when its response file is fetched and deleted.
    assert [s["contextId"] for s in digipoort.submissions()] == ["dele1"]


def test_the_payload_of_an_accepted_submission_is_kept_for_the_admin_api(digipoort, koppelsim):
    data = b"<icp>kept</icp>"
    ftp = ftplib.FTP_TLS(context=digipoort.ssl_context(), timeout=10)
    ftp.connect(digipoort.host, digipoort.port)
    ftp.auth()
    ftp.login(digipoort.user, digipoort.password)
    ftp.prot_p()
    ftp.storbinary("STOR IN/kept.xml", io.BytesIO(data))
    ftp.storbinary("STOR IN/kept.meta", io.BytesIO(build_meta(
        context_id="kept", filename="kept.xml", content_type="application/xml",
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), berichtsoort="ICP", aanleverkenmerk=None,
        eerder_aanleverkenmerk=None, identity_number="001000044B37", identity_type="Fi", rol="Bedrijf",
        created="2026-11-20T08:00:00Z")))
    ftp.quit()
    [sub] = digipoort.submissions()
    got = requests.get(f"{koppelsim.admin_url}api/digipoort/submissions/{sub['kenmerk']}/payload", timeout=5)
    assert got.status_code == 200 and got.content == data
    assert 'filename="kept.xml"' in got.headers["Content-Disposition"]
    missing = requests.get(f"{koppelsim.admin_url}api/digipoort/submissions/nope/payload", timeout=5)
    assert missing.status_code == 404
