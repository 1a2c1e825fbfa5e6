"""Digicom, CB's record format: read a file into records, decide whether it is too corrupt to check, and
the vocabulary the answers share (error codes, findings, refusals). The OPDNAW check lives in
``opdnaw.py`` and the answers (ONTBEV receipt, XML error file) in ``ontbev.py``; their public names are
importable from here too, so callers need only this module.

Each fact is cited by the source ids of ``docs/centraal-boekhuis-facts.md``: W1-W5 are CB's own wiki
pages, and R1/R2 are public clients that write CB order files. Anything not backed by a source is
marked [CHOSEN]. In short:

* One record per line. Each field is ``#`` + a 4-digit id + the value. ``#0001`` is the record type.
* A file that is not Digicom at all gets an XML error file; any other gets a receipt (W2).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the re-exports below, for readers and type checkers
    from .ontbev import (ONTBEV_ACCEPTED, ONTBEV_ERROR_CODE, ONTBEV_ERROR_COUNT, ONTBEV_ERROR_FIELD,
                         ONTBEV_ERROR_LINE, ONTBEV_ERROR_TEXT_EN, ONTBEV_ERROR_TEXT_NL, ONTBEV_ORIGINAL_DATE,
                         ONTBEV_ORIGINAL_REFERENCE, ONTBEV_ORIGINAL_TYPE, ONTBEV_RECORDS_READ, ONTBEV_VERSION,
                         build_error_xml, build_ontbev, error_file_names, receipt_file_name,
                         receipt_file_names)
    from .opdnaw import OPDNAW_VERSIONS, Field, OpdnawRules, check_opdnaw

CB_RELATION_ID = "8894126"  # CB itself: AFZ of W2's example, R1's default receiver, R2's id_cb
DEFAULT_MAX_BYTES = 5 * 1024 * 1024  # [CHOSEN] far above any real order file, small enough to refuse junk

_FIELD = re.compile(r"#(\d{4})")
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
# C0 controls other than TAB/LF/CR mean binary. [CHOSEN] bytes 0x80-0x9f pass, because they are
# printable in windows-1252, which Dutch office software still writes.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_digits(value: str) -> bool:
    """ASCII digits only: str.isdigit() would also take latin-1's superscript digits."""
    return bool(re.fullmatch(r"[0-9]+", value))


@dataclass(frozen=True)
class Code:
    """An error code with Dutch and English text templates. [CHOSEN] Codes and texts are ours (SPEC §3)."""

    code: str
    nl: str
    en: str


# One table for the check's findings (D0xx) and the refusals (D9xx): one namespace of codes, and both
# kinds reach the customer in the same two languages.
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


def clean(value: object) -> str:
    """Text fit for a Digicom field: a '#' or a line break would start a new field or record."""
    return str(value).replace("#", "").replace("\r", " ").replace("\n", " ")


def shown(value: object) -> str:
    """A value from the customer's file quoted in a message: cleaned and kept short."""
    text = clean(value)
    return text if len(text) <= 40 else text[:37] + "..."


def texts(code: str, **values: object) -> tuple[str, str]:
    """The Dutch and English text of ``code``, with the customer's values quoted by ``shown``."""
    quoted = {key: shown(val) for key, val in values.items()}
    return CODES[code].nl.format(**quoted), CODES[code].en.format(**quoted)


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
        nl, en = texts(code, **values)
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


# ---- the check and the answers, importable from here ---------------------------------------------------
# Resolved on first use (PEP 562), not imported at the top: opdnaw and ontbev import this module, so an
# eager import either way round would be circular, and a refused file never needs the check (nor stdnum).

_ELSEWHERE = {name: module for module, names in (
    ("opdnaw", ("OPDNAW_VERSIONS", "Field", "OpdnawRules", "check_opdnaw")),
    ("ontbev", ("ONTBEV_VERSION", "ONTBEV_ORIGINAL_REFERENCE", "ONTBEV_ORIGINAL_DATE", "ONTBEV_ORIGINAL_TYPE",
                "ONTBEV_ACCEPTED", "ONTBEV_RECORDS_READ", "ONTBEV_ERROR_COUNT", "ONTBEV_ERROR_LINE",
                "ONTBEV_ERROR_FIELD", "ONTBEV_ERROR_CODE", "ONTBEV_ERROR_TEXT_NL", "ONTBEV_ERROR_TEXT_EN",
                "build_ontbev", "receipt_file_name", "receipt_file_names", "error_file_names",
                "build_error_xml")),
) for name in names}

__all__ = [
    # this module: the format
    "CB_RELATION_ID", "CODES", "DEFAULT_MAX_BYTES", "Code", "DigicomMessage", "DigicomRefused", "Record",
    "Refusal", "SyntaxFinding", "clean", "corruption_reason", "is_digits", "parse_digicom", "shown", "texts",
    "too_corrupt",
    # opdnaw: the check
    "OPDNAW_VERSIONS", "Field", "OpdnawRules", "check_opdnaw",
    # ontbev: the answers
    "ONTBEV_VERSION", "ONTBEV_ORIGINAL_REFERENCE", "ONTBEV_ORIGINAL_DATE", "ONTBEV_ORIGINAL_TYPE",
    "ONTBEV_ACCEPTED", "ONTBEV_RECORDS_READ", "ONTBEV_ERROR_COUNT", "ONTBEV_ERROR_LINE", "ONTBEV_ERROR_FIELD",
    "ONTBEV_ERROR_CODE", "ONTBEV_ERROR_TEXT_NL", "ONTBEV_ERROR_TEXT_EN", "build_ontbev", "receipt_file_name",
    "receipt_file_names", "error_file_names", "build_error_xml",
]


def __getattr__(name: str) -> Any:
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __package__), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ELSEWHERE})
