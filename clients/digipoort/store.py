"""The Digipoort client's own state: submissions and every response, in one SQLite file.

Durability is the point: a response counts as received only once its bytes are committed here, and
only then is it deleted from the server. A client killed at any moment resumes from this file
without submitting twice or losing an answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..statefile import StateFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    ref TEXT PRIMARY KEY,             -- our data-reference id (contextId)
    berichtsoort TEXT NOT NULL,
    identity_number TEXT NOT NULL,
    identity_type TEXT NOT NULL,
    rol TEXT NOT NULL,
    aanleverkenmerk TEXT,
    eerder_aanleverkenmerk TEXT,
    data_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    payload BLOB NOT NULL,
    state TEXT NOT NULL,              -- new, data_sent, meta_sending, sent, transported, error, refused (5xx to an
                                      -- upload: nothing submitted), accepted, rejected
    kenmerk TEXT,                     -- Digipoort's reference, from the .ok/.error name
    foutcode TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS responses (
    name TEXT PRIMARY KEY,            -- file name in OUT
    kind TEXT NOT NULL,               -- ok, error, answer, answer_meta
    kenmerk TEXT,
    ref TEXT,                         -- linked submission (null while unknown)
    content BLOB NOT NULL,
    received_at TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0  -- deleted from the server
);
-- Every answer is linked by kenmerk and every .ok looks for answers that came early: without these, each
-- poll of n responses costs n full scans.
CREATE INDEX IF NOT EXISTS submissions_kenmerk ON submissions (kenmerk);
CREATE INDEX IF NOT EXISTS submissions_state ON submissions (state);
CREATE INDEX IF NOT EXISTS responses_kenmerk ON responses (kenmerk);
CREATE INDEX IF NOT EXISTS responses_undeleted ON responses (removed) WHERE removed = 0;
"""


class ClientStore(StateFile):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)

    def submission(self, ref: str) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM submissions WHERE ref=?", (ref,))
        return found[0] if found else None

    def by_kenmerk(self, kenmerk: str) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM submissions WHERE kenmerk=?", (kenmerk,))
        return found[0] if found else None

    def set_state(self, ref: str, state: str, now: str, **fields: Any) -> None:
        assignments = ", ".join(f"{k}=?" for k in fields)
        sql = f"UPDATE submissions SET state=?, updated_at=?{', ' + assignments if assignments else ''} WHERE ref=?"
        with self.transaction() as db:
            db.execute(sql, (state, now, *fields.values(), ref))

    def response(self, name: str) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM responses WHERE name=?", (name,))
        return found[0] if found else None

