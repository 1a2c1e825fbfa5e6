"""The mailbox's admin API over real HTTP (requests), with messages sent over real SMTP (smtplib)."""

from __future__ import annotations

import email
import hashlib
from email import policy
from urllib.parse import unquote

from simulators.mailbox.send import send_message

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
UBL = b"<?xml version='1.0'?><Invoice><ID>2026-0042</ID></Invoice>"


def deliver(mailbox, msg) -> int:
    send_message(mailbox.host, mailbox.port, msg)
    return mailbox.model.messages()[0]["id"]


def assert_error(response, status: int, *message_parts: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    for part in message_parts:
        assert part in error["message"], error["message"]
    return error


def test_the_smtp_endpoint_is_listed(mailbox):
    listed = {e["name"]: e for e in mailbox.api("GET", "api/endpoints").json()}
    smtp = listed["mailbox-smtp"]
    assert (smtp["simulator"], smtp["protocol"], smtp["tls"]) == ("mailbox", "smtp", "none")
    assert smtp["url"] == f"smtp://{mailbox.host}:{mailbox.port}" and smtp["port"] == mailbox.port
    assert smtp["credentials"] == []
    assert "/api/mailbox/messages" in smtp["notes"]


def test_messages_are_listed_newest_first_and_filtered_with_wildcards(mailbox, invoice_mail):
    deliver(mailbox, invoice_mail(to="boekhouding@acme.test", subject="Factuur 2026-0041"))
    deliver(mailbox, invoice_mail(to=["inkoop@bakker.test", "cc@acme.test"], subject="Herinnering 2026-0041"))
    deliver(mailbox, invoice_mail(to="boekhouding@acme.test", subject="Factuur 2026-0042"))

    listed = mailbox.api("GET", "api/mailbox/messages").json()
    assert [m["subject"] for m in listed] == ["Factuur 2026-0042", "Herinnering 2026-0041",
                                              "Factuur 2026-0041"]
    assert set(listed[0]) == {"id", "received_at", "from", "to", "subject", "size", "message_id"}

    def subjects(**params) -> list[str]:
        response = mailbox.api("GET", "api/mailbox/messages", params=params)
        assert response.status_code == 200, response.text
        return [m["subject"] for m in response.json()]

    assert subjects(to="*@bakker.test") == ["Herinnering 2026-0041"]
    assert subjects(to="cc@acme.test") == ["Herinnering 2026-0041"]  # any of the recipients
    assert subjects(subject="Factuur *") == ["Factuur 2026-0042", "Factuur 2026-0041"]
    assert subjects(to="boekhouding@*", subject="*0041") == ["Factuur 2026-0041"]
    assert subjects(**{"from": "facturen@cb.test"}) == subjects()
    assert subjects(subject="factuur *") == []  # patterns are case-sensitive, as everywhere in koppelsim


def test_an_unknown_filter_is_refused_rather_than_ignored(mailbox):
    error = assert_error(mailbox.api("GET", "api/mailbox/messages", params={"too": "x@acme.test"}), 400,
                         "'too'", "to")
    assert error["code"] == "bad_request"


def test_one_message_with_headers_bodies_and_attachments(mailbox, invoice_mail):
    msg = invoice_mail(attachments=[("factuur.pdf", "application/pdf", PDF),
                                    ("factuur.xml", "application/xml", UBL)])
    msg.get_payload()[0].add_alternative("<p>Bijgaand de <b>factuur</b>.</p>", subtype="html")
    message_id = deliver(mailbox, msg)

    response = mailbox.api("GET", f"api/mailbox/messages/{message_id}")
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["id"] == message_id and detail["subject"] == "Factuur 2026-0042"
    assert detail["from"] == "facturen@cb.test" and detail["to"] == ["boekhouding@acme.test"]
    assert detail["message_id"] == "<factuur-0042@cb.test>"
    assert detail["headers"]["Subject"] == ["Factuur 2026-0042"]
    assert detail["headers"]["From"] == ["facturen@cb.test"]
    assert detail["text"] == "Bijgaand de factuur.\n"
    assert detail["html"] == "<p>Bijgaand de <b>factuur</b>.</p>\n"
    assert detail["attachments"] == [
        {"index": 0, "name": "factuur.pdf", "content_type": "application/pdf", "disposition": "attachment",
         "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()},
        {"index": 1, "name": "factuur.xml", "content_type": "application/xml", "disposition": "attachment",
         "size": len(UBL), "sha256": hashlib.sha256(UBL).hexdigest()},
    ]


def test_the_raw_message_is_served_as_message_rfc822(mailbox, invoice_mail):
    message_id = deliver(mailbox, invoice_mail(attachments=[("factuur.pdf", "application/pdf", PDF)]))
    response = mailbox.api("GET", f"api/mailbox/messages/{message_id}/raw")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "message/rfc822"
    assert response.content == mailbox.model.raw(message_id)
    parsed = email.message_from_bytes(response.content, policy=policy.default)
    assert parsed["Subject"] == "Factuur 2026-0042"
    [attached] = list(parsed.iter_attachments())
    assert attached.get_content() == PDF


def test_an_attachment_is_served_with_its_type_and_file_name(mailbox, invoice_mail):
    message_id = deliver(mailbox, invoice_mail(attachments=[("factuur.pdf", "application/pdf", PDF),
                                                            ("factuur.xml", "application/xml", UBL)]))
    pdf = mailbox.api("GET", f"api/mailbox/messages/{message_id}/attachments/0")
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"] == "attachment; filename=factuur.pdf"
    assert pdf.content == PDF
    xml = mailbox.api("GET", f"api/mailbox/messages/{message_id}/attachments/1")
    assert xml.headers["Content-Type"] == "application/xml" and xml.content == UBL


def test_a_non_ascii_file_name_and_a_text_attachment_charset_survive_the_download(mailbox, invoice_mail):
    msg = invoice_mail()
    msg.add_attachment("Prijs: € 12,50\n", subtype="plain", charset="iso-8859-15",
                       filename="prijsopgave-é.txt")
    message_id = deliver(mailbox, msg)
    response = mailbox.api("GET", f"api/mailbox/messages/{message_id}/attachments/0")
    assert response.headers["Content-Type"] == "text/plain; charset=iso-8859-15"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert unquote(response.headers["Content-Disposition"].split("UTF-8''", 1)[1]) == "prijsopgave-é.txt"
    # the bytes as they travelled: a text part is sent with CRLF line ends (MIME's canonical form)
    assert response.content.decode("iso-8859-15") == "Prijs: € 12,50\r\n"


def test_unknown_messages_and_attachments_are_404_with_a_hint(mailbox, invoice_mail):
    assert_error(mailbox.api("GET", "api/mailbox/messages/999"), 404, "no message 999")
    assert_error(mailbox.api("GET", "api/mailbox/messages/999/raw"), 404, "no message 999")
    assert_error(mailbox.api("DELETE", "api/mailbox/messages/999"), 404, "no message 999")
    message_id = deliver(mailbox, invoice_mail(attachments=[("factuur.pdf", "application/pdf", PDF)]))
    assert_error(mailbox.api("GET", f"api/mailbox/messages/{message_id}/attachments/1"), 404,
                 "1 attachment(s)", "0-0")
    assert mailbox.api("GET", "api/mailbox/messages/abc").status_code == 404


def test_delete_one_message_and_its_file(mailbox, invoice_mail):
    first = deliver(mailbox, invoice_mail(subject="eerste"))
    second = deliver(mailbox, invoice_mail(subject="tweede"))
    eml = mailbox.runtime.store.files_root / "mailbox" / f"{first}.eml"
    assert eml.is_file()

    response = mailbox.api("DELETE", f"api/mailbox/messages/{first}")
    assert response.status_code == 200 and response.json() == {"removed": first}
    assert [m["id"] for m in mailbox.api("GET", "api/mailbox/messages").json()] == [second]
    assert not eml.exists()
    assert mailbox.api("GET", f"api/mailbox/messages/{first}").status_code == 404


def test_delete_all_messages(mailbox, invoice_mail):
    for n in range(3):
        deliver(mailbox, invoice_mail(subject=f"bericht {n}"))
    response = mailbox.api("DELETE", "api/mailbox/messages")
    assert response.status_code == 200 and response.json() == {"removed": 3}
    assert mailbox.api("GET", "api/mailbox/messages").json() == []
    assert list((mailbox.runtime.store.files_root / "mailbox").iterdir()) == []
    # and the mailbox goes on receiving
    deliver(mailbox, invoice_mail(subject="daarna"))
    assert [m["subject"] for m in mailbox.api("GET", "api/mailbox/messages").json()] == ["daarna"]


def test_reset_through_the_admin_api_empties_the_mailbox(mailbox, invoice_mail):
    deliver(mailbox, invoice_mail())
    response = mailbox.api("POST", "api/reset", params={"sim": "mailbox"})
    assert response.status_code == 200, response.text
    assert mailbox.api("GET", "api/mailbox/messages").json() == []


def test_the_routes_are_in_the_openapi_document(mailbox):
    paths = mailbox.api("GET", "api/openapi.json").json()["paths"]
    assert set(paths["/api/mailbox/messages"]) == {"get", "delete"}
    assert set(paths["/api/mailbox/messages/{message_id}"]) == {"get", "delete"}
    assert "get" in paths["/api/mailbox/messages/{message_id}/raw"]
    assert "get" in paths["/api/mailbox/messages/{message_id}/attachments/{index}"]
    listing = paths["/api/mailbox/messages"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"to", "from", "subject"}
    assert listing["tags"] == ["mailbox"]
