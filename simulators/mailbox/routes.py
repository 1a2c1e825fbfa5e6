"""Admin routes of the test mailbox, under ``/api/mailbox/``."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from ..core.openapi import doc
from .models import Mailbox


def create_blueprint(mailbox: Mailbox) -> Blueprint:
    bp = Blueprint("mailbox", __name__)

    @bp.get("/messages")
    @doc(query={"to": "a recipient (envelope RCPT TO), wildcards allowed: *@example.com",
                "from": "the sender (envelope MAIL FROM), wildcards allowed",
                "subject": "wildcards allowed: Factuur*"})
    def messages():
        """Received messages, newest first: id, received_at, from, to, subject, size, message_id."""
        # An unknown parameter (?too=) is refused by the model, naming the filters: never "all messages".
        return jsonify(mailbox.messages(**request.args.to_dict()))

    @bp.get("/messages/<int:message_id>")
    def message(message_id: int):
        """One message: headers, text and HTML body, and its attachments (index, name, type, size, sha256)."""
        return jsonify(mailbox.message(message_id))

    @bp.get("/messages/<int:message_id>/raw")
    def raw(message_id: int):
        """The message as received (message/rfc822), e.g. to open in a mail program."""
        return _download(mailbox.raw(message_id), "message/rfc822", f"message-{message_id}.eml", "inline")

    @bp.get("/messages/<int:message_id>/attachments/<int:index>")
    def attachment(message_id: int, index: int):
        """One attachment's bytes, with its content type and file name (index as in the message)."""
        found = mailbox.attachment(message_id, index)
        return _download(found.data, found.media_type, found.name, "attachment")

    @bp.delete("/messages/<int:message_id>")
    def delete(message_id: int):
        """Remove one message."""
        mailbox.delete(message_id)
        return jsonify({"removed": message_id})

    @bp.delete("/messages")
    def clear():
        """Remove every message."""
        return jsonify({"removed": mailbox.clear()})

    return bp


def _download(data: bytes, content_type: str, name: str, disposition: str) -> Response:
    # content_type is set as given: Flask's mimetype= would add "charset=utf-8" to text and XML types,
    # which is wrong for bytes in ISO-8859-15 and a second charset where the part declared one.
    response = Response(data, content_type=content_type)
    try:
        name.encode("ascii")
        names = {"filename": name}
    except UnicodeEncodeError:  # RFC 6266: an ASCII fallback plus the real name, percent-encoded
        fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii") or "download"
        names = {"filename": fallback, "filename*": f"UTF-8''{quote(name, safe='')}"}
    response.headers.set("Content-Disposition", disposition, **names)
    return response
