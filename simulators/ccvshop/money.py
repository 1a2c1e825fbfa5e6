"""Amounts: exact decimals inside, JSON numbers on the wire.

Everything is computed with ``Decimal`` rounded half-up to cents [CHOSEN: PHP's round() rounds half away
from zero, which for the positive and negative amounts here is the same]. On the wire an amount is a
JSON number: a whole amount as an integer (the real sample has ``"total_price": 590``), otherwise with
at most two decimals (``"total_tax": 102.4``).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0")


def dec(value: Any) -> Decimal:
    """A Decimal from an int, a str or a float (a float goes through its shortest repr, 0.1 -> 0.1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, float):
        return Decimal(repr(value))
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
    """True for a JSON number (int/float) with no more than two decimals; False for strings and booleans."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    amount = dec(value)
    return amount == amount.quantize(CENT)
