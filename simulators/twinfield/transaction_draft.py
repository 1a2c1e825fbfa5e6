"""A refused transaction as far as Twinfield worked it out: what a refusal is answered with.

Twinfield does not send a refused booking back as it came: php-twinfield's
2-failed-and-1-successful-banktransactions.xml and banktransaction-with-warning-message.xml show a refused
transaction completed like a booked one - the journal's, office's and user's names, the period, each line's
account names, ``rate``/``basevalue``/``repvalue``, ``matchstatus``, an open item's open values - with the
messages on the elements they concern. What a refusal does not get is what only booking gives: no
``number`` (unless one was sent, to change a concept booking), no ``location``; the root keeps the request's
attributes, ``destiny`` included. A field that could not be read is answered as it was sent.

When the journal is unknown nothing can be completed and the request goes back as it came (the recorded
"Configuratiefout" answer, failed-response-without-line-ids.xml, is the request itself with the message);
``processxml`` does that when there is no draft.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .money import fmt, fmt_date


def draft_record(office: str, code: str, user: str, header: dict, sent_lines: list[dict], lines: list[dict],
                 day: date, date_ok: bool, period: str, period_ok: bool, currency: str, duedate: str | None,
                 number: str | None, kind: str | None) -> dict:
    """A transaction record (the shape ``Renderer.transaction`` writes) for a booking that was not made.

    ``lines``: the lines as ``LineReader`` read them, the VAT lines it made after them; ``sent_lines`` the
    lines as sent (for the texts of fields that could not be read)."""
    invoicenumber = (header.get("invoicenumber") or "").strip() or None
    return {
        "office": office, "code": code, "number": number, "location": None,
        "date": fmt_date(day) if date_ok else (header.get("date") or "").strip(),
        # a period that could not be read is answered as sent; one not sent and not worked out is left out
        "period": period if period_ok else ((header.get("period") or "").strip() or None),
        "invoicenumber": invoicenumber, "currency": currency, "duedate": duedate, "user": user,
        "header": {"extras": header.get("extras") or [], "kind": kind},
        # without a date there is no due date, so no open item to describe
        "lines": [_draft_line(p, sent_lines[p["index"]] if p["index"] is not None else None, invoicenumber,
                              date_ok) for p in lines],
    }


def _draft_line(p: dict, sent: dict | None, invoicenumber: str | None, date_ok: bool) -> dict:
    value, signed = p["value"], p["signed"]
    matchable = bool(p["matchable"]) and signed is not None and date_ok
    line_vat = p.get("line_vat")
    turnover = p.get("vatturnover")
    return {
        "id": p["id"] if p.get("id_ok", True) or sent is None else (sent.get("id") or "").strip(),
        "type": p["type"], "dim1": p["dim1"], "dim2": p["dim2"], "dim3": p["dim3"],
        "debitcredit": p["debitcredit"],
        "value": fmt(value) if isinstance(value, Decimal) else value,
        "vatcode": p["vatcode"],
        "vatvalue": fmt(abs(line_vat)) if line_vat is not None else None,
        "vatturnover": fmt(turnover) if isinstance(turnover, Decimal) else None,
        "description": p["description"],
        "invoicenumber": p["invoicenumber"] or (invoicenumber if p["type"] == "total" else None),
        "performancetype": p["performancetype"], "performancecountry": p["performancecountry"],
        "performancevatnumber": p["performancevatnumber"], "performancedate": p["performancedate"],
        "baseline": p.get("baseline"), "matchable": matchable,
        "openvalue": fmt(signed) if matchable else None,
        "matchstatus": "available" if matchable else "notmatchable", "matchnumber": None,
        "extra": p["extras"],
    }
