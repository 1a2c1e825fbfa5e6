"""The customer's side of CB's Digicom messages: write an order file (OPDNAW), read the receipt (ONTBEV).

This is independent of the simulator on purpose. A client never imports simulators: it must work
against the real CB, and a shared bug would hide in both places. Sources are cited by the ids of
``docs/centraal-boekhuis-facts.md`` (W = CB's wiki, R = public clients that write CB order files).

An order file, as R1 and R2 write it: header (0), parties AFZ/ONTV (1), transaction (2), the ordering
party AFN and an optional delivery address ONTV (3), order lines (4), and a footer (9) that counts the
records of types 2-6 and repeats the message reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Sequence
from zoneinfo import ZoneInfo

from stdnum import ean, isbn

CB_RELATION_ID = "8894126"  # CB itself: the sender of W2's receipt example, the receiver in R1 and R2
OPDNAW_VERSION = "0301"  # W1 allows 0110A or 0301; R1 and R2 send 0301
NO_RELATION_ID = "9999999"  # #0010 of a consumer address in R1's sample (a party without a CB relation id)
_LOCAL = ZoneInfo("Europe/Amsterdam")  # [CHOSEN] dates and times in the file are Dutch local time

# [CHOSEN] field ids of the receipt body, the same choice the simulator documents (W2 lost them).
_ORIGINAL_REFERENCE, _ORIGINAL_TYPE = "0006", "0002"
_ACCEPTED, _RECORDS_READ = "0020", "0021"
_ERROR_LINE, _ERROR_FIELD, _ERROR_CODE, _ERROR_NL, _ERROR_EN = "0030", "0031", "0032", "0033", "0034"

_FIELD = re.compile(r"#(\d{4})")


@dataclass(frozen=True)
class OrderLine:
    """One article: EAN-13/ISBN-13 (or ISBN-10) as digits, a quantity 1-999 (n(3), R1), a line reference."""

    article: str
    quantity: int
    reference: str | None = None  # [CHOSEN] the line's number (1, 2, …) when not given


@dataclass(frozen=True)
class DeliveryAddress:
    """A delivery address (transaction party ONTV, id type OWN). Field lengths follow R1."""

    name: str  # an(55)
    street: str  # an(43)
    house_number: int | str  # n(6)
    postcode: str  # an(10)
    city: str  # an(40)
    country: str = "NL"  # an(2)
    addition: str = ""  # an(10), e.g. "-a" or "4-hoog"
    attention: str = ""  # an(55), "t.a.v." line


@dataclass(frozen=True)
class Order:
    """An order for CB. ``order_number`` goes in #0404 (an(10)). Inference: the customer's order reference."""

    order_number: str
    lines: Sequence[OrderLine]
    delivery_address: DeliveryAddress | None = None
    order_type: str = "LNORM"  # R2 sends LNORM; R1 (e-commerce fulfilment) sends LNEIG
    order_date: date | None = None  # [CHOSEN] the day of sending when not given


def _local(now: datetime) -> datetime:
    return now.astimezone(_LOCAL) if now.tzinfo else now


def _value(name: str, value: object, max_len: int, check: bool) -> str:
    """A field value. A '#', a line break or a character outside latin-1 would corrupt the file, so
    those are always refused. The length is checked only when ``check`` is True."""
    text = str(value)
    if "#" in text or "\r" in text or "\n" in text:
        raise ValueError(f"{name} may not contain '#' or a line break: {text!r}")
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{name} has characters outside latin-1: {text!r}") from None
    if check and len(text) > max_len:
        raise ValueError(f"{name} is longer than {max_len} characters: {text!r}")
    return text


def _record(*fields: tuple[str, str]) -> str:
    return "".join(f"#{fid}{value}" for fid, value in fields)


def _check_line(number: int, line: OrderLine) -> None:
    if not re.fullmatch(r"[0-9]{13}", line.article) and not re.fullmatch(r"[0-9]{9}[0-9X]", line.article):
        raise ValueError(f"line {number}: article must be 13 digits (or an ISBN-10): {line.article!r}")
    if not (ean.is_valid(line.article) if len(line.article) == 13 else isbn.is_valid(line.article)):
        raise ValueError(f"line {number}: check digit of {line.article} is wrong")
    if not 1 <= line.quantity <= 999:
        raise ValueError(f"line {number}: quantity must be 1-999 (n(3)): {line.quantity}")


def build_opdnaw(order: Order, *, sender_relation_id: str, receiver_relation_id: str = CB_RELATION_ID,
                 reference: str, now: datetime, test: bool = False, check: bool = True) -> bytes:
    """The order file, as latin-1 text with CRLF line ends ([CHOSEN]; CB's server moves it in ASCII mode).

    ``reference`` is the message reference (#0006, an(20), W1). The header and footer both carry it.
    ``test`` sets the test indicator #0008. W1 says it is always 0 for production files.
    ``check=False`` writes an order that breaks CB's content rules (a wrong check digit, a quantity of
    0, a field too long) so QA can see CB refuse it. What would corrupt the file is always refused.
    """
    for name, relation_id in (("sender_relation_id", sender_relation_id),
                              ("receiver_relation_id", receiver_relation_id)):
        if check and not re.fullmatch(r"[0-9]{7}", relation_id):
            raise ValueError(f"{name} must be CB's 7-digit relation id: {relation_id!r}")
    if check and not order.lines:
        raise ValueError("an order needs at least one line")
    local = _local(now)
    order_date = order.order_date or local.date()
    sender = _value("sender_relation_id", sender_relation_id, 7, check)
    receiver = _value("receiver_relation_id", receiver_relation_id, 7, check)
    ref = _value("reference", reference, 20, check)
    order_number = _value("order_number", order.order_number, 10, check)
    records = [
        _record(("0001", "0"), ("0002", "OPDNAW"), ("0003", OPDNAW_VERSION), ("0004", f"{local:%Y%m%d}"),
                ("0005", f"{local:%H%M}"), ("0006", ref), ("0007", "1"), ("0008", "1" if test else "0")),
        _record(("0001", "1"), ("0009", "AFZ"), ("0010", sender), ("0011", "CB")),
        _record(("0001", "1"), ("0009", "ONTV"), ("0010", receiver), ("0011", "CB")),
        _record(("0001", "2"), ("0400", _value("order_type", order.order_type, 6, check)),
                ("0401", f"{order_date:%Y%m%d}"), ("0404", order_number)),
        _record(("0001", "3"), ("0009", "AFN"), ("0010", sender), ("0011", "CB")),
    ]
    address = order.delivery_address
    if address:
        fields = [("0013", address.name, 55), ("0014", address.attention, 55), ("0121", address.street, 43),
                  ("0122", address.house_number, 6), ("0123", address.addition, 10),
                  ("0124", address.postcode, 10), ("0125", address.city, 40), ("0127", address.country, 2)]
        records.append(_record(("0001", "3"), ("0009", "ONTV"), ("0010", NO_RELATION_ID), ("0011", "OWN"),
                               *((fid, _value(f"delivery_address #{fid}", value, size, check))
                                 for fid, value, size in fields if str(value))))
    for number, line in enumerate(order.lines, start=1):
        if check:
            _check_line(number, line)
        line_ref = line.reference if line.reference is not None else str(number)
        records.append(_record(("0001", "4"),
                               ("0200", _value(f"line {number} article", line.article, 13, check)),
                               ("0430", str(line.quantity)),
                               ("0441", _value(f"line {number} reference", line_ref, 10, check))))
    parties = 2 if address else 1
    # the footer counts records of types 2-6 (R1, R2): one transaction, its parties, its lines
    records.append(_record(("0001", "9"), ("0015", "1"), ("0016", str(parties)),
                           ("0017", str(len(order.lines))), ("0018", "0"), ("0019", "0"), ("0006", ref)))
    return ("\r\n".join(records) + "\r\n").encode("latin-1")


# ---- the receipt --------------------------------------------------------------------------------------

class ReceiptFormatError(ValueError):
    """The file is not an ONTBEV receipt this client can read."""


@dataclass(frozen=True)
class ReceiptError:
    """One error CB found: the line of our order file, the field id (``"0200"``), CB's code and texts."""

    line: int
    field: str
    code: str
    text_nl: str
    text_en: str


@dataclass(frozen=True)
class Receipt:
    accepted: bool
    reference: str  # CB's reference of the receipt itself (header #0006)
    original_reference: str  # the reference of our order file that the receipt answers
    original_message_type: str
    records_read: int
    errors: tuple[ReceiptError, ...] = field(default=())

    @property
    def refused_lines(self) -> tuple[int, ...]:
        """The lines of our order file that have an error, in order, each once."""
        return tuple(sorted({e.line for e in self.errors}))


def _fields(line: str) -> dict[str, str]:
    matches = list(_FIELD.finditer(line))
    ends = [m.start() for m in matches[1:]] + [len(line)]
    result: dict[str, str] = {}
    for m, end in zip(matches, ends):
        result.setdefault(m.group(1), line[m.end():end])
    return result


def _number(value: str | None, what: str) -> int:
    if value is None or not re.fullmatch(r"[0-9]+", value):
        raise ReceiptFormatError(f"{what} is not a number: {value!r}")
    return int(value)


def parse_ontbev(data: bytes) -> Receipt:
    """Read an ONTBEV receipt (W2): accepted or not, and the errors per line of the order file.

    Accepts CRLF or LF line ends. Raises ReceiptFormatError for anything that is not an ONTBEV message.
    """
    records = [_fields(line) for line in re.split(r"\r\n|\n|\r", data.decode("latin-1")) if line.strip()]
    if not records or records[0].get("0001") != "0" or records[0].get("0002") != "ONTBEV":
        raise ReceiptFormatError("not an ONTBEV receipt: the first record is not an ONTBEV header")
    transactions = [r for r in records if r.get("0001") == "2"]
    if len(transactions) != 1:
        raise ReceiptFormatError(f"an ONTBEV receipt has one transaction record, found {len(transactions)}")
    tx = transactions[0]
    errors = tuple(
        ReceiptError(_number(r.get(_ERROR_LINE), "error line number"), r.get(_ERROR_FIELD, ""),
                     r.get(_ERROR_CODE, ""), r.get(_ERROR_NL, ""), r.get(_ERROR_EN, ""))
        for r in records if r.get("0001") == "3")
    accepted = tx.get(_ACCEPTED)
    if accepted not in ("0", "1"):
        raise ReceiptFormatError(f"accepted indicator #{_ACCEPTED} must be 0 or 1: {accepted!r}")
    return Receipt(accepted=accepted == "1", reference=records[0].get("0006", ""),
                   original_reference=tx.get(_ORIGINAL_REFERENCE, ""),
                   original_message_type=tx.get(_ORIGINAL_TYPE, ""),
                   records_read=_number(tx.get(_RECORDS_READ, "0"), "records read"), errors=errors)
