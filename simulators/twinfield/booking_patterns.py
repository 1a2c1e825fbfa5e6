"""Bookings against the patterns a scenario states: which fields differ, and the closest bookings when none fits.

A pattern is a booking's fields (``code``, ``invoicenumber``, ``number``, ...) plus ``lines`` (exactly these,
in order) or ``has_lines`` (at least these). Values are the journal's patterns (wildcards), and amounts compare
as amounts: ``82.2`` matches ``"82.20"``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.matching import value_matches


def value_matches_amount(expected: Any, actual: Any) -> bool:
    """Like the journal's patterns, and amounts compare as amounts (82.2 matches "82.20")."""
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(actual, str):
        try:
            return Decimal(str(expected)) == Decimal(actual)
        except InvalidOperation:
            return False
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(actual, int):
        return expected == actual
    return value_matches(expected, actual)


def line_difference(pattern: dict, line: dict) -> list[str]:
    return [f"{k}: expected {v!r}, got {line.get(k)!r}" for k, v in pattern.items() if not value_matches_amount(v, line.get(k))]


def booking_difference(pattern: dict, booking: dict) -> list[str]:
    reasons = []
    for key, expected in pattern.items():
        if key == "lines":
            if len(expected) != len(booking["lines"]):
                reasons.append(f"lines: expected {len(expected)}, got {len(booking['lines'])}")
                continue
            for i, (want, line) in enumerate(zip(expected, booking["lines"])):
                reasons.extend(f"line {i + 1}: {r}" for r in line_difference(want, line))
        elif key == "has_lines":
            for want in expected:
                if not any(not line_difference(want, line) for line in booking["lines"]):
                    reasons.append(f"no line like {want}")
        elif not value_matches_amount(expected, booking.get(key)):
            reasons.append(f"{key}: expected {expected!r}, got {booking.get(key)!r}")
    return reasons


def describe_booking(view: dict) -> str:
    lines = ", ".join(f"{ln['type']} {ln['dim1']}/{ln['dim2'] or '-'} {ln['debitcredit']} {ln['value']}"
                      f"{' ' + ln['vatcode'] if ln['vatcode'] else ''}" for ln in view["lines"])
    return (f"{view['office']} {view['code']} {view['number']} ({view['location']}, invoice "
            f"{view['invoicenumber']}): {lines}")


def explain_no_match(pattern: dict, views: list[dict], show: int = 3) -> str:
    out = [f"no booking matches {pattern}"]
    if not views:
        out.append("  (there are no bookings)")
    for view in sorted(views, key=lambda v: len(booking_difference(pattern, v)))[:show]:
        out.append(f"  closest: {describe_booking(view)}")
        out.extend(f"    - {reason}" for reason in booking_difference(pattern, view))
    return "\n".join(out)


def row_matches(wanted: list, row: list[str]) -> bool:
    return len(wanted) <= len(row) and all(value_matches_amount(w, r) for w, r in zip(wanted, row))
