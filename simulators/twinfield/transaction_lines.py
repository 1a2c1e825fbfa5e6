"""The lines of a transaction: each one read and checked on its own, and the VAT lines Twinfield adds.

A line is checked against the office's books - the ledger account (``dim1``) exists, a control account
(1300 Debiteuren) carries a customer, the VAT code is in force on the booking's date and of the journal's
kind, an intra-community supply names a valid VAT number of its country - and every problem is noted on the
line's own element. The VAT lines are then one per VAT code (and ICP performance), their amounts the sum
of the detail lines' VAT: [CHOSEN] VAT is rounded per line, half up (``money.vat_of``), as an invoice shows
it per line; see docs/twinfield.md, "VAT rounding".
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from stdnum.eu import vat as eu_vat

from . import errors
from .errors import Outcome
from .ledger import Ledger
from .money import ZERO, BadValue, parse_amount, vat_of
from .vat import VatBook

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



class LineReader:
    def __init__(self, ledger: Ledger, vat: VatBook) -> None:
        self.ledger = ledger
        self.vat = vat

    def read(self, office: str, index: int, line: dict, day: date, journal: dict | None,
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

    def vat_lines(self, office: str, parsed: list[dict], day: date, attrs: dict, outcome: Outcome,
                  tolerance: Decimal) -> list[dict]:
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
                if abs(line_vat - computed) > tolerance:
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

    @staticmethod
    def check_ids(parsed: list[dict], outcome: Outcome) -> None:
        seen: set[int] = set()
        for p in parsed:
            if not p["id_ok"]:
                continue  # already refused as not a number
            if int(p["id"]) in seen:
                outcome.add(("line", p["index"]), errors.line_id_twice(p["id"]))
            seen.add(int(p["id"]))
