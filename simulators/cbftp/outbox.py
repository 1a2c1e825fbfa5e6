"""The files of an account: what went into in/, and what CB placed in out/ until it is fetched.

A file in out/ is removed once a download of it *completed*; an aborted download keeps it. A file
nobody fetches is removed after ``retention`` (an event on the clock, durable across restarts).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.clock import Clock, format_instant, parse_duration
from ..core.errors import BadRequest, Conflict
from ..core.journal import Journal
from ..core.scheduler import Scheduler
from ..core.store import Store
from .config import CBConfig
from .findings import SIM
from .names import name_problem

EVENT_EXPIRE = "cbftp.expire"


@dataclass(frozen=True)
class Fingerprint:
    """Size and SHA-256 of a received file: counted while it arrived, or read back after a crash."""

    size: int
    sha256: str

    @classmethod
    def of_file(cls, path: Path) -> "Fingerprint":
        with open(path, "rb") as fh:
            return cls(os.fstat(fh.fileno()).st_size, hashlib.file_digest(fh, "sha256").hexdigest())


class Outbox:
    """Mixin of ``CBModel``: in/ and out/ bookkeeping."""

    store: Store
    journal: Journal
    config: CBConfig

    clock: Clock
    scheduler: Scheduler

    def place_out(self, relation_id: str, name: str, data: bytes, kind: str) -> None:
        """Write a file into out/ (atomically: a half file is never visible) and plan its expiry."""
        now = self.clock.now()
        self.store.atomic_write(self.folder(relation_id, "out") / name, data, now)
        with self.store.transaction() as db:
            cur = db.execute("INSERT INTO cb_files (relation_id, folder, name, kind, size, sha256, at, state) "
                             "VALUES (?, 'out', ?, ?, ?, ?, ?, 'present')",
                             (relation_id, name, kind, len(data), hashlib.sha256(data).hexdigest(),
                              format_instant(now)))
            self.scheduler.schedule(EVENT_EXPIRE, now + parse_duration(self.config.retention),
                                    {"relation_id": relation_id, "name": name, "file_id": int(cur.lastrowid)})
        self.journal.record(SIM, "file.created", relation_id=relation_id, folder="out", name=name, size=len(data),
                            file_kind=kind)

    def place_file(self, relation_id: str, name: str, data: bytes) -> None:
        """Any file into out/, as if CB placed it (a large one, say, to cut a transfer short): under
        CB's file-name rules, and never over a file still waiting there."""
        problem = name_problem(name)
        if problem:
            raise BadRequest(f"{name!r}: {problem}")
        if name in self.present(relation_id, "out"):
            raise Conflict(f"{name} is already waiting in out/ of {relation_id}")
        self.place_out(relation_id, name, data, "other")

    def on_downloaded(self, relation_id: str, name: str, session: str | None) -> None:
        """A complete download: CB deletes the file (seed 002)."""
        if self.store.remove(self.folder(relation_id, "out") / name):
            self._set_state(relation_id, name, "downloaded")
            self.journal.record(SIM, "file.removed", session, relation_id=relation_id, folder="out", name=name,
                                reason="downloaded")

    def settle_vanished_out_files(self) -> None:
        """After a crash: a file of out/ removed (downloaded or deleted) just before the crash, before its
        state was written, is marked removed now, so its expiry later does not claim it expired."""
        rows = self.store.query_dicts("SELECT id, relation_id, name FROM cb_files WHERE folder = 'out' "
                                      "AND state = 'present'")
        gone = [r for r in rows if not (self.folder(r["relation_id"], "out") / r["name"]).exists()]
        with self.store.transaction() as db:
            for row in gone:
                db.execute("UPDATE cb_files SET state = 'removed' WHERE id = ?", (row["id"],))
        for row in gone:
            self.journal.record(SIM, "file.removed", relation_id=row["relation_id"], folder="out", name=row["name"],
                                reason="removed before a restart")

    def on_deleted(self, relation_id: str, name: str, session: str | None) -> None:
        """The client deleted a file in out/ itself (allowed: it is the client's to fetch or drop)."""
        self._set_state(relation_id, name, "deleted")
        self.journal.record(SIM, "file.removed", session, relation_id=relation_id, folder="out", name=name,
                            reason="DELE")

    def expire(self, relation_id: str, name: str, file_id: int) -> None:
        rows = self.store.query("SELECT state FROM cb_files WHERE id = ?", (file_id,))
        if not rows or rows[0][0] != "present":
            return  # fetched in time (or expired already: the event fired twice after a restart)
        self.store.remove(self.folder(relation_id, "out") / name)
        with self.store.transaction() as db:
            db.execute("UPDATE cb_files SET state = 'expired' WHERE id = ?", (file_id,))
        self.journal.record(SIM, "file.removed", relation_id=relation_id, folder="out", name=name, reason="expired")

    def record_received(self, relation_id: str, name: str, fingerprint: Fingerprint, kind: str,
                        detail: str | None) -> None:
        # One statement (inside an order's transaction it joins that one, so record and answer commit together).
        self.store.write("INSERT INTO cb_files (relation_id, folder, name, kind, size, sha256, at, state, detail) "
                         "VALUES (?, 'in', ?, ?, ?, ?, ?, 'processed', ?)",
                         (relation_id, name, kind, fingerprint.size, fingerprint.sha256,
                          format_instant(self.clock.now()), detail))

    def received_before(self, relation_id: str, name: str) -> bool:
        return bool(self.store.query("SELECT 1 FROM cb_files WHERE relation_id = ? AND folder = 'in' AND name = ?",
                                     (relation_id, name)))

    def files(self, relation_id: str, folder: str | None = None) -> list[dict]:
        sql = ("SELECT folder, name, kind, size, sha256, at, state, detail FROM cb_files WHERE relation_id = ?")
        args: list = [relation_id]
        if folder:
            sql += " AND folder = ?"
            args.append(folder)
        return self.store.query_dicts(sql + " ORDER BY id", args)

    def present(self, relation_id: str, folder: str) -> list[str]:
        """What a LIST of the folder shows right now."""
        path = self.folder(relation_id, folder)
        return sorted(p.name for p in path.iterdir() if p.is_file()) if path.is_dir() else []

    def _set_state(self, relation_id: str, name: str, state: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE cb_files SET state = ? WHERE id = (SELECT MAX(id) FROM cb_files WHERE relation_id = ? "
                       "AND folder = 'out' AND name = ? AND state = 'present')", (state, relation_id, name))


__all__ = ["Outbox", "EVENT_EXPIRE"]
