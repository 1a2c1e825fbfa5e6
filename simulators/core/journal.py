"""The journal: every interaction, stamped with clock time, append-only, queryable and assertable.

Entries are flat dicts: ``id``, ``at`` (clock time), ``sim`` (which simulator), ``kind`` (e.g.
``ftp.command``, ``ftp.reply``, ``file.created``, ``http.request``), ``session`` (a connection id
where there is one) and the kind's own fields. When an expectation fails, the error shows the
closest entries and how they differ, so a failing scenario explains itself.
"""

from __future__ import annotations

import json
import json.encoder
import logging
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .clock import UTC, Clock, format_instant
from .matching import closeness, difference, matches

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    sim TEXT NOT NULL,
    kind TEXT NOT NULL,
    session TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_kind ON journal (sim, kind);
"""

# Fields every entry has; the rest of an entry is the kind's own data.
_BASE_FIELDS = ("id", "at", "sim", "kind", "session")


class JournalMismatch(AssertionError):
    """An expected journal entry is missing (or a forbidden one is present)."""


# Entries are written in batches: every FTP command and reply is journaled, and a commit per entry
# would cost more than the protocol work itself. A batch is written when it is this big, when anyone
# reads the journal, and at least every FLUSH_SECONDS (so a kill -9 loses at most that much).
FLUSH_AT = 512
FLUSH_SECONDS = 0.5
# A full batch is written by the journal's own thread (its SQLite work runs beside the protocol thread,
# which only wakes it); the recording thread writes itself only when this many wait, i.e. the journal's
# thread fell far behind (memory stays bounded).
PENDING_LIMIT = 16 * FLUSH_AT

# Values recorded as they are and encoded later, with the batch: they cannot change meanwhile.
_SETTLED = frozenset((str, int, float, bool, type(None)))
_ROWS_PER_RUN = 32  # entries made into rows between two pauses of the journal's thread (see _rows)

# Every entry's data is encoded alike: one encoder, not a new one per entry as json.dumps(default=...) makes.
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


def _flat_encoder() -> Callable[[dict], str]:
    """``_encode`` for a dict of plain values only (``_SETTLED``), the same text at half the cost: the C
    encoder made once, not per call, and without the check for cycles (a flat dict has none)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # (Python without the json C accelerator)
        return _encode
    encoder = make(None, str, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
    return lambda data: "".join(encoder(data, 0))


_encode_flat = _flat_encoder()


class Journal:
    """Append-only log in its own SQLite file (diagnostics, not business state)."""

    def __init__(self, path: str | Path, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()  # the pending batch and the ids: held for an append, never for a write
        # The database: held while a batch is written or the journal read. A batch is taken from the pending
        # list under both (this one first), so batches reach the database in order, and whoever reads
        # waits for a batch being written; recording meanwhile (the FTP thread) does not wait for the disk.
        self._db_lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")  # diagnostics: safe across a process crash, no fsync
        self._db.executescript(_SCHEMA)
        self._pending: list[tuple] = []
        # Ids are never reused, also after a clear: `since=` marks stay meaningful.
        used = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").fetchone()
        self._next_id = (int(used[0]) if used else 0) + 1
        self._last_id = int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM journal").fetchone()[0])
        self._second: tuple[datetime | None, str] = (None, "")  # (a whole UTC second, its stamp up to ".")
        self._closed = threading.Event()
        self._wake = threading.Event()  # a full batch waits: the journal's thread writes it now
        self._flusher = threading.Thread(target=self._flush_regularly, name="koppelsim-journal", daemon=True)
        self._flusher.start()

    def record(self, sim: str, kind: str, session: str | None = None, **data: Any) -> int:
        moment = self.clock.now()
        # The stamp and the JSON are made when the batch is written (mostly on the journal's own thread):
        # the recording thread, an FTP session's say, only appends. ``data`` is this call's own dict; a
        # value in it that could still change (a list, a dict, any object) is encoded now, as it is now.
        payload: dict | str = data
        for value in data.values():
            if type(value) not in _SETTLED:
                payload = _encode(data)
                break
        with self._lock:
            entry_id = self._last_id = self._next_id
            self._next_id += 1
            self._pending.append((entry_id, moment, sim, kind, session, payload))
            waiting = len(self._pending)
        if waiting == FLUSH_AT:  # exactly once per batch: the list starts anew when it is taken
            self._wake.set()
        elif waiting >= PENDING_LIMIT:
            with self._db_lock:
                self._flush()
        return entry_id

    def _stamp(self, moment: datetime) -> str:
        """``format_instant(moment)``; entries come many per second, so the part up to the second is
        made once per second (for UTC instants, what the clocks give) and only the milliseconds each time."""
        if moment.tzinfo is not UTC:
            return format_instant(moment)
        second = moment.replace(microsecond=0)
        kept = self._second  # one tuple, replaced whole: safe to read from any thread
        if kept[0] != second:
            kept = self._second = (second, format_instant(second)[:-4])  # "...:SS." of "...:SS.000Z"
        return f"{kept[1]}{moment.microsecond // 1000:03d}Z"

    def _flush(self) -> None:
        """Write the pending batch (the caller holds ``_db_lock``, not ``_lock``)."""
        with self._lock:
            batch = self._pending
            if not batch:
                return
            self._pending = []
        try:
            rows = self._rows(batch)
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO journal (id, at, sim, kind, session, data) VALUES (?, ?, ?, ?, ?, ?)",
                                 rows)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            with self._lock:  # not lost: written with the next batch
                self._pending[:0] = batch
            raise

    def _rows(self, batch: list[tuple]) -> list[tuple]:
        """The pending entries as table rows (stamped, data encoded), made in short runs with a pause
        after each: a protocol thread that wants the GIL meanwhile gets it then, not only after the
        interpreter's switch interval (5 ms)."""
        rows, stamp = [], self._stamp
        for start in range(0, len(batch), _ROWS_PER_RUN):
            if start:
                time.sleep(0)  # releases the GIL
            for entry_id, moment, sim, kind, session, payload in batch[start:start + _ROWS_PER_RUN]:
                rows.append((entry_id, stamp(moment), sim, kind, session,
                             payload if type(payload) is str else _encode_flat(payload)))
        return rows

    def _flush_regularly(self) -> None:
        failing = False
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            with self._db_lock:
                if self._closed.is_set():
                    return
                try:
                    self._flush()
                except Exception:  # (the batch is pending again) this thread must live on: it writes every batch
                    if not failing:
                        log.exception("journal: writing entries failed; retrying every %s s", FLUSH_SECONDS)
                    failing = True
                    continue
                if failing:
                    log.warning("journal: entries are written again")
                    failing = False

    def entries(
        self,
        sim: str | None = None,
        kind: str | None = None,
        since: int = 0,
        match: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """Entries in order; ``kind`` may use wildcards (``ftp.*``); ``match`` is a field pattern."""
        if limit is not None and limit <= 0:
            return []
        sql = "SELECT id, at, sim, kind, session, data FROM journal WHERE id > ?"
        args: list[Any] = [since]
        if sim:
            sql += " AND sim = ?"
            args.append(sim)
        if kind and not any(ch in kind for ch in "*?["):
            sql += " AND kind = ?"
            args.append(kind)
        elif kind:
            sql += " AND kind GLOB ?"
            args.append(kind)
        sql += " ORDER BY id"
        with self._db_lock:
            self._flush()
            rows = self._db.execute(sql, args).fetchall()
        found = []
        for row in rows:
            entry = dict(zip(_BASE_FIELDS, row[:5]))
            entry.update(json.loads(row[5]))
            if match and not matches(match, entry):
                continue
            found.append(entry)
            if limit is not None and len(found) >= limit:
                break
        return found

    def last_id(self) -> int:
        """The id of the newest entry (0 when the journal is empty)."""
        with self._lock:
            return self._last_id

    def count(self, pattern: Mapping[str, Any], since: int = 0) -> int:
        return len(self.entries(since=since, match=pattern))

    def expect(self, pattern: Mapping[str, Any], since: int = 0) -> dict:
        """The first entry matching ``pattern``; raises ``JournalMismatch`` naming the nearest misses."""
        candidates = self.entries(since=since)
        for entry in candidates:
            if matches(pattern, entry):
                return entry
        raise JournalMismatch(self.explain_missing(pattern, candidates))

    def expect_none(self, pattern: Mapping[str, Any], since: int = 0) -> None:
        found = self.entries(since=since, match=pattern, limit=3)
        if found:
            shown = "\n".join(f"  {_short(e)}" for e in found)
            raise JournalMismatch(f"expected no journal entry like {dict(pattern)!r}, found:\n{shown}")

    @staticmethod
    def explain_missing(pattern: Mapping[str, Any], candidates: Iterable[dict], show: int = 3) -> str:
        ranked = sorted(candidates, key=lambda e: -closeness(pattern, e))[:show]
        lines = [f"no journal entry matches {dict(pattern)!r}"]
        if not ranked:
            lines.append("  (the journal is empty)")
        for entry in ranked:
            lines.append(f"  closest: {_short(entry)}")
            lines.extend(f"    - {reason}" for reason in difference(pattern, entry))
        return "\n".join(lines)

    def clear(self) -> None:
        with self._db_lock:
            with self._lock:
                self._pending.clear()
                self._last_id = 0
            self._db.execute("DELETE FROM journal")

    def close(self) -> None:
        with self._db_lock:
            self._closed.set()
            self._wake.set()
            self._flush()
            self._db.close()


def _short(entry: Mapping[str, Any]) -> str:
    fields = {k: v for k, v in entry.items() if k not in ("id", "session")}
    text = json.dumps(fields, default=str, ensure_ascii=False)
    return text if len(text) <= 240 else text[:237] + "..."
