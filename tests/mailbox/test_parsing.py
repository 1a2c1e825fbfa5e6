"""Whatever a client sends is kept and shown: nested MIME structures, attached messages, encoded file
names, unknown charsets and broken headers (the model directly; SMTP is in test_smtp.py)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def receive(mailbox, raw: bytes, to: list[str] | None = None) -> dict:
    summary = mailbox.model.receive(raw, "app@acme.test", to or ["qa@acme.test"])
    return mailbox.model.message(summary["id"])


def test_html_with_an_inline_image_and_an_attachment_in_nested_multiparts(mailbox):
    msg = EmailMessage()
    msg["Subject"] = "nieuwsbrief"
    msg.set_content("platte tekst\n")
    cid = make_msgid(domain="cb.test")
    msg.add_alternative(f'<p>html <img src="cid:{cid[1:-1]}"></p>\n', subtype="html")
    msg.get_payload()[1].add_related(PNG, maintype="image", subtype="png", cid=cid)
    msg.add_attachment(b"a;b\n1;2\n", maintype="text", subtype="csv", filename="overzicht.csv")

    shown = receive(mailbox, msg.as_bytes())
    assert shown["text"] == "platte tekst\n"
    assert shown["html"].startswith("<p>html <img")
    assert [(a["name"], a["content_type"], a["disposition"]) for a in shown["attachments"]] == [
        ("part1.png", "image/png", "inline"), ("overzicht.csv", "text/csv", "attachment")]
    [image, csv] = mailbox.model.attachments(shown["id"])
    assert image.data == PNG and csv.data == b"a;b\n1;2\n"


def test_an_attached_message_is_one_attachment(mailbox):
    inner = EmailMessage()
    inner["Subject"] = "doorgestuurd"
    inner.set_content("origineel\n")
    inner.add_attachment(b"%PDF inner", maintype="application", subtype="pdf", filename="binnen.pdf")
    outer = EmailMessage()
    outer["Subject"] = "Fwd: doorgestuurd"
    outer.set_content("zie bijlage\n")
    outer.add_attachment(inner, filename="doorgestuurd.eml")

    shown = receive(mailbox, outer.as_bytes())
    assert [(a["name"], a["content_type"]) for a in shown["attachments"]] == [
        ("doorgestuurd.eml", "message/rfc822")]
    [attached] = mailbox.model.attachments(shown["id"])
    assert b"Subject: doorgestuurd" in attached.data and b"binnen.pdf" in attached.data


def test_rfc2231_and_rfc2047_file_names_are_decoded_and_path_parts_dropped(mailbox):
    raw = (b"Subject: namen\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
           b"--B\r\nContent-Type: text/plain\r\n\r\ntekst\r\n"
           b"--B\r\nContent-Type: application/pdf\r\n"
           b"Content-Disposition: attachment; filename*=UTF-8''factuur-%C3%A9%E2%82%AC.pdf\r\n\r\n%PDF\r\n"
           b"--B\r\nContent-Type: application/xml\r\n"
           b"Content-Disposition: attachment; filename=\"=?utf-8?q?ubl-=C3=BC.xml?=\"\r\n\r\n<x/>\r\n"
           b"--B\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Disposition: attachment; filename=\"..\\\\..\\\\boot.ini\"\r\n\r\nx\r\n"
           b"--B--\r\n")
    shown = receive(mailbox, raw)
    assert [a["name"] for a in shown["attachments"]] == ["factuur-é€.pdf", "ubl-ü.xml", "boot.ini"]


def test_an_unknown_charset_and_undecodable_bytes_are_shown_best_effort(mailbox):
    raw = (b"Subject: =?x-unknown?q?raar?=\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
           b"caf\xe9 \xff\r\n")
    shown = receive(mailbox, raw)
    assert shown["text"].startswith("caf") and shown["text"].endswith("\n")
    assert "raar" in shown["subject"]
    assert mailbox.model.raw(shown["id"]) == raw


def test_broken_headers_do_not_stop_a_message_from_being_kept(mailbox):
    raw = (b"From: <<<not an address\r\nTo: \r\nSubject: kapot\r\nMessage-ID: geen-haken\r\n"
           b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n")
    shown = receive(mailbox, raw)
    assert shown["subject"] == "kapot" and shown["message_id"] == "geen-haken"
    assert shown["headers"]["From"] == ["<<<not an address"]
    assert shown["attachments"] == []


def test_a_message_without_headers_or_body(mailbox):
    shown = receive(mailbox, b"\r\n")
    assert (shown["subject"], shown["message_id"], shown["text"], shown["html"]) == ("", None, "", None)
    assert shown["headers"] == {} and shown["attachments"] == []


def test_an_html_only_message_has_no_text(mailbox):
    raw = b"Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>alleen html</p>\r\n"
    shown = receive(mailbox, raw)
    assert (shown["text"], shown["html"]) == (None, "<p>alleen html</p>\n")
    assert shown["attachments"] == []


def test_a_single_part_pdf_message_is_its_own_attachment(mailbox):
    raw = (b"Subject: alleen een pdf\r\nContent-Type: application/pdf\r\n"
           b"Content-Disposition: attachment; filename=los.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"JVBERi0xLjc=\r\n")
    shown = receive(mailbox, raw)
    assert [(a["name"], a["size"]) for a in shown["attachments"]] == [("los.pdf", 8)]
    assert mailbox.model.attachment(shown["id"], 0).data == b"%PDF-1.7"
