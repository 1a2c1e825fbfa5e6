"""CB's syntax check of an OPDNAW order file (a parsed ``digicom.DigicomMessage``): every finding with
its line, field, code and texts. Sources and [CHOSEN] as in ``digicom.py``.

OPDNAW (R1, R2): 0 header, 1 party (AFZ/ONTV), 2 transaction details, 3 transaction party
(AFN/ONTV/OFA), 4 order line, 5 text, 6 customer operation, 9 footer (counts of types 2-6, and the
reference). SPEC §3's "3 = error lines" holds for the *receipt* (W2), not for the order.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from stdnum import ean, isbn

from .digicom import CB_RELATION_ID, DigicomMessage, Record, SyntaxFinding, is_digits, texts

OPDNAW_VERSIONS = ("0110A", "0301")  # W1
_KNOWN_TYPES = frozenset("01234569")


@dataclass(frozen=True)
class Field:
    """One field of a record definition: mandatory?, numeric (n) or not (an), max length, allowed values."""

    id: str
    required: bool
    numeric: bool = False
    max: int = 0
    allowed: tuple[str, ...] = ()


_YN = ("J", "N")
_01 = ("0", "1")
_HEADER = (Field("0002", True, max=6), Field("0003", True, max=6), Field("0004", True, True, 8),  # W1
           Field("0005", True, True, 4), Field("0006", True, max=20), Field("0007", True, True, 1, _01),
           Field("0008", True, True, 1, _01), Field("0026", False, True, 1, _01))
_PARTY = (Field("0009", True, max=4, allowed=("AFZ", "ONTV")), Field("0010", True),  # W1
          Field("0011", True, max=3, allowed=("CB",)))
_TRANSACTION = (  # R1, R2
    Field("0400", True, max=6), Field("0401", True, True, 8), Field("0403", False, max=10),
    Field("0404", False, max=10), Field("0411", False, max=1, allowed=("D", "N", "L")),
    *(Field(f, False, max=1, allowed=_YN)
      for f in ("0405", "0417", "0419", "0420", "0426", "0427", "0480", "0540")))
_TX_PARTY = (Field("0009", True, max=4, allowed=("AFN", "ONTV", "OFA")), Field("0010", True),  # R1
             Field("0011", True, max=3))
_ADDRESS = (Field("0013", True, max=55), Field("0014", False, max=55), Field("0121", True, max=43),  # R1
            Field("0122", True, True, 6), Field("0123", False, max=10), Field("0124", True, max=10),
            Field("0125", True, max=40), Field("0126", False, max=40), Field("0127", False, max=2))
_LINE = (  # R1
    Field("0200", True), Field("0430", True, True, 3), Field("0431", False, max=4, allowed=("DIO", "AANB")),
    *(Field(f, False, max=1, allowed=_YN) for f in ("0434", "0435", "0438")),
    Field("0440", False, max=10), Field("0441", False, max=10))
_TEXT_LENGTHS = {"KPR": 92, "BOM": 37, "BVW": 152, "MRK": 92}  # R1
_TEXT = (Field("0475", True, max=3, allowed=tuple(_TEXT_LENGTHS)), Field("0476", True))
_OPERATION = (Field("0477", True, True, 4), Field("0478", True, True, 1, ("1",)))  # R1
_FOOTER = (*(Field(f, True, True, 6) for f in ("0015", "0016", "0017", "0018", "0019")),  # R1, R2
           Field("0006", True, max=20))
_FOOTER_COUNTS = {"0015": "2", "0016": "3", "0017": "4", "0018": "5", "0019": "6"}  # R1


@dataclass(frozen=True)
class OpdnawRules:
    """What the check enforces beyond the documented formats. Every default is [CHOSEN] unless noted.

    * ``cb_relation_id``: the ONTV party must be CB (W1 "altijd CB"; the id from W2, R1 and R2).
    * ``check_date_content``: refuse dates and times that do not exist. W1 says CB checks only the
      format ("wordt niet gecontroleerd op inhoud"), so set False for CB's own leniency.
    * ``require_line_reference``: every order line carries #0440 or #0441.
    """

    cb_relation_id: str = CB_RELATION_ID
    versions: tuple[str, ...] = OPDNAW_VERSIONS
    check_date_content: bool = True
    require_line_reference: bool = True


class _Check:
    """Collects findings for one message; one method per record type."""

    def __init__(self, rules: OpdnawRules, account_relation_id: str | None) -> None:
        self.rules, self.account = rules, account_relation_id
        self.findings: list[SyntaxFinding] = []

    def add(self, line: int, field: str, code: str, **values: object) -> None:
        self.findings.append(SyntaxFinding(line, field, code, *texts(code, field=field, **values)))

    def duplicates(self, rec: Record) -> None:
        for fid, count in Counter(fid for fid, _ in rec.fields).items():
            if count > 1:  # [CHOSEN] a repeated field would make the order ambiguous
                self.add(rec.line, fid, "D014")

    def fields(self, rec: Record, spec: Iterable[Field]) -> None:
        """Presence, digits, length and allowed values: the format columns of W1 and W2."""
        for f in spec:
            value = rec.get(f.id)
            if not value:
                if f.required:
                    self.add(rec.line, f.id, "D010")
            elif f.id == "0010":
                if not re.fullmatch(r"[0-9]{7}", value):  # n(7) in W1; exactly 7 is an inference
                    self.add(rec.line, f.id, "D030", value=value)
            elif f.numeric and not is_digits(value):
                self.add(rec.line, f.id, "D012", value=value)
            elif f.max and len(value) > f.max:
                self.add(rec.line, f.id, "D011", value=value, limit=f.max)
            elif f.allowed and value not in f.allowed:
                self.add(rec.line, f.id, "D013", value=value, allowed="/".join(f.allowed))

    def date(self, rec: Record, fid: str, fmt: str, code: str) -> None:
        """yyyymmdd / hhmm: the length is format (W1); whether the day exists is ``check_date_content``."""
        value = rec.get(fid) or ""
        if not is_digits(value):
            return  # missing or not numeric: already a format finding
        width = 8 if fmt == "%Y%m%d" else 4
        if len(value) != width:
            self.add(rec.line, fid, code, value=value)
        elif self.rules.check_date_content:
            try:
                datetime.strptime(value, fmt)
            except ValueError:
                self.add(rec.line, fid, code, value=value)

    def header(self, rec: Record) -> bool:
        """Check the header; False when the message is not an OPDNAW, so its body rules do not apply."""
        self.fields(rec, _HEADER)
        self.date(rec, "0004", "%Y%m%d", "D022")
        self.date(rec, "0005", "%H%M", "D023")
        version = rec.get("0003")
        if version and version not in self.rules.versions:
            self.add(rec.line, "0003", "D021", value=version, allowed="/".join(self.rules.versions))
        kind = rec.get("0002")
        if kind and kind != "OPDNAW":
            self.add(rec.line, "0002", "D020", value=kind)
            return False
        return True

    def parties(self, records: list[Record], at_line: int) -> None:
        kinds = Counter(r.get("0009") for r in records)
        for kind in ("AFZ", "ONTV"):
            if kinds[kind] != 1:
                self.add(at_line, "0009", "D031", value=kind)
        for rec in records:
            self.fields(rec, _PARTY)
            relation, kind = rec.get("0010") or "", rec.get("0009")
            if not re.fullmatch(r"[0-9]{7}", relation):
                continue
            if kind == "ONTV" and relation != self.rules.cb_relation_id:
                self.add(rec.line, "0010", "D032", value=relation, expected=self.rules.cb_relation_id)
            if kind == "AFZ" and self.account and relation != self.account:  # [CHOSEN]
                self.add(rec.line, "0010", "D033", value=relation, expected=self.account)

    def transaction_party(self, rec: Record) -> None:
        self.fields(rec, _TX_PARTY)
        kind, id_type = rec.get("0009"), rec.get("0011")
        expected = "CB" if kind == "AFN" else "OWN" if kind in ("ONTV", "OFA") else None
        if expected and id_type and id_type != expected:
            self.add(rec.line, "0011", "D013", value=id_type, allowed=expected)
        if kind in ("ONTV", "OFA"):
            self.fields(rec, _ADDRESS)

    def order_line(self, rec: Record) -> None:
        self.fields(rec, _LINE)
        article = rec.get("0200")
        if article and not _valid_article(article):
            self.add(rec.line, "0200", "D040", value=article)
        quantity = rec.get("0430")
        if quantity and is_digits(quantity) and int(quantity) == 0:  # [CHOSEN] R1 only requires digits
            self.add(rec.line, "0430", "D041", value=quantity)
        if self.rules.require_line_reference and not (rec.get("0440") or rec.get("0441")):
            self.add(rec.line, "0441", "D042")

    def transaction(self, rec: Record) -> None:
        self.fields(rec, _TRANSACTION)
        self.date(rec, "0401", "%Y%m%d", "D022")

    def text(self, rec: Record) -> None:
        self.fields(rec, _TEXT)
        limit, value = _TEXT_LENGTHS.get(rec.get("0475") or ""), rec.get("0476") or ""
        if limit and len(value) > limit:
            self.add(rec.line, "0476", "D011", value=value, limit=limit)

    def footer(self, rec: Record, message: DigicomMessage, is_order: bool) -> None:
        """The reference must equal the header's (W1). The counts are OPDNAW's footer (R1, R2)."""
        if is_order:
            self.fields(rec, _FOOTER)
            for fid, record_type in _FOOTER_COUNTS.items():
                stated, counted = rec.get(fid), len(message.of_type(record_type))
                if stated and is_digits(stated) and int(stated) != counted:
                    self.add(rec.line, fid, "D025", value=stated, expected=counted)
        header = message.header
        expected, stated = (header.get("0006") if header else None), rec.get("0006")
        if expected and stated and expected != stated:
            self.add(rec.line, "0006", "D024", value=stated, expected=expected)


def _valid_article(value: str) -> bool:
    """EAN-13 with a valid check digit (ISBN-13 is an EAN-13), or an ISBN-10 (R1 accepts both).

    [CHOSEN] digits only, without hyphens; any valid EAN-13, not only 978/979, because CB also ships
    non-book articles.
    """
    if len(value) == 13 and is_digits(value):
        return ean.is_valid(value)
    if len(value) == 10 and is_digits(value[:9]):
        return isbn.is_valid(value)
    return False


def check_opdnaw(message: DigicomMessage, *, rules: OpdnawRules = OpdnawRules(),
                 account_relation_id: str | None = None) -> list[SyntaxFinding]:
    """CB's syntax check of an order file: every finding with its line, field, code and texts (NL, EN).

    ``account_relation_id`` is the FTP folder's relation id. When it is given, the AFZ party must be that id.
    """
    check = _Check(rules, account_relation_id)
    body = {"2": check.transaction, "3": check.transaction_party, "4": check.order_line, "5": check.text,
            "6": lambda r: check.fields(r, _OPERATION)}
    records = message.records
    for rec in records:
        if not rec.malformed:
            check.duplicates(rec)
        if rec.malformed:
            check.add(rec.line, "0001", "D004")
        elif rec.type not in _KNOWN_TYPES:
            check.add(rec.line, "0001", "D003", value=rec.type)
    good = [r for r in records if not r.malformed and r.type in _KNOWN_TYPES]
    first_line, last_line = (records[0].line, records[-1].line) if records else (1, 1)
    if not records or records[0].type != "0":
        check.add(first_line, "0001", "D001")
    if not records or records[-1].type != "9":
        check.add(last_line, "0001", "D002")
    for rec in message.of_type("0")[1:] + message.of_type("9")[:-1]:
        check.add(rec.line, "0001", "D005", value=f"recordtype {rec.type}")
    header, footer = message.header, message.footer
    is_order = check.header(header) if header else True
    if footer:
        check.footer(footer, message, is_order)
    if not is_order:
        return check.findings  # [CHOSEN] no OPDNAW body rules for a message that says it is something else
    check.parties(message.of_type("1"), header.line if header else first_line)
    seen_transaction, has_transaction = False, bool(message.of_type("2"))
    for rec in good:
        # parties before the first transaction, transaction parts after it: the order R1 and R2 write.
        # Without any transaction record, D006 says it once instead of a D005 on every line.
        if (rec.type == "1" and seen_transaction) or (rec.type in "3456" and has_transaction
                                                      and not seen_transaction):
            check.add(rec.line, "0001", "D005", value=f"recordtype {rec.type}")
        seen_transaction = seen_transaction or rec.type == "2"
        if rec.type in body:
            body[rec.type](rec)
    if not seen_transaction:
        check.add(last_line, "0001", "D006")
    if not message.of_type("4"):
        check.add(last_line, "0001", "D043")  # [CHOSEN] an order without lines orders nothing
    return sorted(check.findings, key=lambda f: f.line)
