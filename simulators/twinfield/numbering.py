"""Number sequences, counted inside the caller's database transaction so two bookings never share a number.

Transaction numbers are the period's year followed by five digits per office and journal (``202600001``:
the shape of every real number in the public fixtures: 201300095, 202100006, 202000011). Sales invoice
numbers count from 1 per office and invoice type (murb fixtures: 3, 13, 1630).
"""

from __future__ import annotations

import sqlite3


def next_value(db: sqlite3.Connection, office: str, name: str) -> int:
    # One statement: the first number of a sequence is 1, each next one the last plus one
    return db.execute("INSERT INTO tw_sequences (office, name, last) VALUES (?,?,1) ON CONFLICT(office, name) "
                      "DO UPDATE SET last=last+1 RETURNING last", (office, name)).fetchall()[0][0]


def transaction_number(db: sqlite3.Connection, office: str, journal: str, year: int) -> str:
    return f"{year}{next_value(db, office, f'{journal}/{year}'):05d}"


def invoice_number(db: sqlite3.Connection, office: str, invoicetype: str) -> str:
    return str(next_value(db, office, f"INV/{invoicetype}"))


def match_number(db: sqlite3.Connection, office: str) -> str:
    return str(next_value(db, office, "MATCH"))
