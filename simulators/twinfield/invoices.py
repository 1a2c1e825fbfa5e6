"""Sales invoices (Twinfield's classic invoicing module): concept or final, numbered, with totals.

From murb/twinfield's and php-twinfield's fixtures: the response assigns ``invoicenumber`` (counting per
invoice type), completes the header (period ``2021/11`` - not zero padded -, due date, bank, address
numbers), gives each line ``valueexcl``/``vatvalue``/``valueinc``, and adds ``totals`` and ``vatlines``.
A final invoice is booked as a sales transaction; the response then names it in ``<financials>``.
A final invoice cannot be changed: "Kan geen factuur bijwerken die geen concept meer is."
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from ..core.clock import format_instant
from ..core.store import Store
from . import errors, numbering
from .directory import Caller, OfficeInfo
from .errors import Outcome
from .ledger import Ledger, due_days
from .money import (ZERO, BadValue, fmt, fmt_date, invoice_period_of, parse_date, parse_quantity, plus_days,
                    round_money, vat_of)
from .transactions import Transactions
from .vat import VatBook

TEXT_ARTICLE = "-"  # a line that only carries a description (murb fixture: article "-")
FREE_ARTICLE = "0"  # a one-off article: the line brings its own ledger account, VAT code and price
PAYMENT_METHODS = ("cash", "bank", "cheque", "cashondelivery", "da")
# [CHOSEN] a line's amount stays below 10^15, as an amount sent may (money.parse_amount): the booking of a
# final invoice takes it, and rounding a larger product to cents would leave Decimal's precision.
MAX_LINE_AMOUNT = Decimal(10) ** 15


class Invoices:
    def __init__(self, store: Store, ledger: Ledger, vat: VatBook, transactions: Transactions) -> None:
        self.store = store
        self.ledger = ledger
        self.vat = vat
        self.transactions = transactions

    def post(self, caller: Caller, office: OfficeInfo, given: dict, now: datetime) -> Outcome:
        outcome = Outcome()
        header, lines = given["header"], given["lines"]
        invoicetype = (header.get("invoicetype") or "").strip()
        header_problem = False
        if invoicetype not in office.invoice_types:
            outcome.add(("header", "invoicetype"), errors.INVOICE_TYPE_UNKNOWN)
            header_problem = True
        customer_code = (header.get("customer") or "").strip()
        customer = self.ledger.get(office.code, "DEB", customer_code) if customer_code else None
        if customer is None:
            outcome.add(("header", "customer"), errors.customer_unknown(customer_code or "(leeg)"))
            header_problem = True
        currency = (header.get("currency") or "").strip().upper() or "EUR"
        if currency != "EUR":
            outcome.add(("header", "currency"), errors.currency_unknown(currency))
            header_problem = True
        day = now.date()
        if (header.get("invoicedate") or "").strip():
            try:
                day = parse_date(header["invoicedate"])
            except BadValue as exc:
                outcome.add(("header", "invoicedate"), str(exc))
                header_problem = True
        duedate = ""
        if (header.get("duedate") or "").strip():
            try:
                duedate = fmt_date(parse_date(header["duedate"]))
            except BadValue as exc:
                outcome.add(("header", "duedate"), str(exc))
                header_problem = True
        else:
            try:
                duedate = fmt_date(plus_days(day, due_days(customer)))
            except BadValue as exc:  # an invoice date so late that its due date would be past the calendar's end
                outcome.add(("header", "invoicedate"), str(exc))
                header_problem = True
        status = (header.get("status") or "concept").strip().lower()
        if status not in ("concept", "final"):
            outcome.add(("header", "status"), f"Ongeldige status: {status}.")
            header_problem = True
        paymentmethod = (header.get("paymentmethod") or "").strip().lower() or "bank"
        if paymentmethod not in PAYMENT_METHODS:
            outcome.add(("header", "paymentmethod"), f"Ongeldige betaalwijze: {paymentmethod}.")
        number = (header.get("invoicenumber") or "").strip()
        existing = self.get(office.code, invoicetype, number) if number else None
        if existing and existing["status"] != "concept":
            outcome.add((), errors.INVOICE_NOT_CONCEPT)
            # answered with the invoice as it is, not the request (murb's ..._invoice_create_final_error.xml)
            outcome.draft = existing
            return outcome
        if header_problem:
            outcome.add(("header",), errors.INVOICE_HEADER_ERRORS)
        computed = [self._line(office.code, i, line, day, outcome) for i, line in enumerate(lines)]
        if any(i.blocking for i in outcome.issues):
            return outcome
        priced = [c for c in computed if c["priced"]]
        vatlines: dict[str, dict] = {}
        for c in priced:
            entry = vatlines.setdefault(c["vatcode"], {"vatcode": c["vatcode"], "name": c["vat"]["name"],
                                                       "shortname": c["vat"]["shortname"],
                                                       "percentage": str(c["percentage"]), "vatvalue": ZERO})
            entry["vatvalue"] += c["vatvalue"]
        totals = {"valueexcl": sum((c["valueexcl"] for c in priced), ZERO),
                  "valueinc": sum((c["valueinc"] for c in priced), ZERO)}
        record_header = {
            "office": office.code, "invoicetype": invoicetype, "invoicedate": fmt_date(day), "duedate": duedate,
            "bank": (header.get("bank") or "").strip() or "BNK", "customer": customer_code,
            "period": invoice_period_of(day), "currency": currency, "status": status,
            "paymentmethod": paymentmethod, "headertext": header.get("headertext") or "",
            "footertext": header.get("footertext") or "",
            "invoiceaddressnumber": (header.get("invoiceaddressnumber") or "").strip() or "1",
            "deliveraddressnumber": (header.get("deliveraddressnumber") or "").strip() or "1",
        }
        data = {"header": record_header, "lines": [_stored(c) for c in computed],
                "totals": {k: fmt(v) for k, v in totals.items()},
                "vatlines": [{**v, "vatvalue": fmt(v["vatvalue"])} for v in vatlines.values()],
                "raw_attrs": given.get("attrs") or {}}
        stamp = format_instant(now)
        try:
            number = self._save(caller, office, existing, number, invoicetype, status, customer, customer_code,
                                record_header, computed, data, stamp, now, outcome)
        except _Abandon:
            return outcome  # the booking of a final invoice failed: nothing was kept
        outcome.record = self.get(office.code, invoicetype, number)
        return outcome

    def _save(self, caller: Caller, office: OfficeInfo, existing: dict | None, number: str, invoicetype: str,
              status: str, customer: dict | None, customer_code: str, record_header: dict, computed: list[dict],
              data: dict, stamp: str, now: datetime, outcome: Outcome) -> str:
        with self.store.transaction() as db:
            if not number:
                number = numbering.invoice_number(db, office.code, invoicetype)
            record_header["invoicenumber"] = number
            financials = None
            if status == "final":
                booking = self._book(caller, office, record_header, computed, customer, now)
                if not booking.ok:
                    for issue in booking.issues:
                        outcome.add((), issue.msg, issue.kind)
                    raise _Abandon()
                financials = {"code": booking.record["code"], "number": booking.record["number"]}
            data["financials"] = financials
            if existing:
                db.execute("UPDATE tw_invoices SET status=?, customer=?, data=?, txn_code=?, txn_number=?, "
                           "modified_at=? WHERE id=?",
                           (status, customer_code, json.dumps(data), (financials or {}).get("code"),
                            (financials or {}).get("number"), stamp, existing["id"]))
            else:
                db.execute("INSERT INTO tw_invoices (office, invoicetype, invoicenumber, status, customer, data, "
                           "txn_code, txn_number, created_at, modified_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           (office.code, invoicetype, number, status, customer_code, json.dumps(data),
                            (financials or {}).get("code"), (financials or {}).get("number"), stamp, stamp))
        return number

    def _line(self, office: str, index: int, line: dict, day, outcome: Outcome) -> dict:
        ref = ("line", index)
        article_code = (line.get("article") or "").strip() or FREE_ARTICLE
        result = {"index": index, "id": (line.get("id") or "").strip() or str(index + 1), "article": article_code,
                  "description": line.get("description") or "", "priced": False, "given": line}
        if article_code == TEXT_ARTICLE:
            return result
        article = None
        if article_code != FREE_ARTICLE:  # [CHOSEN] other articles come from the admin API / config
            rows = self.store.query("SELECT data FROM tw_articles WHERE office=? AND code=?", (office, article_code))
            if not rows:
                outcome.add(ref + ("article",), errors.article_unknown(article_code))
                return result
            article = json.loads(rows[0][0])
        defaults = article or {}
        dim1 = (line.get("dim1") or "").strip() or defaults.get("dim1", "")
        vatcode = (line.get("vatcode") or "").strip() or defaults.get("vatcode", "")
        if not dim1:
            outcome.add(ref + ("dim1",), errors.required("Grootboekrekening"))
        elif self.ledger.find(office, dim1, 1) is None:
            outcome.add(ref + ("dim1",), errors.ledger_unknown(dim1))
        vat = self.vat.get(office, vatcode) if vatcode else None
        in_force = VatBook.in_force(vat, day) if vat else None
        if not vatcode:
            outcome.add(ref + ("vatcode",), errors.required("Btw-code"))
        elif vat is None or in_force is None:
            outcome.add(ref + ("vatcode",), errors.vat_unknown(vatcode))
        elif vat["type"] != "sales":
            outcome.add(ref + ("vatcode",), errors.vat_wrong_type(vatcode, "sales"))
        try:
            quantity = parse_quantity(line.get("quantity"))
            units = parse_quantity(line.get("units"))
            price_text = (line.get("unitspriceexcl") or "").strip() or defaults.get("unitspriceexcl", "")
            price = parse_quantity(price_text) if price_text else None
        except BadValue as exc:
            outcome.add(ref, str(exc))
            return result
        if price is None:
            outcome.add(ref + ("unitspriceexcl",), errors.required("Prijs"))
            return result
        if in_force is None or vat is None:
            return result
        percentage = Decimal(in_force["percentage"])
        product = quantity * units * price  # [CHOSEN] units multiply, as quantity does
        if abs(product) >= MAX_LINE_AMOUNT:
            outcome.add(ref, errors.LINE_AMOUNT_TOO_LARGE)
            return result
        valueexcl = round_money(product)
        vatvalue = vat_of(valueexcl, percentage)
        result.update({"priced": True, "dim1": dim1, "vatcode": vatcode, "vat": vat, "percentage": percentage,
                       "quantity": quantity, "units": units, "unitspriceexcl": price, "valueexcl": valueexcl,
                       "vatvalue": vatvalue, "valueinc": valueexcl + vatvalue,
                       "subarticle": (line.get("subarticle") or "").strip() or defaults.get("subarticle", ""),
                       "description": line.get("description") or defaults.get("name", ""),
                       "performancetype": line.get("performancetype") or "",
                       "performancedate": line.get("performancedate") or ""})
        return result

    def _book(self, caller: Caller, office: OfficeInfo, header: dict, computed: list[dict], customer: dict,
              now: datetime) -> Outcome:
        """A final invoice becomes a final sales transaction (journal VRK) on the customer."""
        control = (customer["data"].get("financials") or {}).get("substitutewith") or "1300"
        total = sum((c["valueinc"] for c in computed if c["priced"]), ZERO)
        lines = [{"type": "total", "id": "1", "dim1": control, "dim2": customer["code"],
                  "debitcredit": "debit" if total >= 0 else "credit", "value": fmt(abs(total))}]
        for c in computed:
            if c["priced"]:
                lines.append({"type": "detail", "id": str(len(lines) + 1), "dim1": c["dim1"],
                              "debitcredit": "credit" if c["valueexcl"] >= 0 else "debit",
                              "value": fmt(abs(c["valueexcl"])), "vatcode": c["vatcode"],
                              "vatvalue": fmt(abs(c["vatvalue"])), "description": (c["description"] or "")[:40]})
        given = {"attrs": {"destiny": "final", "raisewarning": "false"},
                 "header": {"office": office.code, "code": sales_journal(office), "date": header["invoicedate"],
                            "invoicenumber": header["invoicenumber"], "currency": header["currency"],
                            "duedate": header["duedate"]},
                 "lines": lines}
        return self.transactions.post(caller, office, given, now)

    def get(self, office: str, invoicetype: str, number: str) -> dict | None:
        rows = self.store.query_dicts("SELECT * FROM tw_invoices WHERE office=? AND invoicetype=? AND "
                                      "invoicenumber=?", (office, invoicetype, number))
        if not rows:
            return None
        row = rows[0]
        row["data"] = json.loads(row["data"])
        return row

    def list(self, office: str | None = None) -> list[dict]:
        sql, args = "SELECT office, invoicetype, invoicenumber FROM tw_invoices", []
        if office:
            sql, args = sql + " WHERE office=?", [office]
        return [self.get(*row) for row in self.store.query(sql + " ORDER BY id", args)]  # type: ignore[misc]


def sales_journal(office: OfficeInfo) -> str:
    """The journal a final invoice is booked on: VRK when the office has it, else its first sales journal."""
    sales = [code for code, kind in office.journals.items() if kind == "sales"]
    return "VRK" if "VRK" in sales else (sales[0] if sales else "VRK")


class _Abandon(Exception):
    """Rolls back an invoice whose booking failed (raised inside the store transaction)."""


def _stored(c: dict) -> dict:
    if not c["priced"]:
        return {"id": c["id"], "article": c["article"], "description": c["description"]}
    return {"id": c["id"], "article": c["article"], "subarticle": c["subarticle"], "quantity": _num(c["quantity"]),
            "units": _num(c["units"]), "allowdiscountorpremium": "true", "description": c["description"],
            "unitspriceexcl": fmt(c["unitspriceexcl"]), "dim1": c["dim1"], "vatcode": c["vatcode"],
            "vatname": c["vat"]["name"], "vatshortname": c["vat"]["shortname"],
            "valueexcl": fmt(c["valueexcl"]), "vatvalue": fmt(c["vatvalue"]), "valueinc": fmt(c["valueinc"]),
            "performancetype": c["performancetype"], "performancedate": c["performancedate"]}


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def invoice_view(inv: dict) -> dict:
    data = inv["data"]
    return {"office": inv["office"], "invoicetype": inv["invoicetype"], "invoicenumber": inv["invoicenumber"],
            "status": inv["status"], "customer": inv["customer"], "header": data["header"], "lines": data["lines"],
            "totals": data["totals"], "vatlines": data["vatlines"], "financials": data.get("financials")}
