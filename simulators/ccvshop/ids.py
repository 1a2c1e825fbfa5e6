"""The shop's ids: nine-digit numbers as in the real samples, counting up per table. [CHOSEN] where they start."""

from __future__ import annotations

from typing import Any

FIRST_ID = {"ccv_orders": 340_000_001, "ccv_orderrows": 648_300_001, "ccv_invoices": 52_000_001,
            "ccv_invoicerows": 98_000_001, "ccv_apps": 4_401}


def next_id(db: Any, table: str) -> int:
    """The next id of ``table`` (inside the caller's transaction, so two writers never get the same one)."""
    (current,) = db.execute(f"SELECT MAX(id) FROM {table}").fetchone()
    return FIRST_ID[table] if current is None else current + 1
