"""The koppeling's own state: one SQLite file (WAL), one transaction per state change.

Nothing is posted twice because every Twinfield write is preceded by a committed *intent*: an item (or a
customer, or a payment) goes to state ``posting`` together with the exact request, and only then is the
request sent. Whoever finds an item in ``posting`` - the next run after a kill -9, or the same run after
Twinfield timed out - does not know whether Twinfield booked it, so it looks in Twinfield first.

Items (an order or an invoice of the shop) move ``new -> posting -> posted``, or to ``error`` (the Errors
list, with the check or Twinfield message that put it there); an item whose answer was lost stays
``posting`` with check ``unknown``. Its ``sent_request`` outlives every later state change but a refusal:
once a request went out unanswered, any later attempt - after a shop read, a VIES call or a look-up that
failed, or a restart - knows that a booking found in Twinfield is the koppeling's own.

Two processes on one file (the daemon, the dashboard, ``retry``) are kept apart by the lock in ``lock.py``
and, besides, by compare-and-set claims here: an item is taken with ``UPDATE ... WHERE state=? AND
attempts=?`` (``claim_item``), a customer is created only by the caller whose intent INSERT made its row
(``customer_intent``) or whose claim took over a lost creation (``claim_customer``), a payment only by the
caller whose INSERT registered it (``payment_intent``). Payments move ``posting -> posted ->
matched``, or to ``error``. Customers are ``creating`` until Twinfield gave their code.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from ..statefile import StateFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    kind TEXT NOT NULL,                -- order | invoice
    source_id INTEGER NOT NULL,        -- the shop's id
    number TEXT NOT NULL,              -- ordernumber_full / invoicenumber_full
    order_id INTEGER,
    invoicenumber TEXT,                -- what Twinfield's booking carries
    state TEXT NOT NULL,               -- new, posting, posted, error
    check_name TEXT,                   -- on the Errors list: total, vies, vatcode, posted, rounding, twinfield, ...
    reason TEXT,
    retry INTEGER NOT NULL DEFAULT 0,  -- 1: not the order's fault (VIES down): processed again at the next run
    detail TEXT NOT NULL DEFAULT '{}', -- JSON: the request sent, Twinfield's messages, the sale in short
    sent_request TEXT,                 -- the last request sent whose outcome Twinfield did not refuse
    customer TEXT,                     -- the Twinfield debtor code
    email TEXT,
    tw_kind TEXT,                      -- transaction | invoice
    tw_number TEXT,                    -- VRK booking number or Twinfield invoice number
    total TEXT,
    paid INTEGER NOT NULL DEFAULT 0,
    paymethod_id INTEGER,
    transaction_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, source_id)
);
CREATE TABLE IF NOT EXISTS customers (
    email TEXT PRIMARY KEY,            -- lower case: the key the seed matches customers on
    code TEXT,
    state TEXT NOT NULL,               -- creating, created
    name TEXT NOT NULL,                -- the name it was created with: what a look-up after a lost answer uses
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    kind TEXT NOT NULL,
    source_id INTEGER NOT NULL,
    state TEXT NOT NULL,               -- posting, posted, matched, error
    amount TEXT NOT NULL,
    memo_number TEXT,
    reason TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, source_id)
);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class KoppelingStore(StateFile):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA, busy_timeout=30)  # FULL: an intent is on disk before its request goes out
        self.add_columns([("customers", "attempts", "INTEGER NOT NULL DEFAULT 0"), ("items", "sent_request", "TEXT")])
        with self.transaction() as db:  # a file from before sent_request: its open intents kept the request in detail
            db.execute("UPDATE items SET sent_request = json_extract(detail, '$.request') WHERE state = 'posting' "
                       "AND sent_request IS NULL AND json_extract(detail, '$.request') IS NOT NULL")

    # -- items ------------------------------------------------------------------------------------------------

    def item(self, kind: str, source_id: int) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM items WHERE kind=? AND source_id=?", (kind, source_id))
        return _decoded(found[0]) if found else None

    def items(self, *states: str) -> list[dict[str, Any]]:
        sql = "SELECT * FROM items"
        if states:
            sql += f" WHERE state IN ({','.join('?' * len(states))})"
        return [_decoded(r) for r in self.rows(sql + " ORDER BY created_at, source_id", states)]

    def add_item(self, kind: str, source_id: int, number: str, now: str, **fields: Any) -> dict[str, Any]:
        """The item as it is stored: created ``new`` the first time it is seen."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO items (kind, source_id, number, state, created_at, updated_at) "
                       "VALUES (?,?,?,'new',?,?)", (kind, source_id, number, now, now))
            if fields:
                _update(db, "items", kind, source_id, now, fields)
        return self.item(kind, source_id)  # type: ignore[return-value]

    def claim_item(self, item: dict[str, Any], now: str) -> bool:
        """Take the item for posting: True only for the one caller that moved it from the state (and attempt
        count) it read to ``posting`` - a compare-and-set, so two processes never post one item both."""
        with self.transaction() as db:
            cur = db.execute("UPDATE items SET state='posting', attempts=attempts+1, updated_at=? WHERE kind=? AND "
                             "source_id=? AND state=? AND attempts=? AND state IN ('new','error','posting')",
                             (now, item["kind"], item["source_id"], item["state"], item["attempts"]))
            return cur.rowcount == 1

    def set_item(self, kind: str, source_id: int, now: str, **fields: Any) -> None:
        with self.transaction() as db:
            _update(db, "items", kind, source_id, now, fields)

    # -- customers --------------------------------------------------------------------------------------------

    def customer(self, email: str) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM customers WHERE email=?", (email.lower(),))
        return found[0] if found else None

    def customer_intent(self, email: str, name: str, now: str) -> bool:
        """Record that this customer is about to be created; True only for the caller whose row it is."""
        with self.transaction() as db:
            cur = db.execute("INSERT OR IGNORE INTO customers (email, state, name, created_at) "
                             "VALUES (?,'creating',?,?)", (email.lower(), name, now))
            return cur.rowcount == 1

    def claim_customer(self, known: dict[str, Any]) -> bool:
        """Take over a creation whose outcome was never learned (compare-and-set on its attempt count)."""
        with self.transaction() as db:
            cur = db.execute("UPDATE customers SET attempts=attempts+1 WHERE email=? AND state='creating' AND "
                             "attempts=?", (known["email"], known["attempts"]))
            return cur.rowcount == 1

    def customer_created(self, email: str, code: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE customers SET code=?, state='created' WHERE email=?", (code, email.lower()))

    # -- payments ---------------------------------------------------------------------------------------------

    def payment(self, kind: str, source_id: int) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM payments WHERE kind=? AND source_id=?", (kind, source_id))
        return _decoded(found[0]) if found else None

    def payments(self) -> list[dict[str, Any]]:
        return [_decoded(r) for r in self.rows("SELECT * FROM payments ORDER BY updated_at, source_id")]

    def payment_intent(self, kind: str, source_id: int, now: str, **fields: Any) -> bool:
        """Register a payment about to be posted; True only for the caller whose row it is."""
        with self.transaction() as db:
            cur = db.execute("INSERT OR IGNORE INTO payments (kind, source_id, state, amount, updated_at) "
                             "VALUES (?,?,'posting','0',?)", (kind, source_id, now))
            if cur.rowcount != 1:
                return False
            _update(db, "payments", kind, source_id, now, fields)
            return True

    def drop_payment_error(self, kind: str, source_id: int) -> bool:
        """*Process again* on a payment: its error entry goes, for exactly one caller."""
        with self.transaction() as db:
            cur = db.execute("DELETE FROM payments WHERE kind=? AND source_id=? AND state='error'", (kind, source_id))
            return cur.rowcount == 1

    def set_payment(self, kind: str, source_id: int, now: str, **fields: Any) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO payments (kind, source_id, state, amount, updated_at) "
                       "VALUES (?,?,'posting','0',?)", (kind, source_id, now))
            _update(db, "payments", kind, source_id, now, fields)

    # -- tokens and small facts -------------------------------------------------------------------------------

    def tokens(self) -> dict | None:
        found = self.rows("SELECT data FROM tokens WHERE id=1")
        return json.loads(found[0]["data"]) if found else None

    def save_tokens(self, data: dict) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO tokens (id, data) VALUES (1, ?)", (json.dumps(data),))

    def meta(self, key: str) -> str | None:
        found = self.rows("SELECT value FROM meta WHERE key=?", (key,))
        return found[0]["value"] if found else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _update(db: sqlite3.Connection, table: str, kind: str, source_id: int, now: str, fields: dict) -> None:
    values = {k: (json.dumps(v) if k == "detail" else v) for k, v in fields.items()}
    assignments = ", ".join(f"{k}=?" for k in values)
    db.execute(f"UPDATE {table} SET {assignments + ', ' if assignments else ''}updated_at=? "
               "WHERE kind=? AND source_id=?", (*values.values(), now, kind, source_id))


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row["detail"] = json.loads(row.get("detail") or "{}")
    return row
