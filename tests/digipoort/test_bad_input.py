"""Bad input a submitter's software can send to Digipoort "Bestandsuitwisseling FTP", driven by Python's
``ftplib.FTP_TLS`` over real sockets.

Every test states the answer a user can act on (an ``.error`` with a foutcode in OUT, or an FTP reply),
then shows that the server keeps serving by doing a normal, successful submission in the same test, and
that nothing accepted earlier is lost (seed 001, steps 2a/2b; SPEC §2.1-2.3).
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import json
import socket
import struct
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from lxml import etree

from clients.digipoort.messages import build_meta
from simulators.core.clock import VirtualClock, monotonic, real_sleep
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections
from simulators.digipoort.config import Account

KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"
IDENTITY = "001000044B37"
WAIT_SECONDS = 5.0  # real time allowed for the server to notice a closed socket


# -- a submitter's moves, over the wire -------------------------------------------------------------

def connect(host: str, port: int, user: str, password: str, cafile: str) -> ftplib.FTP_TLS:
    import ssl

    ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=cafile), timeout=10)
    ftp.connect(host, port)
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    return ftp


@contextmanager
def session(digipoort, user: str | None = None, password: str | None = None) -> Iterator[ftplib.FTP_TLS]:
    ftp = connect(digipoort.host, digipoort.port, user or digipoort.user, password or digipoort.password,
                  digipoort.ca_file)
    try:
        yield ftp
    finally:
        close_quietly(ftp)


def close_quietly(ftp: ftplib.FTP) -> None:
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
    # An NLST is also a round trip through the server's I/O loop: whatever the previous upload set off
    # (the meta check runs right after the 226) has finished when it answers.
    return sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst(folder))


def meta_for(payload: bytes, *, ref: str, filename: str, sha256: str | None = None, size: int | None = None,
             berichtsoort: str = "ICP", aanleverkenmerk: str | None = None) -> bytes:
    return build_meta(context_id=ref, filename=filename, content_type="application/xml",
                      sha256=sha256 or hashlib.sha256(payload).hexdigest(),
                      size=len(payload) if size is None else size, berichtsoort=berichtsoort,
                      aanleverkenmerk=aanleverkenmerk, eerder_aanleverkenmerk=None, identity_number=IDENTITY,
                      identity_type="Fi", rol="Bedrijf", created="2026-11-20T08:00:00Z")


def response(ftp: ftplib.FTP, ref: str) -> tuple[str, bytes]:
    """The one transport response ``{ref}_{kenmerk}.ok|.error`` in OUT, downloaded."""
    found = [n for n in names(ftp, "OUT") if n.startswith(f"{ref}_") and n.endswith((".ok", ".error"))]
    assert len(found) == 1, f"expected one response for {ref!r} in OUT, found {found}"
    return found[0], get(ftp, f"OUT/{found[0]}")


def fault(body: bytes) -> tuple[str, str]:
    """(foutcode, foutbeschrijving) of an aanleverFault, read without resolving anything."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(body, parser)
    assert root.tag == f"{{{KV}}}aanleverFault", root.tag
    return root.findtext(f"{{{KV}}}foutcode"), root.findtext(f"{{{KV}}}foutbeschrijving")


def expect_error(ftp: ftplib.FTP, ref: str, code: str) -> str:
    name, body = response(ftp, ref)
    assert name.endswith(".error"), f"{name}: {body[:300]!r}"
    foutcode, text = fault(body)
    assert foutcode == code, text
    return text


def submit_ok(ftp: ftplib.FTP, ref: str | None = None) -> str:
    """A normal submission (data file first, then its meta file); returns the kenmerk of its ``.ok``."""
    ref = ref or "ok" + uuid.uuid4().hex[:10]
    payload = f"<aangifte ref='{ref}'/>".encode()
    assert put(ftp, f"IN/{ref}.xml", payload).startswith("226")
    assert put(ftp, f"IN/{ref}.meta", meta_for(payload, ref=ref, filename=f"{ref}.xml")).startswith("226")
    name, body = response(ftp, ref)
    assert name.endswith(".ok"), f"{name}: {body[:300]!r}"
    assert f"{ref}.xml" not in names(ftp, "IN") and f"{ref}.meta" not in names(ftp, "IN")
    return name[: -len(".ok")].rsplit("_", 1)[1]


def still_serving(digipoort, koppelsim) -> None:
    """A fresh session submits successfully and gets its answer: nothing is stuck."""
    with session(digipoort) as ftp:
        kenmerk = submit_ok(ftp)
        koppelsim.advance("15m")
        assert kenmerk in names(ftp, "OUT") and f"{kenmerk}.meta" in names(ftp, "OUT")


def refuse_meta(digipoort, ref: str, meta: bytes, data: tuple[str, bytes] | None = None) -> str:
    with session(digipoort) as ftp:
        if data is not None:
            assert put(ftp, f"IN/{data[0]}", data[1]).startswith("226")
        assert put(ftp, f"IN/{ref}.meta", meta).startswith("226")
        text = expect_error(ftp, ref, "ALS100")
        assert f"{ref}.meta" not in names(ftp, "IN"), "a refused meta file is removed from IN"
        if data is not None:
            assert data[0] in names(ftp, "IN"), "the data file stays in IN (seed 001 step 2a)"
    return text


# -- the meta file ----------------------------------------------------------------------------------

def test_meta_that_is_not_well_formed_gets_ALS100_naming_the_problem(digipoort, koppelsim):
    good = meta_for(b"<x/>", ref="broken1", filename="broken1.xml")
    cut = good[: good.index(b"</berichtsoort>")]  # an upload cut off half way
    text = refuse_meta(digipoort, "broken1", cut, data=("broken1.xml", b"<x/>"))
    assert "koppelvlakspecificaties" in text  # Digipoort's real ALS100 sentence ...
    assert "not well-formed" in text and "line" in text  # ... plus what exactly is wrong, and where
    still_serving(digipoort, koppelsim)


def test_meta_in_latin1_while_declaring_utf8_gets_ALS100(digipoort, koppelsim):
    meta = meta_for(b"<x/>", ref="latin1", filename="latin1.xml")
    meta = meta.replace(b"Bedrijf", "Bédrijf".encode("latin-1"))
    assert meta.startswith(b"<?xml version='1.0' encoding='UTF-8'?>") and b"\xe9" in meta
    text = refuse_meta(digipoort, "latin1", meta)
    assert "UTF-8" in text and "0xe9" in text
    still_serving(digipoort, koppelsim)


def test_meta_with_external_entity_is_refused_and_the_file_is_read_nowhere(digipoort, koppelsim, tmp_path):
    # A file of our own with an unmistakable content (the content of /etc/hostname is too short to look
    # for); the meta file also points at /etc/hostname, as an attacker would.
    secret = f"SECRET-{uuid.uuid4().hex}"
    target = tmp_path / "secret.txt"
    target.write_text(secret)
    template = meta_for(b"<x/>", ref="xxe", filename="xxe.xml").decode()
    body = template.split("?>", 1)[1].replace("<berichtsoort>ICP</berichtsoort>",
                                              "<berichtsoort>&s;&h;</berichtsoort>")
    meta = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<!DOCTYPE aanleverMeta [ <!ENTITY s SYSTEM "{target.as_uri()}"> '
            '<!ENTITY h SYSTEM "file:///etc/hostname"> ]>' + body).encode()
    journal_start = koppelsim.journal.last_id()
    text = refuse_meta(digipoort, "xxe", meta, data=("xxe.xml", b"<x/>"))
    assert "DOCTYPE" in text

    with session(digipoort) as ftp:
        out = {n: get(ftp, f"OUT/{n}") for n in names(ftp, "OUT")}
    assert out and all(secret.encode() not in content for content in out.values())
    journal = json.dumps(koppelsim.journal.entries(since=journal_start), ensure_ascii=False)
    assert secret not in journal
    assert secret not in json.dumps(digipoort.submissions(), ensure_ascii=False)
    still_serving(digipoort, koppelsim)


def test_billion_laughs_meta_is_refused_with_ALS100(digipoort, koppelsim):
    lols = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    template = meta_for(b"<x/>", ref="laughs", filename="laughs.xml").decode().split("?>", 1)[1]
    meta = ('<?xml version="1.0"?>\n<!DOCTYPE aanleverMeta [ <!ENTITY l0 "lol">' + lols + " ]>"
            + template.replace("<berichtsoort>ICP</berichtsoort>",
                               "<berichtsoort>&l9;</berichtsoort>")).encode()
    text = refuse_meta(digipoort, "laughs", meta)
    assert "DOCTYPE" in text
    with session(digipoort) as ftp:
        assert ftp.voidcmd("NOOP").startswith("200")
    still_serving(digipoort, koppelsim)


# -- the dialogue's checks ----------------------------------------------------------------------------

_ENTITY_DOCUMENT = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be", "utf-16-le", "utf-32"])
def test_data_file_declaring_an_entity_gets_ALS170_in_any_encoding_xml_allows(digipoort, koppelsim, encoding):
    """ALS170 (security) for a data file with a DOCTYPE/ENTITY, also in UTF-16/32 with or without a byte
    order mark (``utf-16`` writes one, ``utf-16-be``/``-le`` do not): an XML processor reads all of them, so
    a check that only read the bytes as ASCII would let the entity through."""
    ref = "ent" + encoding.replace("-", "")
    payload = _ENTITY_DOCUMENT.replace('version="1.0"?', f'version="1.0" encoding="{encoding.upper()}"?').encode(
        encoding)
    with session(digipoort) as ftp:
        assert put(ftp, f"IN/{ref}.xml", payload).startswith("226")
        assert put(ftp, f"IN/{ref}.meta", meta_for(payload, ref=ref, filename=f"{ref}.xml")).startswith("226")
        expect_error(ftp, ref, "ALS170")
    still_serving(digipoort, koppelsim)


def test_meta_naming_a_missing_data_file_gets_ALS110_and_is_removed(digipoort, koppelsim):
    with session(digipoort) as ftp:
        meta = meta_for(b"<x/>", ref="nodata", filename="nodata.xml")
        assert put(ftp, "IN/nodata.meta", meta).startswith("226")
        text = expect_error(ftp, "nodata", "ALS110")
        assert "nodata.xml" in text
        assert names(ftp, "IN") == []
    still_serving(digipoort, koppelsim)


@pytest.mark.parametrize("mismatch", ["checksum", "size"])
def test_wrong_checksum_or_size_gets_ALS120_and_the_data_file_stays(digipoort, koppelsim, mismatch):
    payload = b"<aangifte>1234</aangifte>"
    wrong = {"checksum": {"sha256": hashlib.sha256(b"something else").hexdigest()},
             "size": {"size": len(payload) + 1}}[mismatch]
    with session(digipoort) as ftp:
        assert put(ftp, "IN/wrong.xml", payload).startswith("226")
        assert put(ftp, "IN/wrong.meta", meta_for(payload, ref="wrong", filename="wrong.xml", **wrong))
        text = expect_error(ftp, "wrong", "ALS120")
        assert "wrong.xml" in text
        assert names(ftp, "IN") == ["wrong.xml"], "seed 001 step 2a: the meta goes, the data file stays"
        assert get(ftp, "IN/wrong.xml") == payload
        # The user corrects the meta file and resubmits: the data file that stayed is accepted.
        assert put(ftp, "IN/wrong.meta", meta_for(payload, ref="wrong2", filename="wrong.xml"))
        name, _ = response(ftp, "wrong2")
        assert name.endswith(".ok")
        assert names(ftp, "IN") == []
    still_serving(digipoort, koppelsim)


@pytest.mark.parametrize("filename", ["../x", "a b.xml"])
def test_meta_naming_a_forbidden_file_name_gets_ALS130(digipoort, koppelsim, filename):
    with session(digipoort) as ftp:
        assert put(ftp, "IN/badname.meta", meta_for(b"<x/>", ref="badname", filename=filename))
        text = expect_error(ftp, "badname", "ALS130")
        assert repr(filename) in text
        assert names(ftp, "IN") == []
    still_serving(digipoort, koppelsim)


# -- file names on the wire ---------------------------------------------------------------------------

@pytest.mark.parametrize("path, code", [
    ("IN/a b.xml", "553"),
    ("IN/a\x01b.xml", "553"),
    ("IN/../../etc/x", "550"),
    ("../OUT/x", "550"),
])
def test_STOR_with_a_forbidden_name_is_refused(digipoort, koppelsim, path, code):
    with session(digipoort) as ftp:
        kept = submit_ok(ftp, "keep1")  # accepted before the bad upload: must survive it
        # ftplib refuses only CR/LF itself, so even the control character goes out as typed.
        with pytest.raises(ftplib.error_perm) as refused:
            put(ftp, path, b"<x/>")
        reply = str(refused.value)
        assert reply.startswith(code), reply
        if code == "553":
            assert "letters, digits" in reply  # says which names are allowed
        else:
            assert "IN" in reply  # says where uploads go
        assert names(ftp, "IN") == []
        assert f"keep1_{kept}.ok" in names(ftp, "OUT")
    home = Path(digipoort.model.home(digipoort.user))
    stray = [p for p in home.parent.parent.rglob("*")
             if p.is_file() and p.name in ("x", "a b.xml", "a\x01b.xml")]
    assert stray == []
    assert not Path("/etc/x").exists()
    still_serving(digipoort, koppelsim)


# -- size limit (its own server: the session runtime's limit is the default 100 MB) ------------------

@pytest.fixture
def small_limit_server(tmp_path):
    register_config_sections()
    config = config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, "digipoort": {
        "port": 0, "login_failure_delay": 0.0, "max_file_size": 1000}}, "test_bad_input")
    runtime = Runtime(config, clock=VirtualClock("2026-11-20T08:00:00Z"), only=["digipoort"])
    runtime.start(admin=False)
    try:
        yield runtime
    finally:
        runtime.stop()


def test_upload_over_the_size_limit_gets_552_and_leaves_nothing(small_limit_server):
    runtime = small_limit_server
    endpoint = runtime.endpoint("digipoort-ftp")
    model = runtime.simulators["digipoort"].model
    ftp = connect(endpoint.host, endpoint.port, "acme", "acme-secret", str(runtime.tls.ca_cert))
    try:
        ftp.voidcmd("TYPE I")
        data = ftp.transfercmd("STOR IN/big.xml")
        try:
            data.sendall(b"x" * 5000)
            data.unwrap()
        except OSError:
            pass  # the server cuts the data connection once the limit is passed: expected
        finally:
            data.close()
        reply = _final_reply(ftp)
        assert reply.startswith("552") and "1000 bytes" in reply, reply
        assert names(ftp, "IN") == []
        assert [p.name for p in model.folder("acme", "IN").iterdir()] == []
        assert runtime.journal.entries(kind="file.created") == []
        # The same session carries on: a file inside the limit goes through the whole dialogue.
        submit_ok(ftp, "small1")
    finally:
        close_quietly(ftp)
    assert list((runtime.store.files_root / ".staging").iterdir()) == []


def _final_reply(ftp: ftplib.FTP) -> str:
    """The reply that ends a transfer, whether ftplib files it as success or error."""
    try:
        return ftp.voidresp()
    except ftplib.Error as exc:
        return str(exc)


# -- logins and other accounts ------------------------------------------------------------------------

def test_wrong_password_gets_530_and_the_server_keeps_serving(digipoort, koppelsim):
    import ssl

    wrong = f"wrong-{uuid.uuid4().hex}"
    ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=digipoort.ca_file), timeout=10)
    ftp.connect(digipoort.host, digipoort.port)
    try:
        ftp.auth()
        with pytest.raises(ftplib.error_perm) as refused:
            ftp.login(digipoort.user, wrong)
        assert str(refused.value).startswith("530")
        # The same connection may try again with the right password.
        assert ftp.login(digipoort.user, digipoort.password).startswith("230")
    finally:
        close_quietly(ftp)
    assert wrong not in json.dumps(koppelsim.journal.entries()), "a password never reaches the journal"
    still_serving(digipoort, koppelsim)


def test_another_accounts_folder_can_be_neither_entered_nor_read(digipoort, koppelsim):
    digipoort.model.put_account(Account("bob", "bob-secret"))
    secret = f"bob-only-{uuid.uuid4().hex}".encode()
    with session(digipoort, "bob", "bob-secret") as bob:
        assert put(bob, "IN/private.xml", secret).startswith("226")

    replies = []
    with session(digipoort) as ftp:
        for command in ("CWD /../bob", "CWD /bob", "CWD ../bob", "CWD /../bob/IN", "CWD /../../accounts/bob"):
            with pytest.raises(ftplib.error_perm) as refused:
                ftp.sendcmd(command)
            replies.append(str(refused.value))
        assert ftp.pwd() == "/"
        for path in ("/../bob/IN/private.xml", "/bob/IN/private.xml", "../bob/IN/private.xml",
                     "IN/../../bob/IN/private.xml", "/../../accounts/bob/IN/private.xml"):
            with pytest.raises(ftplib.error_perm) as refused:
                get(ftp, path)
            replies.append(str(refused.value))
            for listing in ("NLST", "LIST"):
                lines: list[str] = []
                try:
                    ftp.retrlines(f"{listing} {path.rsplit('/', 1)[0]}", lines.append)
                except ftplib.error_perm as exc:
                    replies.append(str(exc))
                assert not any("private" in line for line in lines), lines
            with pytest.raises(ftplib.error_perm):
                ftp.delete(path)
        assert all(r.startswith("550") for r in replies), replies
        assert not any(secret.decode() in r for r in replies)
        kenmerk = submit_ok(ftp)
    with session(digipoort, "bob", "bob-secret") as bob:
        assert get(bob, "IN/private.xml") == secret, "bob's file is untouched"
        assert names(bob, "OUT") == [], f"acme's answers never land in bob's OUT ({kenmerk})"


# -- a client that drops mid-upload -------------------------------------------------------------------

def _staged_bytes(koppelsim) -> int:
    staging = koppelsim.runtime.store.files_root / ".staging"
    return sum(p.stat().st_size for p in staging.iterdir()) if staging.is_dir() else 0


def _wait(condition, what: str) -> None:
    """Wait (real time, bounded) for the server to notice something a socket did."""
    deadline = monotonic() + WAIT_SECONDS
    while not condition():
        if monotonic() > deadline:
            raise AssertionError(f"the server did not {what} within {WAIT_SECONDS}s")
        real_sleep(0.02)


def _reset(sock: socket.socket) -> None:
    """Close like a crashed host: TCP RST, no TLS close_notify, no FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _start_upload(digipoort, koppelsim, name: str) -> tuple[ftplib.FTP_TLS, socket.socket]:
    ftp = connect(digipoort.host, digipoort.port, digipoort.user, digipoort.password, digipoort.ca_file)
    ftp.voidcmd("TYPE I")
    data = ftp.transfercmd(f"STOR IN/{name}")
    data.sendall(b"<aangifte>" + b"x" * 20000)  # ... and the rest never comes
    _wait(lambda: _staged_bytes(koppelsim) > 0, "receive the first bytes")
    return ftp, data


def test_client_vanishing_mid_upload_leaves_nothing_in_IN(digipoort, koppelsim):
    """Both connections die (control first, as when a client process is killed and its host resets
    the connections): the staged upload is discarded and journaled as incomplete."""
    with session(digipoort) as ftp:
        kept = submit_ok(ftp, "before1")
    disconnects = len(koppelsim.journal.entries(kind="ftp.disconnect"))
    ftp, data = _start_upload(digipoort, koppelsim, "vanish.xml")
    ftp.file.close()  # ftplib's reader holds the socket open too
    _reset(ftp.sock)
    _wait(lambda: len(koppelsim.journal.entries(kind="ftp.disconnect")) > disconnects, "see the disconnect")
    _reset(data)

    with session(digipoort) as ftp:
        assert names(ftp, "IN") == []
        assert f"before1_{kept}.ok" in names(ftp, "OUT")
    assert koppelsim.journal.entries(kind="file.incomplete", match={"name": "vanish.xml"})
    assert not koppelsim.journal.entries(kind="file.created", match={"folder": "IN", "name": "vanish.xml"})
    _wait(lambda: _staged_bytes(koppelsim) == 0, "remove the staged bytes")
    still_serving(digipoort, koppelsim)


def test_data_connection_reset_mid_upload_publishes_nothing(digipoort, koppelsim):
    ftp, data = _start_upload(digipoort, koppelsim, "reset.xml")
    try:
        _reset(data)
        reply = _final_reply(ftp)  # the control connection is still there to hear the verdict
        in_folder = names(ftp, "IN")
    finally:
        close_quietly(ftp)
    still_serving(digipoort, koppelsim)
    assert "reset.xml" not in in_folder, f"a truncated upload was published in IN (reply {reply!r})"
    assert reply.startswith("426"), reply


def test_data_connection_closed_without_close_notify_publishes_nothing(digipoort, koppelsim):
    ftp, data = _start_upload(digipoort, koppelsim, "truncated.xml")
    try:
        data.close()  # SSLSocket.close(): a FIN, no close_notify
        reply = _final_reply(ftp)
        in_folder = names(ftp, "IN")
    finally:
        close_quietly(ftp)
    still_serving(digipoort, koppelsim)
    assert "truncated.xml" not in in_folder, f"a truncated upload was published in IN (reply {reply!r})"
    assert not reply.startswith("226"), reply


def test_partial_upload_ended_with_close_notify_is_a_file_and_the_meta_check_catches_it(digipoort, koppelsim):
    """Documented behaviour: in FTP stream mode the end of the data connection IS the end of the file.
    A clean TLS close after half the bytes is indistinguishable from a short file, so it is published;
    the meta file's size and checksum are what protect the submission (ALS120, data file stays)."""
    whole = b"<aangifte>" + b"x" * 20000 + b"</aangifte>"
    ftp, data = _start_upload(digipoort, koppelsim, "half.xml")
    try:
        data.unwrap().close()
        assert _final_reply(ftp).startswith("226")
        assert names(ftp, "IN") == ["half.xml"]
        assert put(ftp, "IN/half.meta", meta_for(whole, ref="half", filename="half.xml"))
        assert "half.xml" in expect_error(ftp, "half", "ALS120")
        assert names(ftp, "IN") == ["half.xml"]
        # The client sends the whole file again under the same name, then the same meta: accepted.
        assert put(ftp, "IN/half.xml", whole).startswith("226")
        assert put(ftp, "IN/half.meta", meta_for(whole, ref="half2", filename="half.xml"))
        assert response(ftp, "half2")[0].endswith(".ok")
    finally:
        close_quietly(ftp)
    sub = [s for s in digipoort.submissions() if s["contextId"] == "half2"]
    assert sub and sub[0]["size"] == len(whole)
