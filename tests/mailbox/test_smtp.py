"""The test mailbox as Python's ``smtplib`` sees it: messages are accepted and kept exactly, size limits
are enforced with 552, and the server keeps serving whatever a client did before."""

from __future__ import annotations

import hashlib
import smtplib
import socket
import threading
import time

import pytest

from simulators.mailbox import smtp as smtp_layer
from simulators.mailbox.send import send_message
from simulators.mailbox.smtp import S250_ACCEPTED, S451_LOCAL_ERROR, MailboxHandler, SMTPListener

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
UBL = "<?xml version='1.0'?><Invoice><ID>2026-0042</ID><Note>€ 12,50</Note></Invoice>".encode()


def test_greeting_and_ehlo_name_the_configured_host_and_the_size_limit(mailbox):
    with smtplib.SMTP(timeout=10) as client:
        code, greeting = client.connect(mailbox.host, mailbox.port)
        assert code == 220 and greeting.startswith(b"koppelsim.test ")
        code, reply = client.ehlo("my-app.test")
        assert code == 250 and reply.splitlines()[0] == b"koppelsim.test"
        assert client.has_extn("size") and int(client.esmtp_features["size"]) == 64 * 1024
        assert client.has_extn("8bitmime") and client.has_extn("smtputf8")


def test_a_plain_message_is_kept_byte_for_byte_and_answered_250(mailbox):
    raw = (b"From: app@acme.test\r\nTo: qa@acme.test\r\nSubject: plain\r\nMessage-ID: <p1@acme.test>\r\n\r\n"
           b"line one\r\n.a line that starts with a dot\r\n..two dots\r\n")
    with mailbox.smtp() as client:
        client.ehlo()
        assert client.mail("app@acme.test")[0] == 250
        assert client.rcpt("qa@acme.test")[0] == 250
        code, reply = client.data(raw)
    assert f"{code} {reply.decode()}" == S250_ACCEPTED

    [listed] = mailbox.model.messages()
    assert listed["from"] == "app@acme.test" and listed["to"] == ["qa@acme.test"]
    assert listed["subject"] == "plain" and listed["message_id"] == "<p1@acme.test>"
    assert listed["received_at"] == "2026-11-20T08:00:00.000Z"  # the clock's time, not the host's
    assert mailbox.model.raw(listed["id"]) == raw  # dot-stuffing undone, nothing else touched
    assert listed["size"] == len(raw)
    text = mailbox.model.message(listed["id"])["text"]
    assert text == "line one\n.a line that starts with a dot\n..two dots\n"


def test_a_message_with_attachments_keeps_every_attachment_exactly(mailbox, invoice_mail):
    msg = invoice_mail(attachments=[("factuur-2026-0042.pdf", "application/pdf", PDF),
                                    ("factuur-2026-0042.xml", "application/xml", UBL)])
    assert send_message(mailbox.host, mailbox.port, msg) == {}

    [listed] = mailbox.model.messages()
    found = mailbox.model.attachments(listed["id"])
    assert [(a.name, a.content_type, a.data) for a in found] == [
        ("factuur-2026-0042.pdf", "application/pdf", PDF), ("factuur-2026-0042.xml", "application/xml", UBL)]
    assert [a.as_dict()["sha256"] for a in found] == [hashlib.sha256(PDF).hexdigest(),
                                                      hashlib.sha256(UBL).hexdigest()]
    assert [a.as_dict()["size"] for a in found] == [len(PDF), len(UBL)]
    detail = mailbox.model.message(listed["id"])
    assert detail["text"] == "Bijgaand de factuur.\n"
    assert [a["disposition"] for a in detail["attachments"]] == ["attachment", "attachment"]


def test_two_recipients_get_one_message_with_both_in_the_envelope(mailbox, invoice_mail):
    msg = invoice_mail(to=["boekhouding@acme.test", "archief@acme.test"])
    msg["Bcc"] = "audit@acme.test"
    send_message(mailbox.host, mailbox.port, msg)

    [listed] = mailbox.model.messages()
    assert listed["to"] == ["boekhouding@acme.test", "archief@acme.test", "audit@acme.test"]
    headers = mailbox.model.message(listed["id"])["headers"]
    assert headers["To"] == ["boekhouding@acme.test, archief@acme.test"]
    assert "Bcc" not in headers  # smtplib leaves it out of the message; the envelope has it


def test_a_non_ascii_subject_and_sender_name_are_shown_decoded(mailbox, invoice_mail):
    msg = invoice_mail(subject="Factuur – € 12,50 für Müller")
    msg.replace_header("From", "Centraal Boekhuis Facturatie <facturen@cb.test>")
    send_message(mailbox.host, mailbox.port, msg)
    [listed] = mailbox.model.messages()
    assert listed["subject"] == "Factuur – € 12,50 für Müller"
    assert mailbox.model.message(listed["id"])["headers"]["From"] == [
        "Centraal Boekhuis Facturatie <facturen@cb.test>"]


def test_a_message_over_the_declared_size_is_refused_552_at_mail_from_and_the_session_goes_on(
        mailbox, invoice_mail):
    big = invoice_mail(attachments=[("big.bin", "application/octet-stream", b"x" * 70 * 1024)])
    with mailbox.smtp() as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(big)  # smtplib declares SIZE=... because the server offers SIZE
        assert refused.value.smtp_code == 552
        assert b"size exceeds" in refused.value.smtp_error
        assert client.send_message(invoice_mail(subject="small")) == {}  # same connection
    assert [m["subject"] for m in mailbox.model.messages()] == ["small"]


def test_too_much_data_without_a_declared_size_is_refused_552_after_data(mailbox):
    body = b"".join(b"%06d " % i + b"y" * 72 + b"\r\n" for i in range(1000))  # ~80 KB, lines < 1000
    with mailbox.smtp() as client:
        client.ehlo()
        client.mail("app@acme.test")  # no SIZE= parameter: the server only finds out during DATA
        client.rcpt("qa@acme.test")
        code, reply = client.data(b"Subject: too big\r\n\r\n" + body)
        assert (code, reply) == (552, b"Error: Too much mail data")
        # the session is usable afterwards, and so is the server
        client.mail("app@acme.test")
        client.rcpt("qa@acme.test")
        assert client.data(b"Subject: fits\r\n\r\nok\r\n")[0] == 250
    with mailbox.smtp() as other:
        other.sendmail("app@acme.test", ["qa@acme.test"], b"Subject: next\r\n\r\nok\r\n")
    assert [m["subject"] for m in mailbox.model.messages()] == ["next", "fits"]
    assert mailbox.runtime.journal.count({"kind": "smtp.message", "subject": "too big"}) == 0


def test_each_received_message_is_journaled(mailbox, invoice_mail):
    send_message(mailbox.host, mailbox.port, invoice_mail(to=["a@acme.test", "b@acme.test"]))
    [entry] = mailbox.runtime.journal.entries(sim="mailbox", kind="smtp.message")
    [listed] = mailbox.model.messages()
    assert entry["message"] == listed["id"]
    assert entry["from"] == "facturen@cb.test" and entry["to"] == "a@acme.test, b@acme.test"
    assert entry["subject"] == "Factuur 2026-0042" and entry["size"] == listed["size"]
    # the recipients are one text, so a journal pattern (scenarios, GET /api/journal?to=) can find one
    mailbox.runtime.journal.expect({"kind": "smtp.message", "to": "*b@acme.test*", "subject": "Factuur *"})


def test_clients_sending_at_the_same_time_all_get_their_message_kept(mailbox, invoice_mail):
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            for k in range(5):
                send_message(mailbox.host, mailbox.port, invoice_mail(subject=f"client {n} message {k}"))
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    listed = mailbox.model.messages()
    assert len(listed) == 20 and len({m["id"] for m in listed}) == 20
    assert {m["subject"] for m in listed} == {f"client {n} message {k}" for n in range(4) for k in range(5)}


def test_clearing_while_clients_send_never_leaves_a_message_without_its_file(mailbox, invoice_mail):
    errors: list[BaseException] = []

    def send() -> None:
        try:
            for k in range(10):
                send_message(mailbox.host, mailbox.port, invoice_mail(subject=f"bericht {k}"))
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        mailbox.model.clear()
    for thread in threads:
        thread.join(30)
    assert not errors
    listed = mailbox.model.messages()
    assert all(mailbox.model.raw(m["id"]) for m in listed)
    assert len(list((mailbox.runtime.store.files_root / "mailbox").glob("*.eml"))) == len(listed)


def test_a_message_the_model_cannot_store_gets_451_and_the_server_keeps_serving(mailbox, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mailbox.model, "receive", broken)
    with mailbox.smtp() as client:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            client.sendmail("app@acme.test", ["qa@acme.test"], b"Subject: lost\r\n\r\nx\r\n")
        assert f"{failed.value.smtp_code} {failed.value.smtp_error.decode()}" == S451_LOCAL_ERROR
    monkeypatch.undo()
    with mailbox.smtp() as client:
        client.sendmail("app@acme.test", ["qa@acme.test"], b"Subject: kept\r\n\r\nx\r\n")
    assert [m["subject"] for m in mailbox.model.messages()] == ["kept"]


def test_send_message_reports_an_unreachable_server(tmp_path, invoice_mail):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connecting is refused
        with pytest.raises(OSError):
            send_message("127.0.0.1", port, invoice_mail(), timeout=2)


def test_reply_constants_carry_their_code_in_their_name():
    replies = {name: value for name, value in vars(smtp_layer).items()
               if name[:1] == "S" and name[1:4].isdigit()}
    assert set(replies) == {"S250_ACCEPTED", "S451_LOCAL_ERROR"}
    for name, value in replies.items():
        assert value.split(" ", 1)[0] == name[1:4], name
        assert len(value) > 4 and value[3] == " "


# -- the listener's lifecycle ---------------------------------------------------------------------------


def listener(model, port: int = 0) -> SMTPListener:
    return SMTPListener(MailboxHandler(model), "127.0.0.1", port, "koppelsim.test", 1024)


def test_port_0_gets_a_real_port_and_stop_twice_releases_it(mailbox):
    smtp = listener(mailbox.model)
    smtp.start()
    smtp.start()  # starting twice is harmless
    port = smtp.port
    assert port > 0 and smtp.running
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        assert client.noop()[0] == 250
    smtp.stop()
    smtp.stop()  # and so is stopping twice
    assert not smtp.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    again = listener(mailbox.model, port)  # the port is free for the next start (TIME_WAIT aside, as
    again.start()                           # SO_REUSEADDR allows, which every server sets)
    again.stop()


def test_a_port_in_use_fails_at_once_with_oserror(mailbox):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        smtp = listener(mailbox.model, taken.getsockname()[1])
        began = time.monotonic()
        with pytest.raises(OSError):
            smtp.start()
        assert time.monotonic() - began < 2  # not after the Controller's ready timeout
        smtp.stop()  # nothing to stop, no error


def test_stop_closes_a_client_connection_that_is_still_open(mailbox):
    smtp = listener(mailbox.model)
    smtp.start()
    client = socket.create_connection(("127.0.0.1", smtp.port), timeout=5)
    try:
        assert client.recv(1024).startswith(b"220 ")
        smtp.stop()
        assert client.recv(1024) == b""  # EOF: the server closed its side
    finally:
        client.close()
        smtp.stop()


def test_no_server_thread_outlives_stop(mailbox):
    before = {t.ident for t in threading.enumerate()}
    smtp = listener(mailbox.model)
    smtp.start()
    started = [t for t in threading.enumerate() if t.ident not in before]
    assert [t.name for t in started] == [f"koppelsim-mailbox-smtp-{smtp.port}"]
    smtp.stop()
    assert not any(t.is_alive() for t in started)
