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
    uploaded_at TEXT,
    attempted_at TEXT,                -- a STOR went out and no reply came back (yet): it may have arrived
    refused_at TEXT,                  -- CB refused it for good (5xx): never sent again
    reply TEXT                        -- CB's reply that settled it, when that is worth keeping
);
CREATE TABLE IF NOT EXISTS received (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS downloading (
    name TEXT PRIMARY KEY,
    size INTEGER                      -- CB's stored octets (SIZE in TYPE I); NULL when CB did not say
);
CREATE TABLE IF NOT EXISTS incomplete (
    name TEXT PRIMARY KEY,            -- not received: CB deleted it before all of it arrived here, or refused it
    path TEXT,                        -- the part kept for inspection (NULL: nothing of it arrived)
    kept INTEGER NOT NULL,            -- octets on disk
    size INTEGER,                     -- CB's stored octets, when known
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added after the first files were made (CREATE TABLE IF NOT EXISTS leaves an old table as it is).
_LATER_COLUMNS = (("uploads", "attempted_at", "TEXT"), ("uploads", "refused_at", "TEXT"), ("uploads", "reply", "TEXT"))


class CBClientStore(StateFile):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)
        self.add_columns(_LATER_COLUMNS)

    def next_sequence(self) -> int:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM state WHERE key = 'sequence'").fetchone()
            value = int(row[0]) + 1 if row else 1
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('sequence', ?)", (str(value),))
        return value

    # -- uploads ------------------------------------------------------------------------------------

    def queue_upload(self, name: str, data: bytes, kind: str, at: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO uploads (name, kind, content, queued_at) VALUES (?,?,?,?)",
                       (name, kind, data, at.isoformat()))

    def pending_uploads(self) -> list[dict]:
        """What still has to go to CB: neither uploaded nor refused (``attempted_at`` set: it may be there)."""
        return self.rows("SELECT name, kind, content, attempted_at FROM uploads "
                         "WHERE uploaded_at IS NULL AND refused_at IS NULL ORDER BY queued_at, name")

    def note_attempt(self, name: str, at: datetime) -> None:
        """Committed before the STOR goes out: a crash from here on leaves the upload in doubt."""
        with self.transaction() as db:
            db.execute("UPDATE uploads SET attempted_at = COALESCE(attempted_at, ?) WHERE name = ?",
                       (at.isoformat(), name))

    def clear_attempt(self, name: str) -> None:
        """CB answered that it did not store the file (4xx): no longer in doubt."""
        with self.transaction() as db:
            db.execute("UPDATE uploads SET attempted_at = NULL WHERE name = ?", (name,))

    def mark_uploaded(self, name: str, at: datetime, reply: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE uploads SET uploaded_at = ?, reply = ? WHERE name = ?", (at.isoformat(), reply, name))

    def mark_refused(self, name: str, at: datetime, reply: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE uploads SET refused_at = ?, reply = ? WHERE name = ?", (at.isoformat(), reply, name))

    def uploads(self) -> list[dict]:
        return self.rows("SELECT name, kind, queued_at, uploaded_at, refused_at, reply FROM uploads "
                         "ORDER BY queued_at, name")

    def refused_uploads(self) -> list[dict]:
        """Uploads CB refused for good, with its reply: for someone to look at, never sent again."""
        return self.rows("SELECT name, kind, queued_at, refused_at, reply FROM uploads WHERE refused_at IS NOT NULL "
                         "ORDER BY refused_at, name")

    # -- logins -------------------------------------------------------------------------------------

    def last_login(self) -> datetime | None:
        row = self.rows("SELECT value FROM state WHERE key = 'last_login'")
        return datetime.fromisoformat(row[0]["value"]) if row else None

    def note_login(self, at: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('last_login', ?)", (at.isoformat(),))

    # -- downloads ----------------------------------------------------------------------------------

    def note_downloading(self, name: str, size: int | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO downloading (name, size) VALUES (?, ?)", (name, size))

    def downloading(self) -> dict[str, int | None]:
        """Downloads under way when the client last stopped: name -> CB's stored octets (None when unknown)."""
        return {r["name"]: r["size"] for r in self.rows("SELECT name, size FROM downloading ORDER BY name")}

    def forget_downloading(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM downloading WHERE name = ?", (name,))

    def mark_received(self, name: str, path: Path, kind: str, at: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO received (name, kind, path, received_at) VALUES (?,?,?,?)",
                       (name, kind, str(path), at.isoformat()))
            db.execute("DELETE FROM downloading WHERE name = ?", (name,))
            db.execute("DELETE FROM incomplete WHERE name = ?", (name,))  # CB sent it again, whole this time

    def mark_incomplete(self, name: str, path: Path | None, kept: int, size: int | None, reason: str,
                        at: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO incomplete (name, path, kept, size, reason, at) VALUES (?,?,?,?,?,?)",
                       (name, str(path) if path else None, kept, size, reason, at.isoformat()))
            db.execute("DELETE FROM downloading WHERE name = ?", (name,))

    def incomplete_files(self) -> list[dict]:
        """Files listed in out/ that never arrived whole (CB deleted them first, or refused to send them):
        lost unless CB places them again."""
        return self.rows("SELECT name, path, kept, size, reason, at FROM incomplete ORDER BY at, name")

    def received(self, name: str) -> bool:
        return bool(self.rows("SELECT 1 FROM received WHERE name = ?", (name,)))

    def received_files(self, kind: str | None = None) -> list[dict]:
        if kind:
            return self.rows("SELECT * FROM received WHERE kind = ? ORDER BY received_at, name", (kind,))
        return self.rows("SELECT * FROM received ORDER BY received_at, name")
