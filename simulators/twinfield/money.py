"""Amounts, dates and periods as Twinfield writes them.

Amounts are ``Decimal`` throughout (never floats): two decimals, a point, an optional minus.
[CHOSEN] VAT is rounded per line, half up ("rekenkundig afronden"), the way invoice lines show it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from . import errors

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# ASCII digits only, here and in every number read from a request: ``\d``, ``int()`` and ``Decimal()`` also read
# other scripts' digits (Arabic-Indic ``١٢١``, fullwidth ``１２１``) as numbers, and Twinfield does not.
_AMOUNT = re.compile(r"^-?[0-9]{1,15}(\.[0-9]+)?$")
# [CHOSEN] a quantity, number of units or unit price: a plain decimal (no exponent, as .NET's decimal reads it by
# default), at most 15 digits either side of the point; bounded so that their product stays a number.
_NUMBER = re.compile(r"[-+]?[0-9]{1,15}(\.[0-9]{1,15})?")
_PERIOD = re.compile(r"^([0-9]{4})/([0-9]{1,2})$")


class BadValue(ValueError):
    """A field that cannot be read; the message is Twinfield's text for the field."""


def parse_amount(text: str | None) -> Decimal:
    raw = (text or "").strip()
    if not _AMOUNT.match(raw):
        raise BadValue(errors.bad_amount(raw))
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes this
        raise BadValue(errors.bad_amount(raw)) from None
    if value != value.quantize(CENT):
        raise BadValue(errors.too_many_decimals(raw))
    return value.quantize(CENT)


def parse_quantity(text: str | None) -> Decimal:
    raw = (text or "").strip() or "1"
    value = plain_number(raw)
    if value is None:
        raise BadValue(errors.bad_amount(raw))
    return value


def plain_number(text: str) -> Decimal | None:
    """``text`` as a decimal when it is a plain one (see ``_NUMBER``), else None."""
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def fmt(value: Decimal) -> str:
    """``1210.00``: two decimals, no thousands separator; never ``-0.00``."""
    value = value.quantize(CENT)
    return f"{value + 0:.2f}" if value != 0 else "0.00"


def vat_of(base: Decimal, percentage: Decimal) -> Decimal:
    return (base * percentage / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_date(text: str | None) -> date:
    raw = (text or "").strip()
    try:
        if len(raw) == 8 and raw.isascii() and raw.isdigit():  # what strptime reads it as, without its cost
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        if not raw.isascii():  # strptime would read other scripts' digits
            raise ValueError(raw)
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        raise BadValue(errors.bad_date(raw)) from None


def fmt_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def parse_period(text: str) -> tuple[int, int]:
    match = _PERIOD.match(text.strip())
    if not match or not 0 <= int(match.group(2)) <= 56:  # 0 opening balance, 55 year end (Twinfield)
        raise BadValue(errors.bad_period(text))
    return int(match.group(1)), int(match.group(2))


def period_of(day: date) -> str:
    """A transaction's period: ``2026/05`` (zero padded, as transactions carry it)."""
    return f"{day.year}/{day.month:02d}"


def invoice_period_of(day: date) -> str:
    """A sales invoice's period: ``2021/11``, ``2012/8`` - not padded (murb and php-twinfield fixtures)."""
    return f"{day.year}/{day.month}"


def plus_days(day: date, days: int) -> date:
    """``day`` plus ``days``; a result past the calendar's end (9999-12-31) makes ``day`` unusable."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise BadValue(errors.bad_date(fmt_date(day))) from None
