"""Matching (afletteren): open items that cancel each other out are closed together.

A ``<match><set>`` names its lines by journal, number and line (``transcode``, ``transnumber``,
``transline``), optionally with a ``matchvalue`` (signed, debit positive; default: what is still open).
The set must add up to zero (php-twinfield's single-matchset.xml: 5.26 against -5.26); every line's open
value goes down by its match value and becomes ``matched`` at zero. Provisional (concept) bookings can be
matched - the fixture matches a ``temporary`` sales booking, and seed 003's koppeling relies on it.
[CHOSEN] lines of different customers may be matched together (the fixture's set does so).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from ..core.clock import format_instant
from ..core.store import Store
from . import errors, numbering
from .errors import Outcome
from .money import ZERO, BadValue, fmt, fmt_date, parse_amount, parse_date
from .transaction_lines import LINE_ID
from .transactions import Transactions

# Twinfield's match codes: 170 customers ("Debiteuren afletteren"), 270 suppliers. [CHOSEN] only these.
MATCHCODES = {"170": "Debiteuren afletteren", "270": "Crediteuren afletteren"}


class Matching:
    def __init__(self, store: Store, transactions: Transactions) -> None:
        self.store = store
        self.transactions = transactions

    def match(self, office: str, given: dict, now: datetime) -> Outcome:
        outcome = Outcome()
        matchcode = (given.get("matchcode") or "").strip()
        if matchcode not in MATCHCODES:
            outcome.add(("matchcode",), errors.matchcode_unknown(matchcode or "(leeg)"))
        day = now.date()
        if (given.get("matchdate") or "").strip():
            try:
                day = parse_date(given["matchdate"])
            except BadValue as exc:
                outcome.add(("matchdate",), str(exc))
        found = []
        named: set[tuple] = set()
        seen: list[dict | None] = []  # per line sent: the booking line it names, as far as it was found
        for i, wanted in enumerate(given.get("lines") or []):
            ref = ("line", i)
            number = (wanted.get("transnumber") or "").strip()
            # a line number as a line id is one (nine ASCII digits at most: it fits the stored integer)
            transline = (wanted.get("transline") or "").strip()
            line_no = int(transline) if LINE_ID.fullmatch(transline) else -1
            line = self.transactions.line(office, (wanted.get("transcode") or "").strip().upper(), number, line_no)
            seen.append(None if line is None else {**line, "matchvalue": (wanted.get("matchvalue") or "").strip()
                                                   or line["openvalue"], "index": i})
            if line is None:
                outcome.add(ref, errors.LINE_NOT_FOUND)
                continue
            # Every value below is read before anything is written: a line named twice would have its
            # open value spent twice (an invoice of 121.00 closing a payment of 242.00).
            if (line["txn"], line["id"]) in named:
                outcome.add(ref, errors.LINE_TWICE_IN_SET)
                continue
            named.add((line["txn"], line["id"]))
            if not line["matchable"]:
                outcome.add(ref, errors.LINE_NOT_MATCHABLE)
                continue
            open_value = Decimal(line["openvalue"])
            if open_value == 0:
                outcome.add(ref, errors.LINE_ALREADY_MATCHED)
                continue
            value = open_value
            if (wanted.get("matchvalue") or "").strip():
                try:
                    value = parse_amount(wanted["matchvalue"])
                except BadValue as exc:
                    outcome.add(ref + ("matchvalue",), str(exc))
                    continue
                if value == 0 or (value > 0) != (open_value > 0) or abs(value) > abs(open_value):
                    outcome.add(ref + ("matchvalue",), errors.MATCH_TOO_LARGE)
                    continue
            found.append((i, line, value))
        if len(found) < 2 and not outcome.issues:
            outcome.add((), errors.LINE_NOT_FOUND if not found else errors.match_not_zero(found[0][2]))
        total = sum((value for _, _, value in found), ZERO)
        if not outcome.issues and total != 0:
            outcome.add((), errors.match_not_zero(total))
        if outcome.issues:
            # The answer shows every line that was found worked out, the others as sent (php-twinfield's
            # single-matchset.xml, its second set): the set as far as it got, not matched, so no match number.
            values = {i: value for i, _, value in found}
            outcome.draft = {"office": office, "matchcode": matchcode, "matchcode_name": MATCHCODES.get(matchcode),
                             "matchdate": fmt_date(day) if ("matchdate",) not in {i.ref for i in outcome.issues}
                             else given.get("matchdate"), "matchnumber": None, "value": fmt(total),
                             "lines": [None if line is None else
                                       {**line, "matchvalue": fmt(values[line["index"]])} if line["index"] in values
                                       else line for line in seen]}
            return outcome
        stamp = format_instant(now)
        with self.store.transaction() as db:
            number = numbering.match_number(db, office)
            for _, line, value in found:
                left = Decimal(line["openvalue"]) - value
                db.execute("UPDATE tw_lines SET openvalue=?, matchstatus=?, matchnumber=?, matchdate=? "
                           "WHERE txn=? AND id=?",
                           (fmt(left), "matched" if left == 0 else "available", number, fmt_date(day),
                            line["txn"], line["id"]))
            lines = [{"code": line["code"], "number": line["number"], "line": line["id"], "matchvalue": fmt(value)}
                     for _, line, value in found]
            db.execute("INSERT INTO tw_matches (office, matchcode, matchdate, matchnumber, value, lines, created_at)"
                       " VALUES (?,?,?,?,?,?,?)",
                       (office, matchcode, fmt_date(day), number, fmt(total), json.dumps(lines), stamp))
        # The answer shows each line's open value as it was before this match (php-twinfield's
        # single-matchset.xml: valueopen 12.63 next to matchvalue 5.26; -5.26 next to -5.26).
        outcome.record = {"office": office, "matchcode": matchcode, "matchcode_name": MATCHCODES[matchcode],
                          "matchdate": fmt_date(day), "matchnumber": number, "value": fmt(total), "lines": [
                              {**line, "matchvalue": fmt(value), "index": i} for i, line, value in found]}
        return outcome

    def list(self, office: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM tw_matches", []
        if office:
            sql, args = sql + " WHERE office=?", [office]
        rows = self.store.query_dicts(sql + " ORDER BY id", args)
        for row in rows:
            row["lines"] = json.loads(row["lines"])
        return rows
