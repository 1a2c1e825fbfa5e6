"""State that survives a restart: one SQLite database plus a files area under the state dir.

Writes that matter are atomic: a file appears under its final name only when it is complete and on
disk (write to a staging name, fsync, rename, fsync the directory). Nothing half written is ever
visible in a simulator's ``IN``/``OUT`` folders, also not after a kill -9.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

STAGING_DIR = ".staging"


class Store:
    """The state database (WAL, synchronous FULL) and the files area, shared by all simulators."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.files_root = self.state_dir / "files"
        self.files_root.mkdir(exist_ok=True)
        self.db_path = self.state_dir / "state.db"
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrated: set[str] = set()

    # -- database ---------------------------------------------------------------------------------

    def migrate(self, name: str, schema_sql: str) -> None:
        """Create a component's tables (idempotent; ``CREATE ... IF NOT EXISTS``)."""
        with self._lock:
            if name in self._migrated:
                return
            self._db.executescript(schema_sql)
            self._migrated.add(name)

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
                raise
            else:
                self._db.execute("COMMIT")

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def query_dicts(self, sql: str, args: Sequence[Any] = ()) -> list[dict]:
        with self._lock:
            cur = self._db.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- files ------------------------------------------------------------------------------------

    def area(self, *parts: str) -> Path:
        """A directory in the files area (created on first use)."""
        path = self.files_root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def staging_for(self, final_path: Path) -> Path:
        """A staging name on the same file system as ``final_path`` (so the rename is atomic)."""
        staging = self.files_root / STAGING_DIR
        staging.mkdir(exist_ok=True)
        return staging / f"{uuid.uuid4().hex}.part"

    def atomic_write(self, final_path: Path, data: bytes, mtime: datetime | None = None) -> None:
        """Write ``data`` so that ``final_path`` is either absent or complete, also after a crash."""
        staging = self.staging_for(final_path)
        with open(staging, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        publish(staging, final_path, mtime)

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


def publish(staging: Path, final_path: Path, mtime: datetime | None = None) -> None:
    """Atomically move a complete, fsynced staging file to its final name and make that durable.

    ``mtime`` is the clock's time, so a listing shows simulated time, not the host's.
    """
    if mtime is not None:
        stamp = mtime.timestamp()
        os.utime(staging, (stamp, stamp))
    os.replace(staging, final_path)
    fsync_dir(final_path.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_durably(path: Path) -> bool:
    """Unlink ``path`` and make the removal durable; False when it was already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True
