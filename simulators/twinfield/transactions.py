"""Transactions (boekingen): sales (journal VRK) and memo bookings (journal MEMO), checked and stored.

What Twinfield does with a ``<transaction>`` (developers.twinfield.com, "Sales transactions" and
"Journal transactions"; responses in php-twinfield's fixtures):

* the header is completed: period from the date, due date, number (per office, journal and year);
* VAT lines are computed from each detail line's VAT code and the percentage in force on the date,
  unless VAT lines were sent; ``autobalancevat="true"`` absorbs at most two cents;
* debit must equal credit, or "De boeking is niet in balans. Er ontbreekt 0.01 debet." (and the same for
  the base currency, and the reporting currency where the office has one);
* lines on a debtors account (1300) carry a customer and become open items that can be matched.

Warnings block the booking unless ``raisewarning="false"`` (then they are dropped), as in Twinfield.
Each transaction is checked completely first, so a response names every problem, then stored in one
database transaction: a booking is either there with all its lines, or not at all. Reading and checking
each line, and the VAT lines, live in ``transaction_lines``; this module is the booking as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ..core.clock import format_instant
from ..core.store import Store
from . import errors, numbering
from .directory import Caller, OfficeInfo
from .errors import Outcome
from .ledger import Ledger, due_days
from .money import ZERO, BadValue, fmt, fmt_date, parse_date, parse_period, period_of, plus_days
from .transaction_draft import draft_record
from .transaction_lines import MAX_INVOICENUMBER, LineReader
from .vat import VatBook

# Journal names by kind (php-twinfield's fixtures: "Verkoopfactuur"/"Verkoop", "Memoriaal"/"Memo").
KIND_NAMES = {"sales": ("Verkoopboek", "Verkoop"), "journal": ("Memoriaal", "Memo")}


def journal_of(office: OfficeInfo | None, code: str) -> dict | None:
    """The office's journal with this code: {code, kind, name, shortname}, or None."""
    kind = (office.journals if office else {}).get(code)
    if kind is None:
        return None
    name, shortname = KIND_NAMES.get(kind, (code, code))
    return {"code": code, "kind": kind, "name": name, "shortname": shortname}


@dataclass
class Settings:
    vat_tolerance: Decimal


class Transactions:
    def __init__(self, store: Store, ledger: Ledger, vat: VatBook, settings: Settings) -> None:
        self.store = store
        self.ledger = ledger
        self.vat = vat
        self.settings = settings
        self.lines = LineReader(ledger, vat)

    # -- posting ----------------------------------------------------------------------------------------

    def post(self, caller: Caller, office: OfficeInfo | None, given: dict, now: datetime,
             check_only: bool = False) -> Outcome:
        """``given``: {attrs, header, lines}, every value the text that was sent (or None).

        A refusal's outcome carries ``draft``: the transaction as far as it was worked out (see
        ``transaction_draft``), when its journal is known. ``check_only`` stores nothing and always gives the
        draft (a scripted rejection answers with it)."""
        outcome = Outcome()
        attrs, header, lines = given["attrs"], given["header"], given["lines"]
        # raisewarning defaults to true (Twinfield's documentation); [CHOSEN] a raised warning blocks the
        # booking, as the recorded answer with a warning on <date> shows result="0" all the way up
        raise_warnings = (attrs.get("raisewarning") or "true").lower() != "false"
        if office is None:
            return outcome  # the caller reported the office problem already
        code = (header.get("code") or "").strip().upper()
        journal = journal_of(office, code)
        if not code:
            outcome.add(("header", "code"), errors.required("Dagboek"))
        elif journal is None:
            outcome.add(("header", "code"), errors.journal_unknown(code))
        day = self._date(header, outcome, now)
        period = self._period(header, day, outcome)
        currency = (header.get("currency") or "EUR").strip().upper()
        if currency != "EUR":  # [CHOSEN] offices book in euros only: no exchange rates are simulated
            outcome.add(("header", "currency"), errors.currency_unknown(currency))
        existing = self._existing(office.code, code, header, outcome)
        parsed = [self.lines.read(office.code, i, line, day, journal, outcome) for i, line in enumerate(lines)]
        self.lines.check_ids(parsed, outcome)
        if journal and len(lines) < 2:
            outcome.add((), errors.TOO_FEW_LINES)
        if journal and journal["kind"] == "sales":
            totals = [p for p in parsed if p["type"] == "total"]
            if len(totals) != 1:
                outcome.add((), errors.NO_TOTAL_LINE)
            invoicenumber = (header.get("invoicenumber") or "").strip()
            if not invoicenumber:
                outcome.add(("header", "invoicenumber"), errors.required("Factuurnummer"))
            elif len(invoicenumber) > MAX_INVOICENUMBER:
                outcome.add(("header", "invoicenumber"), errors.too_long("Factuurnummer", MAX_INVOICENUMBER))
            elif self._invoicenumber_taken(office.code, code, invoicenumber, existing):
                outcome.add(("header", "invoicenumber"), errors.invoice_duplicate(invoicenumber))
        elif journal:
            for i, p in enumerate(parsed):
                if p["type"] == "total":
                    outcome.add(("line", i), errors.TOTAL_LINE_NOT_ALLOWED)
        vat_lines = self.lines.vat_lines(office.code, parsed, day, attrs, outcome, self.settings.vat_tolerance)
        all_lines = parsed + vat_lines
        if all(p["signed"] is not None for p in all_lines) and journal:
            missing = sum((p["signed"] for p in all_lines), ZERO)
            if missing != 0:
                outcome.add((), errors.balance(missing, bool(office.reporting_currency)))
        try:
            duedate = self._duedate(office, code, header, day, all_lines)
        except BadValue as exc:  # a date so late that its due date would be past the calendar's end
            outcome.add(("header", "date"), str(exc))
            duedate = None
        if check_only or any(i.blocking for i in outcome.issues) or (raise_warnings and outcome.issues):
            if journal:  # the refusal is answered with what could be worked out (the slower path: no hurry)
                failed = {i.ref for i in outcome.issues if i.blocking}
                number = existing["number"] if existing else ((header.get("number") or "").strip() or None)
                # Without a readable date there is neither a due date nor a period worked out from it (the
                # fallback day stands in for the lines' VAT only).
                date_ok = ("header", "date") not in failed
                period_ok = ("header", "period") not in failed and (date_ok or bool((header.get("period") or "")
                                                                                     .strip()))
                outcome.draft = draft_record(
                    office.code, code, caller.user, header, lines, all_lines, day, date_ok, period, period_ok,
                    currency, duedate if date_ok else None, number, journal["kind"])
            return outcome
        if not raise_warnings:
            outcome.issues = []  # raisewarning="false": warnings are not reported
        outcome.record = self._store(caller, office, code, header, attrs, day, period, currency, duedate,
                                     all_lines, existing, now)
        return outcome

    @staticmethod
    def _duedate(office: OfficeInfo, code: str, header: dict, day: date, lines: list[dict]) -> str | None:
        """The due date sent, or for a sales booking the date plus the customer's payment term (30 days)."""
        duedate = (header.get("duedate") or "").strip() or None
        if (journal_of(office, code) or {}).get("kind") == "sales" and not duedate:
            total = next((p for p in lines if p["type"] == "total"), None)
            duedate = fmt_date(plus_days(day, due_days((total or {}).get("relation"))))
        return duedate

    def _date(self, header: dict, outcome: Outcome, now: datetime) -> date:
        raw = header.get("date")
        if raw is None or not raw.strip():
            return now.date()  # [CHOSEN] no date: today
        try:
            return parse_date(raw)
        except BadValue as exc:
            outcome.add(("header", "date"), str(exc))
            return now.date()

    def _period(self, header: dict, day: date, outcome: Outcome) -> str:
        raw = (header.get("period") or "").strip()
        if not raw:
            return period_of(day)
        try:
            year, month = parse_period(raw)
        except BadValue as exc:
            outcome.add(("header", "period"), str(exc))
            return period_of(day)
        if 1 <= month <= 12 and (year, month) != (day.year, day.month):
            outcome.add(("header", "date"), errors.date_outside_period(day.strftime("%d-%m-%Y"), raw), "warning")
        return f"{year}/{month:02d}"

    def _existing(self, office: str, code: str, header: dict, outcome: Outcome) -> dict | None:
        number = (header.get("number") or "").strip()
        if not number:
            return None
        found = self.get(office, code, number)
        if found is None:
            outcome.add(("header", "number"), errors.transaction_not_found(code, number))
        elif found["location"] != "temporary":
            outcome.add((), errors.NOT_CONCEPT)
        elif _is_matched(found):
            outcome.add((), errors.BOOKING_MATCHED)
        return found

    def _invoicenumber_taken(self, office: str, code: str, invoicenumber: str, existing: dict | None) -> bool:
        rows = self.store.query("SELECT id FROM tw_transactions WHERE office=? AND code=? AND invoicenumber=?",
                                (office, code, invoicenumber))
        return any(existing is None or row[0] != existing["id"] for row in rows)

    # -- storing ----------------------------------------------------------------------------------------

    def _store(self, caller: Caller, office: OfficeInfo, code: str, header: dict, attrs: dict, day: date,
               period: str, currency: str, duedate: str | None, lines: list[dict], existing: dict | None,
               now: datetime) -> dict:
        # [CHOSEN] no destiny: provisional (the safe side; Twinfield's documentation names both values only)
        location = "final" if (attrs.get("destiny") or "").lower() == "final" else "temporary"
        stamp = format_instant(now)
        invoicenumber = (header.get("invoicenumber") or "").strip() or None
        head = {"extras": header.get("extras") or [], "kind": (journal_of(office, code) or {}).get("kind")}
        header_json = json.dumps(head)
        rows = [_line_row(p, invoicenumber) for p in lines]
        with self.store.transaction() as db:
            if existing:
                txn_id, number = existing["id"], existing["number"]
                db.execute("DELETE FROM tw_lines WHERE txn=?", (txn_id,))
                db.execute("UPDATE tw_transactions SET location=?, date=?, period=?, invoicenumber=?, currency=?, "
                           "duedate=?, header=?, modified_at=? WHERE id=?",
                           (location, fmt_date(day), period, invoicenumber, currency, duedate, header_json,
                            stamp, txn_id))
            else:
                number = numbering.transaction_number(db, office.code, code, int(period[:4]))
                head_row = (office.code, code, number, location, fmt_date(day), period, invoicenumber, currency,
                            duedate, caller.user, header_json, "import", stamp, stamp)
                cur = db.execute(
                    "INSERT INTO tw_transactions (office, code, number, location, date, period, invoicenumber, "
                    "currency, duedate, user, header, origin, created_at, modified_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", head_row)
                txn_id = cur.lastrowid
            # all lines in one call: the loop over them runs in C
            db.executemany(
                "INSERT INTO tw_lines (txn, id, type, dim1, dim2, dim3, debitcredit, value, vatcode, vatvalue, "
                "vatturnover, description, invoicenumber, performancetype, performancecountry, "
                "performancevatnumber, performancedate, baseline, matchable, openvalue, matchstatus, extra) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [(txn_id, *row) for row in rows])
        if existing or not _as_stored(head_row, rows):
            return self.get(office.code, code, number)  # type: ignore[return-value]
        # A new booking is answered from what was just written, as the database gives it back (no read-back):
        # the columns in the table's order, the lines by id, JSON columns parsed.
        record = {"id": txn_id, **dict(zip(_HEAD_COLUMNS, head_row)), "header": json.loads(header_json)}
        record["lines"] = [{"txn": txn_id, **dict(zip(_LINE_COLUMNS, row)), "matchnumber": None, "matchdate": None,
                            "extra": json.loads(row[-1])} for row in sorted(rows, key=lambda r: r[0])]
        return record

    # -- reading ----------------------------------------------------------------------------------------

    def get(self, office: str, code: str, number: str) -> dict | None:
        rows = self.store.query_dicts("SELECT * FROM tw_transactions WHERE office=? AND code=? AND number=?",
                                      (office, code, number))
        return self._with_lines(rows[0]) if rows else None

    def _with_lines(self, row: dict) -> dict:
        row["header"] = json.loads(row["header"])
        lines = self.store.query_dicts("SELECT * FROM tw_lines WHERE txn=? ORDER BY id", (row["id"],))
        for line in lines:
            line["extra"] = json.loads(line["extra"])
        row["lines"] = lines
        return row

    def list(self, office: str | None = None, code: str | None = None, invoicenumber: str | None = None,
             location: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM tw_transactions WHERE 1=1", []
        for column, value in (("office", office), ("code", code), ("invoicenumber", invoicenumber),
                              ("location", location)):
            if value:
                sql += f" AND {column}=?"
                args.append(value)
        return [self._with_lines(r) for r in self.store.query_dicts(sql + " ORDER BY id", args)]

    def line(self, office: str, code: str, number: str, line_id: int) -> dict | None:
        rows = self.store.query_dicts(
            "SELECT l.*, t.office, t.code, t.number, t.location, t.date, t.invoicenumber AS head_invoicenumber "
            "FROM tw_lines l JOIN tw_transactions t ON t.id = l.txn "
            "WHERE t.office=? AND t.code=? AND t.number=? AND l.id=?", (office, code, number, line_id))
        return rows[0] if rows else None

    def delete(self, office: str, code: str, number: str) -> Outcome:
        outcome = Outcome()
        found = self.get(office, code, number)
        if found is None:
            outcome.add(("number",), errors.transaction_not_found(code, number))
        elif found["location"] != "temporary":
            outcome.add((), errors.NOT_CONCEPT)
        elif _is_matched(found):
            outcome.add((), errors.BOOKING_MATCHED)
        else:
            with self.store.transaction() as db:
                db.execute("DELETE FROM tw_transactions WHERE id=?", (found["id"],))
            outcome.record = found
        return outcome


# The columns of tw_transactions after ``id``, and of tw_lines between ``txn`` and ``matchnumber``, in the
# table's order (``SELECT *`` gives them so): ``matchnumber`` and ``matchdate`` follow, then ``extra``.
_HEAD_COLUMNS = ("office", "code", "number", "location", "date", "period", "invoicenumber", "currency", "duedate",
                 "user", "header", "origin", "created_at", "modified_at")
_LINE_COLUMNS = ("id", "type", "dim1", "dim2", "dim3", "debitcredit", "value", "vatcode", "vatvalue", "vatturnover",
                 "description", "invoicenumber", "performancetype", "performancecountry", "performancevatnumber",
                 "performancedate", "baseline", "matchable", "openvalue", "matchstatus")
# id, baseline and matchable are whole numbers (_as_stored checks these places), the rest text
_TEXT_TYPES, _INTEGER_TYPES = {str, type(None)}, {int, type(None)}


def _line_row(p: dict, invoicenumber: str | None) -> tuple:
    """A line as stored in tw_lines (without ``txn``; ``extra`` last)."""
    signed = p["signed"]
    return (int(p["id"]), p["type"], p["dim1"], p["dim2"], p["dim3"], p["debitcredit"], fmt(p["value"]), p["vatcode"],
            fmt(abs(p["line_vat"])) if p.get("line_vat") is not None else None,
            fmt(p["vatturnover"]) if p.get("vatturnover") is not None else None, p["description"],
            p["invoicenumber"] or (invoicenumber if p["type"] == "total" else None), p["performancetype"],
            p["performancecountry"], p["performancevatnumber"], p["performancedate"],
            int(p["baseline"]) if p.get("baseline") else None, int(bool(p["matchable"])),
            fmt(signed) if p["matchable"] else None, "available" if p["matchable"] else "notmatchable",
            json.dumps(p["extras"]))


def _as_stored(head_row: tuple, rows: list[tuple]) -> bool:
    """True when every value reads back exactly as written: text in text columns, whole numbers in integer
    ones (anything else, e.g. a number in a text column, SQLite converts: then the answer is read back)."""
    if not set(map(type, head_row)) <= _TEXT_TYPES:
        return False
    # (type checks by slices, mapped in C: this runs for every value of every new booking)
    return all({type(row[0]), type(row[16]), type(row[17])} <= _INTEGER_TYPES
               and set(map(type, row[1:16])) <= _TEXT_TYPES and set(map(type, row[18:])) <= _TEXT_TYPES
               for row in rows)


def _is_matched(txn: dict) -> bool:
    """[CHOSEN] a booking with a (partly) matched line is not changed or deleted: the match set and the
    other side of it would point at lines that are gone, and the other side would stay closed."""
    return any(line["matchnumber"] for line in txn["lines"])


def booking_view(txn: dict) -> dict:
    """A booking as the admin API and scenarios see it: header fields and its lines, amounts as text."""
    kind = txn["header"].get("kind") or "journal"
    return {
        "office": txn["office"], "code": txn["code"], "number": txn["number"], "location": txn["location"],
        "kind": "sales" if kind == "sales" else "memo",
        "date": txn["date"], "period": txn["period"], "invoicenumber": txn["invoicenumber"],
        "currency": txn["currency"], "duedate": txn["duedate"], "user": txn["user"], "created": txn["created_at"],
        "lines": [{"id": line["id"], "type": line["type"], "dim1": line["dim1"], "dim2": line["dim2"],
                   "debitcredit": line["debitcredit"], "value": line["value"], "vatcode": line["vatcode"],
                   "vatvalue": line["vatvalue"], "vatturnover": line["vatturnover"],
                   "description": line["description"], "invoicenumber": line["invoicenumber"],
                   "performancetype": line["performancetype"], "performancecountry": line["performancecountry"],
                   "performancevatnumber": line["performancevatnumber"], "openvalue": line["openvalue"],
                   "matchstatus": line["matchstatus"], "matchnumber": line["matchnumber"]}
                  for line in txn["lines"]],
    }
