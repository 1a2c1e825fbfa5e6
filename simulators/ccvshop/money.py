"""Amounts: exact decimals inside, JSON numbers on the wire.

Everything is computed with ``Decimal`` rounded half-up to cents [CHOSEN: PHP's round() rounds half away
from zero, which for the positive and negative amounts here is the same]. On the wire an amount is a
JSON number: a whole amount as an integer (the real sample has ``"total_price": 590``), otherwise with
at most two decimals (``"total_tax": 102.4``).

An amount a client sends is read exactly (the REST layer parses JSON numbers as ``Decimal``) and refused,
never rounded, when it has more than two decimals or lies beyond ``MAX_AMOUNT``: an accepted amount is
stored as it was sent.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0")
# [CHOSEN] the largest amount, either way, a write may set: what a DECIMAL(10,2) column (a common shop database
# type) holds. It keeps every total of an order far inside the 15 digits a JSON number (a double) carries
# exactly, so no accepted amount changes on its way to the wire.
MAX_AMOUNT = Decimal("99999999.99")


def dec(value: Any) -> Decimal:
    """A Decimal from an int, a str or a float (a float goes through its shortest repr, 0.1 -> 0.1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and not value.isascii():
        raise ValueError(f"not an amount: {value!r}")  # Decimal() reads other scripts' digits too: "１" is 1
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def cents(value: Any) -> Decimal:
    """Round half-up to whole cents."""
    return dec(value).quantize(CENT, rounding=ROUND_HALF_UP)


def wire(value: Decimal | int | float) -> int | float:
    """An amount as the JSON number CCV writes: 590, 102.4, 0.95."""
    amount = cents(value)
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def has_at_most_two_decimals(value: Any) -> bool:
    """True for a JSON number (int/float/Decimal) with no more than two decimals; False for strings and
    booleans."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    amount = dec(value)
    if not amount.is_finite():
        return False
    # Read off the digits, not computed: quantize() fails past the context's 28 digits (1e300, 1e-999).
    _, digits, exponent = amount.as_tuple()
    beyond_cents = -int(exponent) - 2
    return beyond_cents <= 0 or not any(digits[-beyond_cents:])


def amount_problem(value: Any) -> str | None:
    """Why ``value`` is not an amount a write may set, as the end of "Property 'x' ..." (None: it is one)."""
    if not has_at_most_two_decimals(value):
        return "must be a number with at most two decimals"
    if dec(value).copy_abs() > MAX_AMOUNT:
        return f"is out of range: an amount lies between -{MAX_AMOUNT} and {MAX_AMOUNT}"
    return None
