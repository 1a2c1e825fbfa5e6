"""Digicom, CB's record format: read an order file (OPDNAW), check its syntax as CB does, and write the
answer, which is an ONTBEV receipt or, for a file too corrupt to check, an XML error file.

Each fact is cited by the source ids of ``docs/centraal-boekhuis-facts.md``: W1-W5 are CB's own wiki
pages, and R1/R2 are public clients that write CB order files. Anything not backed by a source is
marked [CHOSEN]. In short:

* One record per line. Each field is ``#`` + a 4-digit id + the value. ``#0001`` is the record type.
* OPDNAW (R1, R2): 0 header, 1 party (AFZ/ONTV), 2 transaction details, 3 transaction party
  (AFN/ONTV/OFA), 4 order line, 5 text, 6 customer operation, 9 footer (counts of types 2-6, and the
  reference). SPEC §3's "3 = error lines" holds for the *receipt* (W2), not for the order.
* ONTBEV (W2): version 9908A, records 0, 1 (AFZ = CB, ONTV = customer), 2 (transaction, mandatory),
  3 (error lines, only when there are errors) and 9. W2's stored copy lost the ids of records 2, 3 and 9.
  Ours are [CHOSEN] in the ``ONTBEV_*`` constants, in W2's shapes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable
from zoneinfo import ZoneInfo

from lxml import etree
from stdnum import ean, isbn

CB_RELATION_ID = "8894126"  # CB itself: AFZ of W2's example, R1's default receiver, R2's id_cb
OPDNAW_VERSIONS = ("0110A", "0301")  # W1
ONTBEV_VERSION = "9908A"  # W2
DEFAULT_MAX_BYTES = 5 * 1024 * 1024  # [CHOSEN] far above any real order file, small enough to refuse junk
_CB_TIME = ZoneInfo("Europe/Amsterdam")  # [CHOSEN] CB (Culemborg) writes local times

# [CHOSEN] field ids of the receipt body. W2 gives only their formats: record 2 is AN, N, AN, N, N, N;
# record 3 is N, AN; record 9 is N, N, AN. We reuse OPDNAW ids where the meaning is the same.
ONTBEV_ORIGINAL_REFERENCE, ONTBEV_ORIGINAL_DATE, ONTBEV_ORIGINAL_TYPE = "0006", "0004", "0002"
ONTBEV_ACCEPTED, ONTBEV_RECORDS_READ, ONTBEV_ERROR_COUNT = "0020", "0021", "0022"
ONTBEV_ERROR_LINE, ONTBEV_ERROR_FIELD, ONTBEV_ERROR_CODE = "0030", "0031", "0032"
ONTBEV_ERROR_TEXT_NL, ONTBEV_ERROR_TEXT_EN = "0033", "0034"

_FIELD = re.compile(r"#(\d{4})")
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
# C0 controls other than TAB/LF/CR mean binary. [CHOSEN] bytes 0x80-0x9f pass, because they are
# printable in windows-1252, which Dutch office software still writes.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KNOWN_TYPES = frozenset("01234569")


def _digits(value: str) -> bool:
    """ASCII digits only: str.isdigit() would also take latin-1's superscript digits."""
    return bool(re.fullmatch(r"[0-9]+", value))


@dataclass(frozen=True)
class Code:
    """An error code with Dutch and English text templates. [CHOSEN] Codes and texts are ours (SPEC §3)."""

    code: str
    nl: str
    en: str


CODES: dict[str, Code] = {c.code: c for c in (
    Code("D001", "Header (recordtype 0) ontbreekt of staat niet op de eerste regel",
         "Header record (type 0) missing or not on the first line"),
    Code("D002", "Footer (recordtype 9) ontbreekt of staat niet op de laatste regel",
         "Footer record (type 9) missing or not on the last line"),
    Code("D003", "Onbekend recordtype {value}", "Unknown record type {value}"),
    Code("D004", "Regel is geen Digicom-record", "Line is not a Digicom record"),
    Code("D005", "Record op ongeldige plaats: {value}", "Record out of place: {value}"),
    Code("D006", "Transactierecord (recordtype 2) ontbreekt", "Transaction record (type 2) missing"),
    Code("D010", "Verplicht veld {field} ontbreekt", "Mandatory field {field} is missing"),
    Code("D011", "Veld {field} is te lang (maximaal {limit}): {value}",
         "Field {field} is too long (at most {limit}): {value}"),
    Code("D012", "Veld {field} is niet numeriek: {value}", "Field {field} is not numeric: {value}"),
    Code("D013", "Waarde {value} niet toegestaan in veld {field}; toegestaan: {allowed}",
         "Value {value} not allowed in field {field}; allowed: {allowed}"),
    Code("D014", "Veld {field} komt meer dan eens voor", "Field {field} occurs more than once"),
    Code("D020", "Onbekend berichttype {value}; verwacht OPDNAW",
         "Unknown message type {value}; expected OPDNAW"),
    Code("D021", "Versie {value} niet ondersteund; toegestaan: {allowed}",
         "Version {value} not supported; allowed: {allowed}"),
    Code("D022", "Veld {field} is geen geldige datum (jjjjmmdd): {value}",
         "Field {field} is not a valid date (yyyymmdd): {value}"),
    Code("D023", "Veld {field} is geen geldige tijd (uumm): {value}",
         "Field {field} is not a valid time (hhmm): {value}"),
    Code("D024", "Berichtreferentie in footer ({value}) wijkt af van header ({expected})",
         "Message reference in footer ({value}) differs from header ({expected})"),
    Code("D025", "Aantal in veld {field} ({value}) klopt niet; geteld: {expected}",
         "Count in field {field} ({value}) is wrong; counted: {expected}"),
    Code("D030", "Relatienummer in veld {field} moet 7 cijfers zijn: {value}",
         "Relation id in field {field} must be 7 digits: {value}"),
    Code("D031", "Partijrecord {value} ontbreekt of komt dubbel voor",
         "Party record {value} missing or repeated"),
    Code("D032", "Ontvanger moet CB ({expected}) zijn, niet {value}",
         "Receiver must be CB ({expected}), not {value}"),
    Code("D033", "Afzender {value} hoort niet bij dit account ({expected})",
         "Sender {value} does not match this account ({expected})"),
    Code("D040", "Ongeldig ISBN/EAN in veld {field}: {value}", "Invalid ISBN/EAN in field {field}: {value}"),
    Code("D041", "Aantal in veld {field} moet groter dan 0 zijn: {value}",
         "Quantity in field {field} must be greater than 0: {value}"),
    Code("D042", "Orderregel zonder regelreferentie (0440 of 0441)",
         "Order line without a line reference (0440 or 0441)"),
    Code("D043", "Bericht bevat geen orderregels (recordtype 4)",
         "Message has no order lines (record type 4)"),
    Code("D900", "Bestand kan niet worden gelezen: {value}", "File cannot be read: {value}"),
    Code("D901", "Bestand is groter dan {limit} bytes", "File is larger than {limit} bytes"),
    Code("D902", "Bestand bevat binaire gegevens", "File contains binary data"),
    Code("D903", "Bestand is leeg", "File is empty"),
    Code("D904", "Bestand is geen Digicom-bericht", "File is not a Digicom message"),
)}


def _clean(value: object) -> str:
    """Text fit for a Digicom field: a '#' or a line break would start a new field or record."""
    return str(value).replace("#", "").replace("\r", " ").replace("\n", " ")


def _show(value: object) -> str:
    """A value from the customer's file quoted in a message: cleaned and kept short."""
    text = _clean(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(code: str, **values: object) -> tuple[str, str]:
    shown = {key: _show(val) for key, val in values.items()}
    return CODES[code].nl.format(**shown), CODES[code].en.format(**shown)


@dataclass(frozen=True)
class SyntaxFinding:
    """One syntax error: the line of the original file, the field id (``"0004"``), code and texts."""

    line: int
    field: str
    code: str
    text_nl: str
    text_en: str


@dataclass(frozen=True)
class Refusal:
    """Why a file is too corrupt for a receipt; the content of the XML error file."""

    code: str
    text_nl: str
    text_en: str


class DigicomRefused(ValueError):
    """The bytes cannot be read as Digicom at all."""

    def __init__(self, code: str, **values: object) -> None:
        nl, en = _text(code, **values)
        self.refusal = Refusal(code, nl, en)
        super().__init__(f"{code}: {en}")


@dataclass(frozen=True)
class Record:
    """One line. ``junk`` is text before the first ``#NNNN``; a record with junk or no fields is malformed."""

    line: int
    fields: tuple[tuple[str, str], ...]
    junk: str = ""

    @property
    def malformed(self) -> bool:
        return bool(self.junk) or not self.fields or self.fields[0][0] != "0001"

    @property
    def type(self) -> str | None:
        return None if self.malformed else self.fields[0][1]

    def get(self, field_id: str) -> str | None:
        return next((value for fid, value in self.fields if fid == field_id), None)


@dataclass(frozen=True)
class DigicomMessage:
    records: tuple[Record, ...]

    def of_type(self, record_type: str) -> list[Record]:
        return [r for r in self.records if r.type == record_type]

    @property
    def header(self) -> Record | None:
        return next(iter(self.of_type("0")), None)

    @property
    def footer(self) -> Record | None:
        footers = self.of_type("9")
        return footers[-1] if footers else None


def parse_digicom(data: bytes, *, max_bytes: int) -> DigicomMessage:
    """Split latin-1 text into records of ``#NNNN`` fields; CRLF, LF (or CR) line ends; blank lines skipped.

    Raises DigicomRefused for a file over ``max_bytes`` or with binary content. Anything textual is
    parsed, and a line that is not a record becomes a malformed ``Record`` so the check can name its line.
    """
    if len(data) > max_bytes:
        raise DigicomRefused("D901", limit=max_bytes)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # [CHOSEN] tolerate a UTF-8 byte-order mark an editor put in front
    if _BINARY.search(data):
        raise DigicomRefused("D902")
    records = []
    for number, line in enumerate(_LINE_BREAK.split(data.decode("latin-1")), start=1):
        line = line.rstrip(" \t")
        if not line.strip():
            continue
        matches = list(_FIELD.finditer(line))
        if not matches:
            records.append(Record(number, (), junk=line))
            continue
        ends = [m.start() for m in matches[1:]] + [len(line)]
        fields = tuple((m.group(1), line[m.end():end]) for m, end in zip(matches, ends))
        records.append(Record(number, fields, junk=line[:matches[0].start()]))
    return DigicomMessage(tuple(records))


def corruption_reason(message_or_bytes: DigicomMessage | bytes, *,
                      max_bytes: int = DEFAULT_MAX_BYTES) -> Refusal | None:
    """Why this file gets an XML error file instead of a receipt (W2), or None when it can be checked.

    [CHOSEN] A file is too corrupt when it is too large, binary or empty, or when its first record does
    not start with ``#0001``. In that case it is not Digicom at all. A Digicom file without a header
    still gets a receipt with a finding on line 1: W2 says every Digicom message is checked, and the
    receipt's addressee comes from the FTP folder, not from the file.
    """
    if isinstance(message_or_bytes, bytes | bytearray):
        try:
            message = parse_digicom(bytes(message_or_bytes), max_bytes=max_bytes)
        except DigicomRefused as refused:
            return refused.refusal
    else:
        message = message_or_bytes
    if not message.records:
        return DigicomRefused("D903").refusal
    if message.records[0].malformed:
        return DigicomRefused("D904").refusal
    return None


def too_corrupt(message_or_bytes: DigicomMessage | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bool:
    """True when CB would answer with an XML error file instead of an ONTBEV receipt."""
    return corruption_reason(message_or_bytes, max_bytes=max_bytes) is not None


# ---- the OPDNAW check -------------------------------------------------------------------------------

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
        self.findings.append(SyntaxFinding(line, field, code, *_text(code, field=field, **values)))

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
            elif f.numeric and not _digits(value):
                self.add(rec.line, f.id, "D012", value=value)
            elif f.max and len(value) > f.max:
                self.add(rec.line, f.id, "D011", value=value, limit=f.max)
            elif f.allowed and value not in f.allowed:
                self.add(rec.line, f.id, "D013", value=value, allowed="/".join(f.allowed))

    def date(self, rec: Record, fid: str, fmt: str, code: str) -> None:
        """yyyymmdd / hhmm: the length is format (W1); whether the day exists is ``check_date_content``."""
        value = rec.get(fid) or ""
        if not _digits(value):
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
        if quantity and _digits(quantity) and int(quantity) == 0:  # [CHOSEN] R1 only requires digits
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
                if stated and _digits(stated) and int(stated) != counted:
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
    if len(value) == 13 and _digits(value):
        return ean.is_valid(value)
    if len(value) == 10 and _digits(value[:9]):
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


# ---- the answers --------------------------------------------------------------------------------------

def _local(now: datetime) -> datetime:
    return now.astimezone(_CB_TIME) if now.tzinfo else now


def _record(*fields: tuple[str, object]) -> str:
    return "".join(f"#{fid}{_clean(value)}" for fid, value in fields)


def build_ontbev(*, original: DigicomMessage | None, findings: Iterable[SyntaxFinding], relation_id: str,
                 now: datetime, reference: str, cb_relation_id: str = CB_RELATION_ID) -> bytes:
    """The ONTBEV receipt (W2): header, CB as AFZ, the customer as ONTV, one transaction record, one
    error record (type 3) per finding, and the footer.

    [CHOSEN] the body fields (``ONTBEV_*``). A file with any finding is refused as a whole, so the
    customer corrects it and sends it again. Latin-1 text with CRLF line ends.
    """
    findings = list(findings)
    header = original.header if original else None
    footer = original.footer if original else None
    original_ref = (header and header.get("0006")) or (footer and footer.get("0006")) or ""
    original_date = (header and header.get("0004")) or ""
    local = _local(now)
    lines = [
        _record(("0001", 0), ("0002", "ONTBEV"), ("0003", ONTBEV_VERSION), ("0004", f"{local:%Y%m%d}"),
                ("0005", f"{local:%H%M}"), ("0006", reference), ("0007", 0), ("0008", 0)),
        _record(("0001", 1), ("0009", "AFZ"), ("0010", cb_relation_id), ("0011", "CB")),
        _record(("0001", 1), ("0009", "ONTV"), ("0010", relation_id), ("0011", "CB")),
        _record(("0001", 2), (ONTBEV_ORIGINAL_REFERENCE, _show(original_ref)),
                (ONTBEV_ORIGINAL_DATE, original_date if _digits(original_date) else ""),
                (ONTBEV_ORIGINAL_TYPE, _show((header and header.get("0002")) or "")),
                (ONTBEV_ACCEPTED, 0 if findings else 1),
                (ONTBEV_RECORDS_READ, len(original.records) if original else 0),
                (ONTBEV_ERROR_COUNT, len(findings))),
        *(_record(("0001", 3), (ONTBEV_ERROR_LINE, f.line), (ONTBEV_ERROR_FIELD, f.field),
                  (ONTBEV_ERROR_CODE, f.code), (ONTBEV_ERROR_TEXT_NL, f.text_nl),
                  (ONTBEV_ERROR_TEXT_EN, f.text_en))
          for f in findings),
        _record(("0001", 9), ("0015", 1), ("0016", len(findings)), ("0006", reference)),
    ]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1", errors="replace")


def receipt_file_name(*, relation_id: str, sequence: int, now: datetime) -> str:
    """``{relation id}u{4 digits}{yyyymmdd}.ont``. W2 lists these parts (relation id prefix, "u",
    a 4-digit code, a date, ``.ont`` in lower case). The order and date format are an inference.
    """
    return f"{relation_id}u{sequence % 10000:04d}{_local(now):%Y%m%d}.ont"


_XML_UNSAFE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # XML 1.0 chars


def build_error_xml(*, file_name: str, reason: str | Refusal, now: datetime) -> bytes:
    """The XML error file for a file too corrupt for a receipt (W2 says only that it is XML).

    [CHOSEN] shape::

        <error>
          <filename>order.opd</filename>
          <datetime>2017-01-02T21:20:00+01:00</datetime>
          <code>D902</code>
          <description xml:lang="nl">…</description>
          <description xml:lang="en">…</description>
        </error>
    """
    if isinstance(reason, Refusal):
        refusal = reason
    else:
        code = CODES["D900"]  # the caller's reason in full: no field to keep it short for
        refusal = Refusal(code.code, code.nl.format(value=reason), code.en.format(value=reason))
    root = etree.Element("error")
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    for tag, text in (("filename", file_name), ("datetime", _local(now).isoformat(timespec="seconds")),
                      ("code", refusal.code)):
        etree.SubElement(root, tag).text = _XML_UNSAFE.sub("?", text)
    for lang, text in (("nl", refusal.text_nl), ("en", refusal.text_en)):
        etree.SubElement(root, "description", {xml_lang: lang}).text = _XML_UNSAFE.sub("?", text)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
