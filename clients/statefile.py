"""A client's own state file: one SQLite database that survives a kill -9 and a power cut.

Every client here (Digipoort, CB, the hub, the koppeling) keeps what it must never forget - an intent
before a request goes out, an answer before it is deleted from the server - in such a file: WAL, so
readers do not block the writer; ``synchronous=FULL``, so a committed row is on disk before the client
acts on it; one connection shared by the client's threads under a lock; ``BEGIN IMMEDIATE``
transactions, so two processes on one file take turns instead of failing half-way.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator


class StateFile:
    def __init__(self, path: str | Path, schema: str, busy_timeout: float = 10.0) -> None:
        """Open (or create) the file and its tables; ``busy_timeout``: seconds to wait for another
        process's transaction before giving up."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                   timeout=busy_timeout)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(schema)

    def add_columns(self, columns: Iterable[tuple[str, str, str]]) -> None:
        """Columns (table, column, declaration) added after a file may have been made: added in place."""
        with self._lock:
            for table, column, declaration in columns:
                names = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                if column not in names:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def rows(self, sql: str, args: tuple | list = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()
