"""The communication environment's own state: tenants, messages, return messages, e-invoices, runs.

One SQLite file in WAL mode, one transaction per state change: a hub killed at any moment finds
every message either before or after a change, never half-way. The Digipoort and CB clients keep
their own files next to it; the hub reads what they committed, so nothing they received is lost.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable

from ..statefile import StateFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    vat_number TEXT,                  -- omzetbelastingnummer, the identity of VAT and ICP returns
    kvk_number TEXT,                  -- the identity of KvK filings
    relation_ids TEXT NOT NULL,       -- JSON list: CB relation ids whose invoices are this tenant's
    emails TEXT NOT NULL,             -- JSON list: addresses whose e-invoices are this tenant's
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);  -- e.g. the installation id
CREATE TABLE IF NOT EXISTS messages (
    number TEXT PRIMARY KEY,          -- the unique message number return messages are linked by
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,               -- vat | icp | kvk
    berichtsoort TEXT NOT NULL,
    identity TEXT NOT NULL,
    identity_type TEXT NOT NULL,
    description TEXT NOT NULL,
    filename TEXT NOT NULL,
    payload BLOB NOT NULL,
    fields TEXT NOT NULL,             -- JSON: what it was prepared from (a correction changes only some)
    attempt INTEGER NOT NULL,         -- 1, and one more per resubmission
    status TEXT NOT NULL,             -- prepared | sent | delivered | error | accepted | rejected
    reason TEXT,
    prepared_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_tenant ON messages (tenant, number);
CREATE INDEX IF NOT EXISTS messages_status ON messages (status, number);
CREATE TABLE IF NOT EXISTS attempts (
    ref TEXT PRIMARY KEY,             -- the Digipoort reference (contextId and aanleverkenmerk): CS000001-1-7f3a9c
    number TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    kenmerk TEXT,                     -- Digipoort's kenmerk, from the .ok / .error
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS attempts_kenmerk ON attempts (kenmerk);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL,
    at TEXT NOT NULL,
    event TEXT NOT NULL,              -- prepared, sent, return, kept, resubmitted, problem
    status TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS history_number ON history (number, id);
CREATE TABLE IF NOT EXISTS returns (
    name TEXT PRIMARY KEY,            -- the file name in Digipoort's OUT
    kind TEXT NOT NULL,               -- ok | error | answer
    number TEXT,                      -- null: unknown (it could not be linked)
    attempt INTEGER,
    kenmerk TEXT,
    status TEXT,                      -- what it says: delivered, error, accepted, rejected (null: unreadable)
    detail TEXT,
    content BLOB NOT NULL,
    meta BLOB,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS returns_number ON returns (number);
CREATE INDEX IF NOT EXISTS returns_kenmerk ON returns (kenmerk);
CREATE TABLE IF NOT EXISTS invoices (
    source TEXT NOT NULL,             -- cb:<relation id> or mail
    name TEXT NOT NULL,
    tenant TEXT,                      -- null: unknown (it could not be routed)
    invoice_number TEXT,
    relation_id TEXT,
    customer TEXT,
    payable TEXT,
    problem TEXT,
    content BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (source, name)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL,            -- manual | cli | api | schedule
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL,              -- running | done | failed | interrupted
    summary TEXT
);
"""

# What a reset empties. Not ``settings``: an installation keeps its id, so answers to what it sent
# before the reset are still recognised as its own (and another installation's as not).
TABLES = ("tenants", "counters", "messages", "attempts", "history", "returns", "invoices", "runs")


class HubStore(StateFile):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)  # FULL: a reported status change survives a power cut too

    def one(self, sql: str, args: tuple | list = ()) -> dict[str, Any] | None:
        found = self.rows(sql, args)
        return found[0] if found else None

    def next_number(self, db: sqlite3.Connection, name: str) -> int:
        """The next value of a counter, inside the caller's transaction (never handed out twice)."""
        row = db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
        value = (row[0] if row else 0) + 1
        db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, value))
        return value

    def installation_id(self, new: Callable[[], str]) -> str:
        """This hub database's id, made once by ``new`` and kept: part of every Digipoort reference, so
        that two hubs (two databases) on one account never take each other's return messages."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM settings WHERE name='installation'").fetchone()
            if row is not None:
                return row[0]
            value = new()
            db.execute("INSERT INTO settings (name, value) VALUES ('installation', ?)", (value,))
            return value

    def clear(self) -> None:
        with self.transaction() as db:
            for table in TABLES:
                db.execute(f"DELETE FROM {table}")
