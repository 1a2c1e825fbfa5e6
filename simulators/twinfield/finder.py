"""The Finder (``finder.asmx`` ``Search``): code/name lookups returning columns and rows of strings.

Shape (finder WSDL; murb fixtures): ``SearchResult`` holds messages (``MessageOfErrorCodes``: Type, Text,
Code from the WSDL's ErrorCodes), ``data`` holds ``TotalRows``, ``Columns`` and ``Items``.
Finder types here: DIM (dimensions; real columns "Code", "Naam"), IVT (open invoices; real columns
"Factuurnr.", "Bedrag", "Debiteur", "Naam", "Debet/credit"), VAT and OFF ([CHOSEN] columns "Code",
"Naam"). Patterns take ``*`` and ``?``; ``firstRow`` counts from 1. [CHOSEN] IVT's "Bedrag" is the amount
still open, and it lists every open item on a customer (sales and memo lines alike).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase

from .directory import Caller, Directory
from .ledger import LEVELS, Ledger
from .money import plain_number
from .vat import VatBook


@dataclass
class FinderResult:
    messages: list[dict] = field(default_factory=list)  # {Type, Text, Code}
    columns: list[str] = field(default_factory=list)
    items: list[list[str]] = field(default_factory=list)
    total: int = 0
    has_data: bool = True


def _error(code: str, text: str) -> FinderResult:
    return FinderResult(messages=[{"Type": "Error", "Text": text, "Code": code}], has_data=False)


DECIMAL_OPTIONS = ("openvalue", "value")  # IVT's amount options (the WSDL's InvalidDecimalOptionValue)


def _decimal(text: str) -> Decimal | None:
    return plain_number(text.strip())  # ASCII digits only, no exponent: Decimal() would read more


def _like(pattern: str, *values: str) -> bool:
    wanted = (pattern or "*").lower()
    if not any(ch in wanted for ch in "*?"):
        wanted = f"*{wanted}*"  # [CHOSEN] a pattern without wildcards finds what contains it
    return any(fnmatchcase((v or "").lower(), wanted) for v in values)


class Finder:
    def __init__(self, directory: Directory, ledger: Ledger, vat: VatBook, store) -> None:
        self.directory = directory
        self.ledger = ledger
        self.vat = vat
        self.store = store

    def search(self, caller: Caller, finder_type: str, pattern: str, search_field: int, first_row: int,
               max_rows: int, options: dict[str, str]) -> FinderResult:
        kind = (finder_type or "").strip().upper()
        handlers = {"DIM": self._dim, "IVT": self._ivt, "VAT": self._vat, "OFF": self._off}
        if kind not in handlers:
            return _error("InvalidFinderType", f"Finder type {finder_type} bestaat niet.")
        if first_row < 1 or max_rows < 0:
            return _error("ParameterOutOfRange", "firstRow moet minimaal 1 zijn en maxRows mag niet negatief zijn.")
        office = (options.get("office") or caller.company or "").strip()
        if kind != "OFF":
            if not office:
                return _error("OptionMandatory", "De optie office is verplicht.")
            if not caller.may_reach(office):
                return _error("NoAccessToOffice", f"Geen toegang tot administratie {office}.")
        for option in DECIMAL_OPTIONS:
            if options.get(option) and _decimal(options[option]) is None:
                return _error("InvalidDecimalOptionValue",
                              f"De waarde {options[option]} van optie {option} is geen bedrag.")
        columns, rows = handlers[kind](caller, office, pattern, search_field, options)
        start = first_row - 1
        page = rows[start:start + max_rows] if max_rows else rows[start:]
        return FinderResult(columns=columns, items=page, total=len(rows))

    def _dim(self, caller: Caller, office: str, pattern: str, search_field: int, options: dict) -> tuple:
        dimtype = (options.get("dimtype") or "").strip().upper() or None
        since = (options.get("modifiedsince") or "").strip()
        rows = []
        for dim in self.ledger.list(office, dimtype):
            if dimtype is None and dim["type"] not in LEVELS:
                continue
            stamp = dim["modified_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
            if since and stamp < since:
                continue
            values = {0: (dim["code"], dim["name"]), 1: (dim["code"],), 2: (dim["name"],)}.get(search_field,
                                                                                         (dim["code"], dim["name"]))
            if _like(pattern, *values):
                rows.append([dim["code"], dim["name"]])
        return ["Code", "Naam"], rows

    def _ivt(self, caller: Caller, office: str, pattern: str, search_field: int, options: dict) -> tuple:
        raw = self.store.query_dicts(
            "SELECT l.*, t.invoicenumber AS head_inv, t.code AS journal FROM tw_lines l JOIN tw_transactions t "
            "ON t.id = l.txn WHERE t.office=? AND l.matchable=1 AND l.matchstatus='available' "
            "ORDER BY t.invoicenumber, t.number", (office,))
        rows = []
        for r in raw:
            relation = self.ledger.find(office, r["dim2"], 2)
            if relation is None or relation["type"] != "DEB":
                continue
            open_value = Decimal(r["openvalue"])
            if open_value == 0:
                continue
            for option, value in (("dim1", r["dim1"]), ("dim2", r["dim2"])):
                if options.get(option) and options[option] != value:
                    break
            else:
                if options.get("openvalue") and _decimal(options["openvalue"]) != abs(open_value):
                    continue
                if options.get("value") and _decimal(options["value"]) != Decimal(r["value"]):
                    continue
                invoice = r["invoicenumber"] or r["head_inv"] or ""
                amount = f"{abs(open_value):.2f}"
                if _like(pattern, invoice, r["dim2"], relation["name"], amount):
                    rows.append([invoice, amount, r["dim2"], relation["name"], "D" if open_value > 0 else "C"])
        return ["Factuurnr.", "Bedrag", "Debiteur", "Naam", "Debet/credit"], rows

    def _vat(self, caller: Caller, office: str, pattern: str, search_field: int, options: dict) -> tuple:
        vattype = (options.get("vattype") or "").strip().lower() or None
        rows = []
        for vat in self.vat.list(office, vattype):
            values = {1: (vat["code"],), 2: (vat["name"],)}.get(search_field, (vat["code"], vat["name"]))
            if _like(pattern, *values):
                rows.append([vat["code"], vat["name"]])
        return ["Code", "Naam"], rows

    def _off(self, caller: Caller, office: str, pattern: str, search_field: int, options: dict) -> tuple:
        rows = []
        for code in caller.offices:
            info = self.directory.office(code)
            if _like(pattern, info.code, info.name):
                rows.append([info.code, info.name])
        return ["Code", "Naam"], rows
