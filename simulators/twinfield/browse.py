"""Browse data (``<columns code="100">``): transaction lines as rows of the columns asked for.

The response shape is the real one (murb ``cluster_processxml_columns_sales_transactions.xml``, php-twinfield
``browseDataGetResponse.xml``): ``<browse result="1" first="1" last="N" total="N">``, a ``<th>`` naming
each visible column with its label and type, and one ``<tr>`` per line with a ``<td field=…>`` per column
and a ``<key>`` (office, code, number, line).

Browse codes: 000 general ledger transactions (every line), 100 customer transactions (lines on a
customer: the open items, "Debiteurenkaart"), 200 supplier transactions, 900 cost centre transactions.
Filters: ``operator`` equal / between (``from``, ``to``; empty = open) / none; ``fin.trs.head.status``
``normal`` means provisional and final.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Callable, Sequence

from ..core.store import Store
from .ledger import Ledger
from .money import plain_number
from .transactions import KIND_NAMES

BROWSE_CODES = {"000": None, "100": "DEB", "200": "CRD", "900": "KPL"}
BROWSE_NAMES = {"000": "Grootboekkaart", "100": "Debiteurenkaart", "200": "Crediteurenkaart",
                "900": "Kostenplaatskaart"}

# field -> (type as the browse result names it, how to get the value from a row)
_FIELDS: dict[str, tuple[str, Callable[[dict], Any]]] = {
    "fin.trs.head.office": ("String", lambda r: r["office"]),
    "fin.trs.head.code": ("String", lambda r: r["code"]),
    "fin.trs.head.shortname": ("String", lambda r: KIND_NAMES.get(r["kind"], (r["code"], r["code"]))[1]),
    "fin.trs.head.number": ("Decimal", lambda r: r["number"]),
    "fin.trs.head.date": ("Decimal", lambda r: r["date"]),
    "fin.trs.head.yearperiod": ("String", lambda r: r["period"]),
    "fin.trs.head.curcode": ("String", lambda r: r["currency"]),
    "fin.trs.head.status": ("String", lambda r: r["location"]),
    "fin.trs.head.modified": ("String", lambda r: r["modified"]),
    "fin.trs.head.user": ("String", lambda r: r["user"]),
    "fin.trs.line.dim1": ("String", lambda r: r["dim1"]),
    "fin.trs.line.dim1name": ("String", lambda r: r["dim1name"]),
    "fin.trs.line.dim2": ("String", lambda r: r["dim2"] or ""),
    "fin.trs.line.dim2name": ("String", lambda r: r["dim2name"]),
    "fin.trs.line.description": ("String", lambda r: r["description"] or ""),
    "fin.trs.line.invnumber": ("String", lambda r: r["invnumber"] or ""),
    "fin.trs.line.debitcredit": ("String", lambda r: r["debitcredit"]),
    "fin.trs.line.valuesigned": ("Value", lambda r: r["signed"]),
    "fin.trs.line.basevaluesigned": ("Value", lambda r: r["signed"]),
    "fin.trs.line.repvaluesigned": ("Value", lambda r: r["signed"]),
    "fin.trs.line.openvaluesigned": ("Value", lambda r: r["open"]),
    "fin.trs.line.openbasevaluesigned": ("Value", lambda r: r["open"]),
    "fin.trs.line.vatcode": ("String", lambda r: r["vatcode"] or ""),
    "fin.trs.line.matchstatus": ("String", lambda r: r["matchstatus"]),
    "fin.trs.line.matchnumber": ("String", lambda r: r["matchnumber"] or ""),
    "fin.trs.line.matchdate": ("Decimal", lambda r: r["matchdate"] or ""),
    "fin.trs.line.datedue": ("Decimal", lambda r: r["duedate"] or ""),
    "fin.trs.line.availableforpayruns": ("String", lambda r: "true" if r["matchstatus"] == "available" else "false"),
    "fin.trs.line.modified": ("String", lambda r: r["modified"]),
}
# Some cells carry a display name as the real ones do (name="Ja", name="Beschikbaar").
_DISPLAY = {"fin.trs.line.availableforpayruns": {"true": "Ja", "false": "Nee"},
            "fin.trs.line.matchstatus": {"available": "Beschikbaar", "matched": "Afgeletterd",
                                         "notmatchable": "Niet afletterbaar", "proposed": "Voorgesteld"}}


def field_type(field: str) -> str:
    return _FIELDS.get(field, ("String", None))[0]


def cell(row: dict, field: str) -> tuple[str, str | None]:
    """The text of one cell, and its display name where the field has one."""
    getter = _FIELDS.get(field, (None, lambda r: ""))[1]
    value = getter(row)
    text = "" if value is None else str(value)
    return text, _DISPLAY.get(field, {}).get(text)


class Browser:
    def __init__(self, store: Store, ledger: Ledger) -> None:
        self.store = store
        self.ledger = ledger

    def rows(self, office: str, code: str, columns: Sequence[dict] = ()) -> list[dict]:
        """The office's lines as rows of browse ``code``. ``columns``' ``equal`` filters on a few text fields
        are applied in SQL already (the caller still applies every filter): a look-up by invoice number
        must not make a row of every line of the office (it did: a koppeling's run over 1,000 orders spent
        nearly all its time here)."""
        level2 = BROWSE_CODES[code]
        where, args = ["t.office=?"], [office]
        for column in columns:
            sql = _EQUAL_IN_SQL.get(column.get("field") or "")
            low = (column.get("from") or "").strip()
            # (the operator read exactly as ``matches`` reads it: what it takes for no filter is no filter here)
            if sql and (column.get("operator") or "none").lower() == "equal" and low and "$DEFAULT$" not in (
                    low, (column.get("to") or "").strip()):
                where.append(sql)
                args.append(low)
        raw = self.store.query_dicts(
            "SELECT t.office, t.code, t.number, t.date, t.period, t.currency, t.location, t.modified_at, t.user, "
            "t.duedate, t.header, t.invoicenumber AS head_inv, l.* FROM tw_lines l JOIN tw_transactions t ON t.id = l.txn "
            f"WHERE {' AND '.join(where)} ORDER BY t.code, t.number, l.id", args)
        rows = []
        for r in raw:
            relation = self.ledger.find(office, r["dim2"], 2) if r["dim2"] else None
            if level2 and (relation is None or relation["type"] != level2):
                continue
            account = self.ledger.find(office, r["dim1"], 1)
            signed = Decimal(r["value"]) * (1 if r["debitcredit"] == "debit" else -1)
            rows.append({**r, "signed": f"{signed:.2f}", "kind": json.loads(r["header"]).get("kind"), "open": r["openvalue"] if r["matchable"] else "0.00",
                         "invnumber": r["invoicenumber"] or r["head_inv"],
                         "dim1name": account["name"] if account else "",
                         "dim2name": relation["name"] if relation else "",
                         "modified": r["modified_at"].replace("-", "").replace(":", "").replace("T", "")[:14]})
        return rows


# Text fields whose cell is exactly this SQL expression (see _FIELDS): an ``equal`` filter on them selects the
# same rows in SQL as ``matches`` does afterwards.
_EQUAL_IN_SQL = {"fin.trs.head.code": "t.code = ?", "fin.trs.line.dim2": "l.dim2 = ?",
                 "fin.trs.line.invnumber": "COALESCE(NULLIF(l.invoicenumber, ''), t.invoicenumber) = ?"}


def matches(row: dict, column: dict) -> bool:
    """Does a row pass one column's filter (operator, from, to)?"""
    operator = (column.get("operator") or "none").lower()
    low, high = (column.get("from") or "").strip(), (column.get("to") or "").strip()
    if operator == "none" or (not low and not high) or "$DEFAULT$" in (low, high):
        return True
    field = column["field"]
    value, _ = cell(row, field)
    if field == "fin.trs.head.status":
        wanted = {"normal": ("temporary", "final"), "temporary": ("temporary",), "final": ("final",),
                  "draft": ()}.get(low, (low,))
        return value in wanted
    if field == "fin.trs.head.office":
        return True  # the office was applied when the rows were read
    if operator == "equal":
        return _compare(field, value, low) == 0
    if operator == "between":
        return (not low or _compare(field, value, low) >= 0) and (not high or _compare(field, value, high) <= 0)
    return True


def _compare(field: str, value: str, bound: str) -> int:
    if field_type(field) in ("Value", "Decimal"):
        a, b = plain_number(value or "0"), plain_number(bound)  # ASCII digits only: Decimal() reads more
        if a is not None and b is not None:
            return (a > b) - (a < b)
    if field == "fin.trs.head.yearperiod":
        value, bound = _period_key(value), _period_key(bound)
    return (value > bound) - (value < bound)


def _period_key(text: str) -> str:
    year, _, month = text.partition("/")
    return f"{year}/{int(month):02d}" if re.fullmatch(r"[0-9]{1,2}", month) else text
