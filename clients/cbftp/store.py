"""The CB client's own state: what waits to be sent, what arrived, when it last logged in."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..statefile import StateFile

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


class CBClientStore(StateFile):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)

    def next_sequence(self) -> int:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM state WHERE key = 'sequence'").fetchone()
            value = int(row[0]) + 1 if row else 1
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('sequence', ?)", (str(value),))
        return value

    def queue_upload(self, name: str, data: bytes, kind: str, at: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO uploads (name, kind, content, queued_at) VALUES (?,?,?,?)",
                       (name, kind, data, at.isoformat()))

    def pending_uploads(self) -> list[dict]:
        return self.rows("SELECT name, kind, content FROM uploads WHERE uploaded_at IS NULL ORDER BY queued_at, name")

    def mark_uploaded(self, name: str, at: datetime) -> None:
        with self.transaction() as db:
            db.execute("UPDATE uploads SET uploaded_at = ? WHERE name = ?", (at.isoformat(), name))

    def uploads(self) -> list[dict]:
        return self.rows("SELECT name, kind, queued_at, uploaded_at FROM uploads ORDER BY queued_at, name")

    def last_login(self) -> datetime | None:
        row = self.rows("SELECT value FROM state WHERE key = 'last_login'")
        return datetime.fromisoformat(row[0]["value"]) if row else None

    def note_login(self, at: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('last_login', ?)", (at.isoformat(),))

    def note_downloading(self, name: str, size: int | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO downloading (name, size) VALUES (?, ?)", (name, size))

    def downloading(self) -> dict[str, int | None]:
        """Downloads under way when the client last stopped: name -> CB's size (None when unknown)."""
        return {r["name"]: r["size"] for r in self.rows("SELECT name, size FROM downloading ORDER BY name")}

    def forget_downloading(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM downloading WHERE name = ?", (name,))

    def mark_received(self, name: str, path: Path, kind: str, at: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO received (name, kind, path, received_at) VALUES (?,?,?,?)",
                       (name, kind, str(path), at.isoformat()))
            db.execute("DELETE FROM downloading WHERE name = ?", (name,))

    def received(self, name: str) -> bool:
        return bool(self.rows("SELECT 1 FROM received WHERE name = ?", (name,)))

    def received_files(self, kind: str | None = None) -> list[dict]:
        if kind:
            return self.rows("SELECT * FROM received WHERE kind = ? ORDER BY received_at, name", (kind,))
        return self.rows("SELECT * FROM received ORDER BY received_at, name")
