"""The CB client's own state: what waits to be sent, what arrived, when it last logged in."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    name TEXT PRIMARY KEY,            -- never reused: CB refuses a name it has seen
    kind TEXT NOT NULL,
    content BLOB NOT NULL,
    queued_at TEXT NOT NULL,
    uploaded_at TEXT
);
CREATE TABLE IF NOT EXISTS received (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS downloading (
    name TEXT PRIMARY KEY,
    size INTEGER                      -- CB's size of a binary file; NULL for text (it changes in transit)
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class CBClientStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def next_sequence(self) -> int:
        with self._tx() as db:
            row = db.execute("SELECT value FROM state WHERE key = 'sequence'").fetchone()
            value = int(row[0]) + 1 if row else 1
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('sequence', ?)", (str(value),))
        return value

    def queue_upload(self, name: str, data: bytes, kind: str, at: datetime) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO uploads (name, kind, content, queued_at) VALUES (?,?,?,?)",
                       (name, kind, data, at.isoformat()))

    def pending_uploads(self) -> list[dict]:
        return self._rows("SELECT name, kind, content FROM uploads WHERE uploaded_at IS NULL ORDER BY queued_at, name")

    def mark_uploaded(self, name: str, at: datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE uploads SET uploaded_at = ? WHERE name = ?", (at.isoformat(), name))

    def uploads(self) -> list[dict]:
        return self._rows("SELECT name, kind, queued_at, uploaded_at FROM uploads ORDER BY queued_at, name")

    def last_login(self) -> datetime | None:
        row = self._rows("SELECT value FROM state WHERE key = 'last_login'")
        return datetime.fromisoformat(row[0]["value"]) if row else None

    def note_login(self, at: datetime) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('last_login', ?)", (at.isoformat(),))

    def note_downloading(self, name: str, size: int | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO downloading (name, size) VALUES (?, ?)", (name, size))

    def downloading(self) -> dict[str, int | None]:
        """Downloads under way when the client last stopped: name -> CB's size (None when unknown)."""
        return {r["name"]: r["size"] for r in self._rows("SELECT name, size FROM downloading ORDER BY name")}

    def forget_downloading(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM downloading WHERE name = ?", (name,))

    def mark_received(self, name: str, path: Path, kind: str, at: datetime) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO received (name, kind, path, received_at) VALUES (?,?,?,?)",
                       (name, kind, str(path), at.isoformat()))
            db.execute("DELETE FROM downloading WHERE name = ?", (name,))

    def received(self, name: str) -> bool:
        return bool(self._rows("SELECT 1 FROM received WHERE name = ?", (name,)))

    def received_files(self, kind: str | None = None) -> list[dict]:
        if kind:
            return self._rows("SELECT * FROM received WHERE kind = ? ORDER BY received_at, name", (kind,))
        return self._rows("SELECT * FROM received ORDER BY received_at, name")

    def close(self) -> None:
        with self._lock:
            self._db.close()
