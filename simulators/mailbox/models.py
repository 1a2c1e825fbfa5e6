"""The test mailbox's model: every message an SMTP client hands over, kept durably and readable afterwards.

Each message is two things: the raw bytes as received (``files/mailbox/<id>.eml``, written atomically)
and a row in ``mb_messages`` with what a listing needs (envelope, subject, size). The row and the file
are made in one transaction: the file is published before the row commits, so a row never points at a
missing file; a crash in between leaves an orphan file that ``recover()`` removes.

Everything else (headers, bodies, attachments) is parsed from the raw bytes when asked for: the raw
message is the truth, and a listing of many large messages stays cheap.

"from" and "to" are the *envelope* (MAIL FROM, RCPT TO): who the message was delivered to, Bcc
included. The header fields are in a message's ``headers``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..core.clock import format_instant
from ..core.errors import BadRequest, NotFound
from ..core.matching import value_matches
from .config import MailboxConfig

if TYPE_CHECKING:
    from ..core.runtime import Context

log = logging.getLogger(__name__)

SIM = "mailbox"
AREA = "mailbox"  # folder in the store's files area

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mb_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    mail_from TEXT NOT NULL,
    rcpt_to TEXT NOT NULL,
    subject TEXT NOT NULL,
    size INTEGER NOT NULL,
    message_id TEXT,
    path TEXT NOT NULL
);
"""
_COLUMNS = "id, received_at, mail_from, rcpt_to, subject, size, message_id, path"

FILTERS = ("from", "to", "subject")


@dataclass(frozen=True)
class Attachment:
    """One attachment (or inline part) of a message, with its decoded bytes."""

    index: int
    name: str
    content_type: str
    charset: str | None
    disposition: str | None  # "attachment", "inline" or None (not declared)
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def media_type(self) -> str:
        """The Content-Type to serve the bytes with (the charset they are in, where there is one)."""
        return f"{self.content_type}; charset={self.charset}" if self.charset else self.content_type

    def as_dict(self) -> dict:
        return {"index": self.index, "name": self.name, "content_type": self.content_type,
                "disposition": self.disposition, "size": self.size, "sha256": self.sha256}


class Mailbox:
    """Receives messages (from the SMTP layer) and answers questions about them (admin API, scenarios)."""

    def __init__(self, ctx: "Context", config: MailboxConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.store = ctx.store
        self.store.migrate("mailbox", _SCHEMA)

    @property
    def folder(self) -> Path:
        return self.store.area(AREA)

    # -- receiving --------------------------------------------------------------------------------

    def receive(self, raw: bytes, mail_from: str, rcpt_to: list[str], session: str | None = None) -> dict:
        """Keep one message as received; journals ``smtp.message``. Returns the listing entry."""
        headers = _parse(raw, headers_only=True)
        subject = _header(headers, "Subject") or ""
        message_id = _header(headers, "Message-ID")
        now = self.ctx.clock.now()
        received_at = format_instant(now)
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO mb_messages (received_at, mail_from, rcpt_to, subject, size, message_id, path)"
                " VALUES (?, ?, ?, ?, ?, ?, '')",
                (received_at, mail_from, json.dumps(rcpt_to), subject, len(raw), message_id))
            new_id = int(cursor.lastrowid)
            name = f"{new_id}.eml"
            # Published before the commit: a committed row always has its file (see the module doc).
            self.store.atomic_write(self.folder / name, raw, mtime=now)
            db.execute("UPDATE mb_messages SET path = ? WHERE id = ?", (f"{AREA}/{name}", new_id))
        # "message", not "id": a journal entry's own id is a base field of every entry.
        # "to" as one text ("a@x, b@y"): journal patterns match text, so `to: "*b@y*"` finds it.
        self.ctx.journal.record(SIM, "smtp.message", session, message=new_id, **{"from": mail_from},
                                to=", ".join(rcpt_to), subject=subject, size=len(raw))
        # Built here, not read back: a reset right after the commit may already have removed the row.
        return self._summary({"id": new_id, "received_at": received_at, "mail_from": mail_from,
                              "rcpt_to": json.dumps(rcpt_to), "subject": subject, "size": len(raw),
                              "message_id": message_id})

    # -- reading ----------------------------------------------------------------------------------

    def messages(self, **filters: str | None) -> list[dict]:
        """Messages, newest first; ``from``/``to``/``subject`` filter with wildcards (``*@example.com``).

        ``to`` matches when any of a message's recipients matches.
        """
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise BadRequest(f"unknown filter {unknown[0]!r}; filters: {', '.join(FILTERS)}")
        wanted = {k: v for k, v in filters.items() if v is not None}
        rows = self.store.query_dicts(f"SELECT {_COLUMNS} FROM mb_messages ORDER BY id DESC")
        found = []
        for row in rows:
            summary = self._summary(row)
            if all(_field_matches(pattern, summary[name]) for name, pattern in wanted.items()):
                found.append(summary)
        return found

    def count(self) -> int:
        return int(self.store.query("SELECT COUNT(*) FROM mb_messages")[0][0])

    def message(self, message_id: int) -> dict:
        """One message: the listing fields, every header, the text and HTML bodies, the attachments."""
        row = self._row(message_id)
        parsed = _parse(self._read(row))
        return {
            **self._summary(row),
            "headers": _headers(parsed),
            "text": _body_text(parsed, "plain"),
            "html": _body_text(parsed, "html"),
            "attachments": [a.as_dict() for a in _attachments(parsed)],
        }

    def raw(self, message_id: int) -> bytes:
        """The message exactly as the client sent it (after SMTP's dot-unstuffing)."""
        return self._read(self._row(message_id))

    def attachments(self, message_id: int) -> list[Attachment]:
        return _attachments(_parse(self.raw(message_id)))

    def attachment(self, message_id: int, index: int) -> Attachment:
        found = self.attachments(message_id)
        if not 0 <= index < len(found):
            raise NotFound(f"message {message_id} has {len(found)} attachment(s); there is no index {index}"
                           + (f" (they are numbered 0-{len(found) - 1})" if found else ""))
        return found[index]

    def views(self) -> list[dict]:
        """Every message as scenario expectations see it: {id, from, to, subject, attachments: [names]},
        oldest first."""
        rows = self.store.query_dicts(f"SELECT {_COLUMNS} FROM mb_messages ORDER BY id")
        views = []
        for row in rows:
            summary = self._summary(row)
            views.append({"id": summary["id"], "from": summary["from"], "to": summary["to"],
                          "subject": summary["subject"],
                          "attachments": [a.name for a in _attachments(_parse(self._read(row)))]})
        return views

    # -- removing ---------------------------------------------------------------------------------

    def delete(self, message_id: int) -> None:
        row = self._row(message_id)
        with self.store.transaction() as db:
            db.execute("DELETE FROM mb_messages WHERE id = ?", (message_id,))
        # After the commit: a crash in between leaves an orphan file, which recover() removes.
        self.store.remove(self.store.files_root / row["path"])

    def clear(self) -> int:
        """Remove every message; returns how many there were."""
        with self.store.transaction() as db:
            paths = [row[0] for row in db.execute("SELECT path FROM mb_messages")]
            db.execute("DELETE FROM mb_messages")
        # Only the files of the rows just deleted: a message arriving meanwhile keeps its file.
        for path in paths:
            self.store.remove(self.store.files_root / path)
        self.recover()
        return len(paths)

    def recover(self) -> int:
        """Remove files a crash left without a row (published, but the transaction never committed)."""
        # Under the store's lock: a delivery publishes its file inside its transaction, so while we
        # hold the lock every file without a row really is a leftover, not a message being committed.
        with self.store.transaction() as db:
            known = {row[0] for row in db.execute("SELECT path FROM mb_messages")}
            orphans = [p for p in self.folder.glob("*.eml") if f"{AREA}/{p.name}" not in known]
            for path in orphans:
                log.info("mailbox: removing %s, left behind by an interrupted delivery", path.name)
                self.store.remove(path)
        return len(orphans)

    # -- helpers ----------------------------------------------------------------------------------

    def _row(self, message_id: int) -> dict:
        rows = self.store.query_dicts(f"SELECT {_COLUMNS} FROM mb_messages WHERE id = ?", (message_id,))
        if not rows:
            raise NotFound(f"no message {message_id} in the mailbox (GET /api/mailbox/messages lists them)")
        return rows[0]

    def _read(self, row: Mapping[str, Any]) -> bytes:
        try:
            return (self.store.files_root / row["path"]).read_bytes()
        except FileNotFoundError as exc:  # deleted between reading its row and its file
            raise NotFound(f"message {row['id']} was just removed from the mailbox") from exc

    @staticmethod
    def _summary(row: Mapping[str, Any]) -> dict:
        return {"id": row["id"], "received_at": row["received_at"], "from": row["mail_from"],
                "to": json.loads(row["rcpt_to"]), "subject": row["subject"], "size": row["size"],
                "message_id": row["message_id"]}


# -- parsing: whatever arrives is shown, never refused -------------------------------------------------


def _parse(raw: bytes, headers_only: bool = False) -> EmailMessage:
    parser = BytesParser(policy=policy.default)
    return parser.parsebytes(raw, headersonly=headers_only)  # type: ignore[return-value]


def _header(message: Message, name: str) -> str | None:
    for key, raw in message.raw_items():  # type: ignore[attr-defined]
        if key.lower() == name.lower():
            return _header_value(message, key, raw)
    return None


def _headers(message: Message) -> dict[str, list[str]]:
    """Every header, decoded (RFC 2047), in order; a name that occurs twice has two values."""
    headers: dict[str, list[str]] = {}
    for key, raw in message.raw_items():  # type: ignore[attr-defined]
        headers.setdefault(key, []).append(_header_value(message, key, raw))
    return headers


def _header_value(message: Message, key: str, raw: str) -> str:
    """The decoded value; a header the modern parser finds defective (an address it cannot read, ...)
    is shown as it came, unfolded: the parser's repair ("<>" for "<<<x") would hide what was sent."""
    try:
        parsed = message.policy.header_fetch_parse(key, raw)
    except Exception:
        parsed = None
    if parsed is None or getattr(parsed, "defects", ()):
        return " ".join(str(raw).split())
    # A value folded right after "Name:" keeps the fold's whitespace in front; it is not part of it.
    return str(parsed).strip()


def _body_text(message: EmailMessage, subtype: str) -> str | None:
    """The text or HTML body, with the wire's CRLF line ends as "\n" (``raw`` keeps them)."""
    body = message.get_body(preferencelist=(subtype,))
    if body is None or body.get_content_type() != f"text/{subtype}":
        return None
    return _decoded_text(body).replace("\r\n", "\n")


def _decoded_text(part: Message) -> str:
    try:
        return part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, ValueError):  # an unknown or wrong charset: best effort
        payload = part.get_payload(decode=True) or b""
        try:
            return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
        except LookupError:
            return payload.decode("utf-8", errors="replace")


def _attachments(message: EmailMessage) -> list[Attachment]:
    """The parts that are not the message's text or HTML body, in order. An attached message
    (message/rfc822) is one attachment; its own attachments are its business."""
    bodies = {id(b) for b in (message.get_body(preferencelist=("plain",)),
                              message.get_body(preferencelist=("html",))) if b is not None}
    parts: list[Message] = []

    def visit(part: Message) -> None:
        if part.get_content_maintype() == "multipart":
            if part.is_multipart():  # not: a multipart without a boundary, unreadable (raw shows it)
                for sub in part.get_payload():  # type: ignore[union-attr]
                    visit(sub)
            return
        if id(part) in bodies:
            return
        disposition = part.get_content_disposition()
        if part.get_content_maintype() == "text" and disposition != "attachment" and not _filename(part):
            return  # an alternative body (a second text part), not something attached
        parts.append(part)

    visit(message)
    return [_attachment(index, part) for index, part in enumerate(parts)]


def _attachment(index: int, part: Message) -> Attachment:
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
    else:
        data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or ("us-ascii" if part.get_content_maintype() == "text" else None)
    name = _filename(part) or f"part{index + 1}{_extension(content_type)}"
    return Attachment(index=index, name=name, content_type=content_type, charset=charset,
                      disposition=part.get_content_disposition(), data=data)


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    # A name is shown and offered for download, never used as a path here; still, keep only its last
    # component so a client saving it cannot be steered into another folder.
    return name.replace("\\", "/").rsplit("/", 1)[-1] or None


def _extension(content_type: str) -> str:
    if content_type == "message/rfc822":
        return ".eml"
    return mimetypes.guess_extension(content_type) or ".bin"


def _field_matches(pattern: Any, actual: Any) -> bool:
    """A pattern against a field; against a list (the recipients) it matches when any item does."""
    if isinstance(actual, list):
        return any(value_matches(pattern, item) for item in actual)
    return value_matches(pattern, actual)
