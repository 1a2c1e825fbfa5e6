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
database transaction: a booking is either there with all its lines, or not at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from stdnum.eu import vat as eu_vat

from ..core.clock import format_instant
from ..core.store import Store
from . import errors, numbering
from .directory import Caller, OfficeInfo
from .errors import Outcome
from .ledger import Ledger
from .money import (ZERO, BadValue, fmt, fmt_date, parse_amount, parse_date, parse_period, period_of, plus_days,
                    vat_of)
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
EU_COUNTRIES = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "GR", "ES", "FI", "FR", "HR", "HU", "IE",
                "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI"}
MAX_DESCRIPTION = 40  # [CHOSEN] Twinfield's line description field; seed 003's koppeling keeps it to 35
MAX_INVOICENUMBER = 40  # seed 003: the koppeling keeps invoice numbers to 40 characters
# [CHOSEN] a line id is a number (every public request and response numbers its lines 1, 2, 3, ...);
# nine digits at most, so it always fits the stored integer.
LINE_ID = re.compile(r"[0-9]{1,9}")
# "baseline: Only if line type is vat. Value of the baseline tag is a reference to the line ID of the VAT
# rate" (php-twinfield's field documentation): the VAT code's account line, <account id="1"> in every
# VAT code here; the recorded sales and purchase transactions both answer <baseline>1</baseline>.
VAT_RATE_LINE = "1"
LINE_FIELDS = ("dim1", "dim2", "dim3", "debitcredit", "value", "vatcode", "vatvalue", "description",
               "invoicenumber", "performancetype", "performancecountry", "performancevatnumber", "performancedate")


@dataclass
class Settings:
    vat_tolerance: Decimal


class Transactions:
    def __init__(self, store: Store, ledger: Ledger, vat: VatBook, settings: Settings) -> None:
        self.store = store
        self.ledger = ledger
        self.vat = vat
        self.settings = settings

    # -- posting ----------------------------------------------------------------------------------------

    def post(self, caller: Caller, office: OfficeInfo | None, given: dict, now: datetime) -> Outcome:
        """``given``: {attrs, header, lines}, every value the text that was sent (or None)."""
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
        parsed = [self._line(office.code, i, line, day, journal, outcome) for i, line in enumerate(lines)]
        self._check_line_ids(parsed, outcome)
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
        vat_lines = self._vat_lines(office.code, parsed, day, attrs, outcome)
        all_lines = parsed + vat_lines
        if all(p["signed"] is not None for p in all_lines) and journal:
            missing = sum((p["signed"] for p in all_lines), ZERO)
            if missing != 0:
                outcome.add((), errors.balance(missing, bool(office.reporting_currency)))
        if not any(i.blocking for i in outcome.issues) and not (raise_warnings and outcome.issues):
            if not raise_warnings:
                outcome.issues = []  # raisewarning="false": warnings are not reported
            outcome.record = self._store(caller, office, code, header, attrs, day, period, currency, all_lines,
                                         existing, now)
        return outcome

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

    @staticmethod
    def _check_line_ids(parsed: list[dict], outcome: Outcome) -> None:
        seen: set[int] = set()
        for p in parsed:
            if not p["id_ok"]:
                continue  # already refused as not a number
            if int(p["id"]) in seen:
                outcome.add(("line", p["index"]), errors.line_id_twice(p["id"]))
            seen.add(int(p["id"]))

    def _invoicenumber_taken(self, office: str, code: str, invoicenumber: str, existing: dict | None) -> bool:
        rows = self.store.query("SELECT id FROM tw_transactions WHERE office=? AND code=? AND invoicenumber=?",
                                (office, code, invoicenumber))
        return any(existing is None or row[0] != existing["id"] for row in rows)

    def _line(self, office: str, index: int, line: dict, day: date, journal: dict | None,
              outcome: Outcome) -> dict:
        ref = ("line", index)
        given_id = (line.get("id") or "").strip()
        id_ok = not given_id or LINE_ID.fullmatch(given_id) is not None
        if not id_ok:
            outcome.add(ref, errors.line_id_invalid(given_id))
        parsed: dict[str, Any] = {"index": index, "id": given_id if given_id and id_ok else str(index + 1),
                                  "id_ok": id_ok, "type": (line.get("type") or "detail").strip().lower(),
                                  "signed": None, "extras": line.get("extras") or []}
        for name in LINE_FIELDS:
            parsed[name] = (line.get(name) or "").strip() or None
        if parsed["type"] not in ("total", "detail", "vat"):
            outcome.add(ref, f"Ongeldig regeltype: {parsed['type']}.")
        side = (parsed["debitcredit"] or "").lower()
        if side not in ("debit", "credit"):
            outcome.add(ref + ("debitcredit",), "Debet/credit moet debit of credit zijn.")
        parsed["debitcredit"] = side or "debit"
        try:
            value = parse_amount(line.get("value"))
            parsed["value"] = value
            parsed["signed"] = value if parsed["debitcredit"] == "debit" else -value
        except BadValue as exc:
            outcome.add(ref + ("value",), str(exc))
        account = self.ledger.find(office, parsed["dim1"], 1)
        parsed["account"] = account
        if not parsed["dim1"]:
            outcome.add(ref + ("dim1",), errors.required("Grootboekrekening"))
        elif account is None:
            outcome.add(ref + ("dim1",), errors.ledger_unknown(parsed["dim1"]))
        relation = self.ledger.find(office, parsed["dim2"], 2)
        parsed["relation"] = relation
        if parsed["dim2"] and relation is None:
            outcome.add(ref + ("dim2",), errors.dimension_unknown(parsed["dim2"]))
        control = bool(account and account["data"].get("matchtype") == "customersupplier")
        parsed["matchable"] = control and relation is not None and relation["type"] in ("DEB", "CRD")
        if control and not parsed["dim2"]:
            outcome.add(ref + ("dim2",), errors.control_account_needs_customer(parsed["dim1"]))
        if journal and journal["kind"] == "sales" and parsed["type"] == "total":
            if account is not None and not control:
                outcome.add(ref + ("dim1",), errors.not_a_control_account(parsed["dim1"]))
            if relation is not None and relation["type"] != "DEB":
                outcome.add(ref + ("dim2",), errors.customer_unknown(parsed["dim2"]))
        if parsed["description"] and len(parsed["description"]) > MAX_DESCRIPTION:
            outcome.add(ref + ("description",), errors.too_long("Omschrijving", MAX_DESCRIPTION))
        if parsed["invoicenumber"] and len(parsed["invoicenumber"]) > MAX_INVOICENUMBER:
            outcome.add(ref + ("invoicenumber",), errors.too_long("Factuurnummer", MAX_INVOICENUMBER))
        parsed["vat"] = None
        if parsed["vatcode"] and parsed["type"] in ("detail", "vat"):
            vat = self.vat.get(office, parsed["vatcode"])
            in_force = VatBook.in_force(vat, day) if vat else None
            if vat is None or in_force is None:
                outcome.add(ref + ("vatcode",), errors.vat_unknown(parsed["vatcode"]))
            elif journal and journal["kind"] == "sales" and vat["type"] != "sales":
                outcome.add(ref + ("vatcode",), errors.vat_wrong_type(parsed["vatcode"], "sales"))
            else:
                parsed["vat"] = (vat, in_force)
                if vat["icp"]:
                    self._check_icp(ref, parsed, outcome)
        parsed["given_vat"] = None
        if line.get("vatvalue") not in (None, "") and parsed["type"] == "detail":
            try:
                parsed["given_vat"] = parse_amount(line.get("vatvalue"))
            except BadValue as exc:
                outcome.add(ref + ("vatvalue",), str(exc))
        return parsed

    @staticmethod
    def _check_icp(ref: tuple, parsed: dict, outcome: Outcome) -> None:
        kind = (parsed["performancetype"] or "").lower()
        if not kind:
            outcome.add(ref + ("performancetype",), errors.PERFORMANCE_TYPE_REQUIRED)
        elif kind not in ("goods", "services"):
            outcome.add(ref + ("performancetype",), errors.PERFORMANCE_TYPE_INVALID)
        country = (parsed["performancecountry"] or "").upper()
        if not country:
            outcome.add(ref + ("performancecountry",), errors.PERFORMANCE_COUNTRY_REQUIRED)
        elif country not in EU_COUNTRIES or country == "NL":
            outcome.add(ref + ("performancecountry",), errors.performance_country_invalid(country))
        number = (parsed["performancevatnumber"] or "").replace(" ", "").upper()
        if not number:
            outcome.add(ref + ("performancevatnumber",), errors.PERFORMANCE_VATNUMBER_REQUIRED)
        else:
            prefixed = number if number[:2].isalpha() else (("EL" if country == "GR" else country) + number)
            # The number must be one of the performance country's own (Greece's numbers start with EL)
            own = {country, "EL"} if country in ("GR", "EL") else {country}
            if not eu_vat.is_valid(prefixed) or (country and prefixed[:2] not in own):
                outcome.add(ref + ("performancevatnumber",), errors.performance_vatnumber_invalid(number))
        if kind == "services" and not parsed["performancedate"]:
            outcome.add(ref + ("performancedate",), errors.PERFORMANCE_DATE_REQUIRED)

    def _vat_lines(self, office: str, parsed: list[dict], day: date, attrs: dict, outcome: Outcome) -> list[dict]:
        """The VAT lines: the ones sent, or one per VAT code (and ICP performance) computed from the details."""
        sent = [p for p in parsed if p["type"] == "vat"]
        groups: dict[tuple, dict] = {}
        for p in parsed:
            if p["type"] != "detail" or not p["vat"] or p["signed"] is None:
                continue
            vat, in_force = p["vat"]
            computed = vat_of(p["signed"], Decimal(in_force["percentage"]))
            line_vat = computed
            if p["given_vat"] is not None:
                line_vat = p["given_vat"] if p["signed"] >= 0 else -p["given_vat"]
                if abs(line_vat - computed) > self.settings.vat_tolerance:
                    outcome.add(("line", p["index"], "vatvalue"), errors.vat_differs(p["given_vat"], abs(computed)),
                                "warning")
            p["line_vat"] = line_vat
            key = (vat["code"], p["performancetype"], p["performancecountry"], p["performancevatnumber"],
                   p["performancedate"])
            group = groups.setdefault(key, {"vat": vat, "pct": in_force, "vat_signed": ZERO, "turnover": ZERO,
                                            "baseline": VAT_RATE_LINE, "perf": key[1:]})
            group["vat_signed"] += line_vat
            group["turnover"] += p["signed"]
        if sent:
            for p in sent:  # VAT lines as sent: only their turnover is added
                turnover = sum((g["turnover"] for k, g in groups.items() if k[0] == p["vatcode"]), ZERO)
                p["vatturnover"] = abs(turnover)
                if p["vat"] and not p["dim1"]:
                    p["dim1"] = p["vat"][1]["account"]
            return []
        next_id = max((int(p["id"]) for p in parsed), default=0) + 1
        made = []
        for group in groups.values():
            signed = group["vat_signed"]
            made.append({"index": None, "id": str(next_id), "type": "vat", "dim1": group["pct"]["account"],
                         "dim2": None, "dim3": None, "debitcredit": "debit" if signed > 0 else "credit",
                         "value": abs(signed), "signed": signed, "vatcode": group["vat"]["code"],
                         "vatvalue": None, "vatturnover": abs(group["turnover"]), "description": None,
                         "invoicenumber": None, "performancetype": group["perf"][0],
                         "performancecountry": group["perf"][1], "performancevatnumber": group["perf"][2],
                         "performancedate": group["perf"][3], "baseline": group["baseline"], "matchable": False,
                         "extras": [], "vat": (group["vat"], group["pct"]), "computed": True})
            next_id += 1
        if (attrs.get("autobalancevat") or "").lower() == "true" and made:
            total = sum((p["signed"] for p in parsed if p["signed"] is not None), ZERO) + \
                sum((m["signed"] for m in made), ZERO)
            if 0 < abs(total) <= Decimal("0.02"):
                largest = max(made, key=lambda m: m["value"])
                largest["signed"] -= total
                largest["value"] = abs(largest["signed"])
                largest["debitcredit"] = "debit" if largest["signed"] > 0 else "credit"
        return made

    # -- storing ----------------------------------------------------------------------------------------

    def _store(self, caller: Caller, office: OfficeInfo, code: str, header: dict, attrs: dict, day: date,
               period: str, currency: str, lines: list[dict], existing: dict | None, now: datetime) -> dict:
        # [CHOSEN] no destiny: provisional (the safe side; Twinfield's documentation names both values only)
        location = "final" if (attrs.get("destiny") or "").lower() == "final" else "temporary"
        stamp = format_instant(now)
        invoicenumber = (header.get("invoicenumber") or "").strip() or None
        duedate = (header.get("duedate") or "").strip() or None
        if (journal_of(office, code) or {}).get("kind") == "sales" and not duedate:
            total = next((p for p in lines if p["type"] == "total"), None)
            days = int(((total or {}).get("relation") or {}).get("data", {}).get("financials", {}).get("duedays")
                       or 30)
            duedate = fmt_date(plus_days(day, days))
        head = {"extras": header.get("extras") or [], "kind": (journal_of(office, code) or {}).get("kind")}
        with self.store.transaction() as db:
            if existing:
                txn_id, number = existing["id"], existing["number"]
                db.execute("DELETE FROM tw_lines WHERE txn=?", (txn_id,))
                db.execute("UPDATE tw_transactions SET location=?, date=?, period=?, invoicenumber=?, currency=?, "
                           "duedate=?, header=?, modified_at=? WHERE id=?",
                           (location, fmt_date(day), period, invoicenumber, currency, duedate, json.dumps(head),
                            stamp, txn_id))
            else:
                number = numbering.transaction_number(db, office.code, code, int(period[:4]))
                cur = db.execute(
                    "INSERT INTO tw_transactions (office, code, number, location, date, period, invoicenumber, "
                    "currency, duedate, user, header, origin, created_at, modified_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (office.code, code, number, location, fmt_date(day), period, invoicenumber, currency, duedate,
                     caller.user, json.dumps(head), "import", stamp, stamp))
                txn_id = cur.lastrowid
            for p in lines:
                signed = p["signed"]
                db.execute(
                    "INSERT INTO tw_lines (txn, id, type, dim1, dim2, dim3, debitcredit, value, vatcode, vatvalue, "
                    "vatturnover, description, invoicenumber, performancetype, performancecountry, "
                    "performancevatnumber, performancedate, baseline, matchable, openvalue, matchstatus, extra) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (txn_id, int(p["id"]), p["type"], p["dim1"],
                     p["dim2"], p["dim3"], p["debitcredit"], fmt(p["value"]), p["vatcode"],
                     fmt(abs(p["line_vat"])) if p.get("line_vat") is not None else None,
                     fmt(p["vatturnover"]) if p.get("vatturnover") is not None else None, p["description"],
                     p["invoicenumber"] or (invoicenumber if p["type"] == "total" else None), p["performancetype"],
                     p["performancecountry"], p["performancevatnumber"], p["performancedate"],
                     int(p["baseline"]) if p.get("baseline") else None, int(bool(p["matchable"])),
                     fmt(signed) if p["matchable"] else None,
                     "available" if p["matchable"] else "notmatchable", json.dumps(p["extras"])))
        return self.get(office.code, code, number)  # type: ignore[return-value]

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
