"""The files of an account: what went into in/, and what CB placed in out/ until it is fetched.

A file in out/ is removed once a download of it *completed*; an aborted download keeps it. A file
nobody fetches is removed after ``retention`` (an event on the clock, durable across restarts).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..core.clock import Clock, format_instant, parse_duration
from ..core.errors import BadRequest, Conflict
from ..core.journal import Journal
from ..core.scheduler import Scheduler
from ..core.store import Store
from .config import CBConfig
from .findings import SIM
from .listing import date_folder
from .names import name_problem

EVENT_EXPIRE = "cbftp.expire"
_WAITING = "SELECT 1 FROM cb_files WHERE relation_id = ? AND folder = 'out' AND name = ? AND state = 'present'"


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

    def place_out(self, relation_id: str, name: str, data: bytes, kind: str,
                  alternatives: Iterable[str] = ()) -> str:
        """Write a file into out/ (atomically: a half file is never visible), record it, plan its expiry;
        the name it got. CB never replaces a file that waits in out/ unread (its row, its expiry and the
        customer's copy would no longer agree): when ``name`` is taken, the first free one of
        ``alternatives``; with none free, Conflict."""
        now = self.clock.now()
        out = self.folder(relation_id, "out")
        # The choice of name and the placing in one transaction, under the store's lock: nothing else
        # is placed in between (an order's answer, an invoice and the admin API run on different threads).
        with self.store.transaction() as db:
            name = self.free_out_name(db, relation_id, name, alternatives)
            self.store.atomic_write(out / name, data, now)
            cur = db.execute("INSERT INTO cb_files (relation_id, folder, name, kind, size, sha256, at, state) "
                             "VALUES (?, 'out', ?, ?, ?, ?, ?, 'present')",
                             (relation_id, name, kind, len(data), hashlib.sha256(data).hexdigest(),
                              format_instant(now)))
            self.scheduler.schedule(EVENT_EXPIRE, now + parse_duration(self.config.retention),
                                    {"relation_id": relation_id, "name": name, "file_id": int(cur.lastrowid)})
        date_folder(out, now)
        self.journal.record(SIM, "file.created", relation_id=relation_id, folder="out", name=name, size=len(data),
                            file_kind=kind)
        return name

    def free_out_name(self, db: sqlite3.Connection, relation_id: str, name: str,
                      alternatives: Iterable[str] = ()) -> str:
        """The first of ``name`` and ``alternatives`` no file in out/ holds; Conflict when all are taken.
        ``db``: the open transaction in which the caller places it (no one places in between)."""
        out = self.folder(relation_id, "out")
        for candidate in itertools.chain((name,), alternatives):
            # Waiting = recorded as present (also while a download removes it and has not yet said so)
            # or on disk at all (a file nobody recorded is not ours to replace either).
            if not (db.execute(_WAITING, (relation_id, candidate)).fetchone() or os.path.lexists(out / candidate)):
                return candidate
        raise Conflict(f"{name} is already waiting in out/ of {relation_id}")

    def place_file(self, relation_id: str, name: str, data: bytes) -> None:
        """Any file into out/, as if CB placed it (a large one, say, to cut a transfer short): under
        CB's file-name rules, and never over a file still waiting there."""
        problem = name_problem(name)
        if problem:
            raise BadRequest(f"{name!r}: {problem}")
        self.place_out(relation_id, name, data, "other")

    def on_downloaded(self, relation_id: str, name: str, session: str | None) -> None:
        """A complete download: CB deletes the file (seed 002)."""
        out = self.folder(relation_id, "out")
        if self.store.remove(out / name):
            self._set_state(relation_id, name, "downloaded")
            date_folder(out, self.clock.now())
            self.journal.record(SIM, "file.removed", session, relation_id=relation_id, folder="out", name=name,
                                reason="downloaded")

    def settle_out_folders(self, relation_ids: Iterable[str]) -> None:
        """After a crash, make out/ and its rows agree again, before anyone connects:

        * a file removed (downloaded or deleted) just before the crash, before its state was written, is
          marked removed, so its expiry later does not claim it expired;
        * a file placed by a transaction the crash cut short has no row: it is removed (the order it
          answered is taken again from in/; the invoice's number is free again);
        * several rows present under one name (left by versions that replaced an unread file): the
          newest is the file on disk, the older ones are marked removed, so their expiry cannot take it.
        """
        rows = self.store.query("SELECT id, relation_id, name FROM cb_files WHERE folder = 'out' "
                                "AND state = 'present' ORDER BY id")
        newest: dict[tuple[str, str], int] = {}
        for file_id, relation_id, name in rows:
            newest[(relation_id, name)] = file_id
        superseded = [(i, r, n) for i, r, n in rows if newest[(r, n)] != i]
        vanished = [(i, r, n) for (r, n), i in newest.items() if not (self.folder(r, "out") / n).exists()]
        orphans = [(r, path) for r in sorted({*relation_ids, *(r for r, _ in newest)})
                   for path in self._files_in(self.folder(r, "out")) if (r, path.name) not in newest]
        with self.store.transaction() as db:
            for file_id, _, _ in superseded + vanished:
                db.execute("UPDATE cb_files SET state = 'removed' WHERE id = ?", (file_id,))
        now = self.clock.now()
        for relation_id, path in orphans:
            self.store.remove(path)
        for relation_id in {r for _, r, _ in vanished} | {r for r, _ in orphans}:
            if self.folder(relation_id, "out").is_dir():  # (an account's folders may have gone with it)
                date_folder(self.folder(relation_id, "out"), now)
        for reason, removed in (("replaced by a newer file of the same name", superseded),
                                ("removed before a restart", vanished)):
            for _, relation_id, name in removed:
                self.journal.record(SIM, "file.removed", relation_id=relation_id, folder="out", name=name,
                                    reason=reason)
        for relation_id, path in orphans:
            self.journal.record(SIM, "file.removed", relation_id=relation_id, folder="out", name=path.name,
                                reason="placed but not recorded before a restart")

    @staticmethod
    def _files_in(folder: Path) -> list[Path]:
        return [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []

    def on_deleted(self, relation_id: str, name: str, session: str | None) -> None:
        """The client deleted a file in out/ itself (allowed: it is the client's to fetch or drop)."""
        self._set_state(relation_id, name, "deleted")
        date_folder(self.folder(relation_id, "out"), self.clock.now())
        self.journal.record(SIM, "file.removed", session, relation_id=relation_id, folder="out", name=name,
                            reason="DELE")

    def expire(self, relation_id: str, name: str, file_id: int) -> None:
        rows = self.store.query("SELECT state FROM cb_files WHERE id = ?", (file_id,))
        if not rows or rows[0][0] != "present":
            return  # fetched in time (or expired already: the event fired twice after a restart)
        # With one present row per name (``place_out``), the file of this name is this row's file.
        out = self.folder(relation_id, "out")
        self.store.remove(out / name)
        with self.store.transaction() as db:
            db.execute("UPDATE cb_files SET state = 'expired' WHERE id = ?", (file_id,))
        date_folder(out, self.clock.now())
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
        return sorted(p.name for p in self._files_in(self.folder(relation_id, folder)))

    def _set_state(self, relation_id: str, name: str, state: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE cb_files SET state = ? WHERE id = (SELECT MAX(id) FROM cb_files WHERE relation_id = ? "
                       "AND folder = 'out' AND name = ? AND state = 'present')", (state, relation_id, name))


__all__ = ["Outbox", "EVENT_EXPIRE"]
