"""State that survives a restart: one SQLite database plus a files area under the state dir.

Writes that matter are atomic: a file appears under its final name only when it is complete (write
to a staging name, then rename). Nothing half written is ever visible in a simulator's ``IN``/``OUT``
folders, also not after a kill -9.

Durability, configurable (``durability`` in the config):

* ``process`` (default) — survives the death of the process (kill -9, a crash): what was written and
  committed is in the kernel's page cache, which outlives the process. No fsync at all (SQLite WAL with
  synchronous OFF: "if the application crashes, the data will be safe"). What a test harness needs,
  at a fraction of the cost.
* ``power`` — also survives a power cut or OS crash: every file and directory change is fsynced and
  SQLite commits with synchronous FULL.

Read-mostly lookups (a simulator's offices, users, VAT codes) can be kept in memory with ``TableCache``:
each result is stamped with the change count of the tables it came from, counted by per-connection
(TEMP) triggers on every insert, update and delete, and by every rollback. The Store's connection is the
only writer of the state database (one process per state dir), so the counts see every change.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Hashable, Iterator, Sequence

STAGING_DIR = ".staging"


DURABILITY = ("process", "power")


class Store:
    """The state database (WAL) and the files area, shared by all simulators."""

    def __init__(self, state_dir: str | Path, durability: str = "process") -> None:
        if durability not in DURABILITY:
            raise ValueError(f"durability must be one of {', '.join(DURABILITY)}, got {durability!r}")
        self.sync = durability == "power"
        self.state_dir = Path(state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.files_root = self.state_dir / "files"
        self.files_root.mkdir(exist_ok=True)
        self._staging = self.files_root / STAGING_DIR
        self._staging.mkdir(exist_ok=True)
        self.db_path = self.state_dir / "state.db"
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if self.sync else 'OFF'}")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrated: set[str] = set()
        # Change counts of watched tables (see TableCache), bumped by TEMP triggers through this function
        self._changes: dict[str, int] = {}
        self._db.create_function("koppelsim_changed", 1, self._count_change)

    # -- database ---------------------------------------------------------------------------------

    def migrate(self, name: str, schema_sql: str) -> None:
        """Create a component's tables (idempotent; ``CREATE ... IF NOT EXISTS``)."""
        with self._lock:
            if name in self._migrated:
                return
            self._db.executescript(schema_sql)
            self._migrated.add(name)

    def ensure_columns(self, table: str, columns: dict[str, str]) -> None:
        """Add columns a newer version needs to a table an older version created (state dirs live on)."""
        with self._lock:
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, declaration in columns.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of writes; nested use joins the outer transaction."""
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                self._count_rollback()
                raise
            else:
                self._db.execute("COMMIT")

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, for statements inside an open ``transaction()`` of the calling thread."""
        if not self._db.in_transaction:
            raise RuntimeError("Store.connection is for use inside store.transaction()")
        return self._db

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def query_dicts(self, sql: str, args: Sequence[Any] = ()) -> list[dict]:
        with self._lock:
            cur = self._db.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def write(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One writing statement, atomic on its own (SQLite commits it by itself; inside an open
        ``transaction()`` of this thread it joins that one); how many rows it changed. For a single
        statement this is what ``transaction()`` gives, without the BEGIN and COMMIT round trips."""
        with self._lock:
            return self._db.execute(sql, args).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- change counts (for TableCache) -----------------------------------------------------------

    def watch(self, *tables: str) -> None:
        """Count every change of these tables from now on (idempotent)."""
        with self._lock:
            for table in tables:
                if table in self._changes:
                    continue
                if not table.isidentifier():
                    raise ValueError(f"not a table name: {table!r}")
                for event in ("INSERT", "UPDATE", "DELETE"):
                    # TEMP: lives in this connection only, so no other connection needs the function
                    self._db.execute(f"CREATE TEMP TRIGGER IF NOT EXISTS koppelsim_{table}_{event.lower()} "
                                     f"AFTER {event} ON main.{table} BEGIN SELECT koppelsim_changed('{table}'); END")
                self._changes[table] = 0

    def changes(self, table: str) -> int:
        """How often a watched table changed (rows written, plus rollbacks): equal counts, equal contents."""
        return self._changes[table]

    def _count_change(self, table: str) -> None:
        self._changes[table] += 1

    def _count_rollback(self) -> None:
        # What was rolled back may have been read (and kept) inside the transaction: every count moves.
        for table in self._changes:
            self._changes[table] += 1

    # -- files ------------------------------------------------------------------------------------

    def area(self, *parts: str) -> Path:
        """A directory in the files area (created on first use)."""
        path = self.files_root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def new_staging_path(self) -> Path:
        """A fresh name in the files area's staging folder: on the same file system as every folder
        of the files area, so moving the finished file into place is an atomic rename."""
        return self._staging / f"{uuid.uuid4().hex}.part"

    def atomic_write(self, final_path: Path, data: bytes, mtime: datetime | None = None) -> None:
        """Write ``data`` so that ``final_path`` is either absent or complete, also after a crash."""
        staging = self.new_staging_path()
        with open(staging, "wb") as fh:
            fh.write(data)
            if self.sync:
                fh.flush()
                os.fsync(fh.fileno())
        publish(staging, final_path, mtime, sync=self.sync)

    def publish(self, staging: Path, final_path: Path, mtime: datetime | None = None) -> None:
        publish(staging, final_path, mtime, sync=self.sync)

    def remove(self, path: Path) -> bool:
        return remove_durably(path, sync=self.sync)

    def move(self, source: Path, target: Path) -> None:
        """Rename within the files area (durably against power loss with ``durability: power``)."""
        os.replace(source, target)
        if self.sync:
            fsync_dir(target.parent)
            fsync_dir(source.parent)

    def sweep_staging(self) -> int:
        """Remove staging leftovers of transfers a crash interrupted; they were never visible."""
        staging = self.files_root / STAGING_DIR
        if not staging.is_dir():
            return 0
        count = 0
        for leftover in staging.iterdir():
            leftover.unlink(missing_ok=True)
            count += 1
        return count


class TableCache:
    """Query results kept until one of ``tables`` changes (read-mostly lookups: offices, users, VAT codes).

    A result is stamped with the tables' change count read *before* the query, so a result read while a
    change was being made is stamped with the older count and not served once the change is visible. A
    result read inside an open transaction (which may still roll back) is never kept. Results are tuples of
    rows (tuples): immutable, so every caller may share them.
    """

    def __init__(self, store: Store, *tables: str, max_entries: int = 4096) -> None:
        store.watch(*tables)
        self.store = store
        self.tables = tables
        self.max_entries = max_entries
        self._kept: dict[Hashable, tuple[int, tuple]] = {}

    def _version(self) -> int:
        changes = self.store._changes
        return sum(changes[t] for t in self.tables)

    def rows(self, sql: str, args: tuple = ()) -> tuple[tuple, ...]:
        key = (sql, args)
        version = self._version()
        kept = self._kept.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        store = self.store
        with store._lock:
            rows = tuple(store._db.execute(sql, args).fetchall())
            keep = not store._db.in_transaction  # inside one, only this thread can be: it holds the lock
        if keep:
            if len(self._kept) >= self.max_entries:
                self._kept.clear()
            self._kept[key] = (version, rows)
        return rows

    def clear(self) -> None:
        self._kept.clear()


def publish(staging: Path, final_path: Path, mtime: datetime | None = None, sync: bool = True) -> None:
    """Atomically move a complete staging file to its final name (and with ``sync`` make that durable
    against power loss; the caller fsynced the file itself).

    ``mtime`` is the clock's time, so a listing shows simulated time, not the host's.
    """
    if mtime is not None:
        stamp = mtime.timestamp()
        os.utime(staging, (stamp, stamp))
    os.replace(staging, final_path)
    if sync:
        fsync_dir(final_path.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_durably(path: Path, sync: bool = True) -> bool:
    """Unlink ``path`` (with ``sync``: durably against power loss); False when it was already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    if sync:
        fsync_dir(path.parent)
    return True
