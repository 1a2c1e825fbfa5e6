"""Delayed work as events on the clock — never a sleeping thread per delay.

Two kinds of event:

* **durable** (``schedule``): a named kind plus a JSON payload, kept in the state database, so an
  answer due in two hours survives a restart of ``koppelsim sim``. Handlers are registered by kind
  and must be idempotent: after a crash an event may fire a second time.
* **transient** (``call_at``): an in-memory callback; what a client in the same process (a scenario)
  uses to poll on the clock.

Firing is driven by the clock. With a ``VirtualClock`` the events fire inside ``advance`` in due
order, the clock standing on each event's due time while it fires. With a ``SystemClock`` a
background thread waits (real time, interruptibly) for the next due event, and a time-travel jump
wakes it at once.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from .clock import Clock, ClockError, VirtualClock, format_instant, parse_duration, parse_instant
from .store import Store

log = logging.getLogger(__name__)

EventHandler = Callable[[dict, datetime], None]

# A jump that keeps producing due events (a handler rescheduling itself at "now") is a bug; stop it
# instead of spinning forever.
MAX_EVENTS_PER_JUMP = 200_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    due TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    failed TEXT                      -- the last error once the attempts are used up; NULL = live
);
CREATE INDEX IF NOT EXISTS timers_due ON timers (due, id);
"""
_COLUMNS = {"attempts": "INTEGER NOT NULL DEFAULT 0", "failed": "TEXT"}

# A durable event whose handler fails is not dropped (that could lose an accepted submission's
# answer): it is tried again after 1, 2, 4, 8 minutes, then kept as failed, visible in /api/clock.
MAX_ATTEMPTS = 5

TRANSIENT_KIND = "(in-process callback)"  # how /api/clock counts call_at events, which have no kind


@dataclass(order=True)
class _Transient:
    due: datetime
    seq: int
    callback: Callable[[datetime], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Durable and transient events, fired in due order as the clock moves."""

    def __init__(self, clock: Clock, store: Store) -> None:
        self.clock = clock
        self.store = store
        self._handlers: dict[str, EventHandler] = {}
        self._transient: list[_Transient] = []
        self._seq = itertools.count()
        self._fire_lock = threading.RLock()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._firing = False
        self._firing_id: int | None = None  # the durable event whose handler runs now
        store.migrate("scheduler", _SCHEMA)
        store.ensure_columns("timers", _COLUMNS)
        clock.add_listener(self._on_clock_jump)

    # -- registration -----------------------------------------------------------------------------

    def register(self, kind: str, handler: EventHandler) -> None:
        self._handlers[kind] = handler

    def schedule(self, kind: str, due: datetime, payload: dict | None = None) -> int:
        """Persist an event; returns its id. ``due`` in the past fires at the next opportunity."""
        if kind not in self._handlers:
            raise KeyError(f"no handler registered for scheduled event kind {kind!r}")
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO timers (due, kind, payload) VALUES (?, ?, ?)",
                (format_instant(due), kind, json.dumps(payload or {}, sort_keys=True)),
            )
            event_id = int(cur.lastrowid)
        self._poke()
        return event_id

    def schedule_in(self, kind: str, delay: str | timedelta, payload: dict | None = None) -> int:
        return self.schedule(kind, self.clock.now() + parse_duration(delay), payload)

    def call_at(self, due: datetime, callback: Callable[[datetime], None]) -> _Transient:
        entry = _Transient(due, next(self._seq), callback)
        with self._fire_lock:
            heapq.heappush(self._transient, entry)
        self._poke()
        return entry

    def cancel_kind(self, kind: str) -> int:
        with self.store.transaction() as db:
            return db.execute("DELETE FROM timers WHERE kind = ?", (kind,)).rowcount

    def pending(self, kind: str | None = None) -> list[dict]:
        """Durable events still to fire. The one firing now is not among them, so a handler that plans
        the next occurrence of its own kind ("if none is pending, schedule one") does plan it."""
        sql = "SELECT id, due, kind, payload FROM timers WHERE failed IS NULL AND id IS NOT ?"
        args: tuple = (self._firing_id,)
        if kind:
            sql += " AND kind = ?"
            args += (kind,)
        rows = self.store.query(sql + " ORDER BY due, id", args)
        return [{"id": r[0], "due": r[1], "kind": r[2], "payload": json.loads(r[3])} for r in rows]

    def failed(self) -> list[dict]:
        """Durable events whose handler kept failing: kept, so nothing is silently lost."""
        rows = self.store.query("SELECT id, due, kind, payload, attempts, failed FROM timers "
                                "WHERE failed IS NOT NULL ORDER BY id")
        return [{"id": r[0], "due": r[1], "kind": r[2], "payload": json.loads(r[3]), "attempts": r[4],
                 "error": r[5]} for r in rows]

    def clear(self) -> None:
        with self._fire_lock:
            self._transient.clear()
            with self.store.transaction() as db:
                db.execute("DELETE FROM timers")

    # -- firing -----------------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        row = self.store.query("SELECT due FROM timers WHERE failed IS NULL ORDER BY due, id LIMIT 1")
        durable = parse_instant(row[0][0]) if row else None
        # A peek without the firing lock: asking "what is next" must not wait for a batch to fire.
        upcoming = [e for e in list(self._transient) if not e.cancelled]
        transient = min((e.due for e in upcoming), default=None)
        candidates = [d for d in (durable, transient) if d is not None]
        return min(candidates) if candidates else None

    def run_due(self, until: datetime | None = None) -> int:
        """Fire every event due at or before ``until`` (default: now), in due order."""
        fired = 0
        with self._fire_lock:
            if self._firing:  # a handler advanced the clock: the outer loop picks up new events
                return 0
            self._firing = True
            try:
                while fired < MAX_EVENTS_PER_JUMP:
                    limit = until if until is not None else self.clock.now()
                    event = self._pop_next(limit)
                    if event is None:
                        break
                    self._fire(event)
                    fired += 1
                else:
                    log.error("stopped after %d events in one jump; a handler keeps rescheduling itself",
                              fired)
            finally:
                self._firing = False
        return fired

    def _pop_next(self, limit: datetime) -> tuple | None:
        row = self.store.query(
            "SELECT id, due, kind, payload FROM timers WHERE failed IS NULL AND due <= ? ORDER BY due, id LIMIT 1",
            (format_instant(limit),),
        )
        durable = row[0] if row else None
        while self._transient and self._transient[0].cancelled:
            heapq.heappop(self._transient)
        transient = self._transient[0] if self._transient and self._transient[0].due <= limit else None
        if durable is None and transient is None:
            return None
        if transient is not None and (durable is None or transient.due < parse_instant(durable[1])):
            heapq.heappop(self._transient)
            return ("transient", transient)
        return ("durable", durable)

    def _fire(self, event: tuple) -> None:
        sort, item = event
        due = item.due if sort == "transient" else parse_instant(item[1])
        if isinstance(self.clock, VirtualClock):
            self.clock.pin(due)
        try:
            if sort == "transient":
                item.callback(due)
                return
            event_id, _, kind, payload = item
            handler = self._handlers.get(kind)
            if handler is None:
                log.error("dropping scheduled event %s of unknown kind %r", event_id, kind)
            else:
                self._firing_id = event_id
                try:
                    handler(json.loads(payload), due)
                finally:
                    self._firing_id = None
            with self.store.transaction() as db:
                db.execute("DELETE FROM timers WHERE id = ?", (event_id,))
        except Exception as exc:  # one broken event must not stop the clock for everyone else
            log.exception("scheduled event %r failed", event)
            if sort == "durable":
                self._retry_later(item[0], due, exc)

    def _retry_later(self, event_id: int, due: datetime, error: Exception) -> None:
        with self.store.transaction() as db:
            (attempts,) = db.execute("SELECT attempts FROM timers WHERE id = ?", (event_id,)).fetchone()
            attempts += 1
            if attempts >= MAX_ATTEMPTS:
                db.execute("UPDATE timers SET attempts = ?, failed = ? WHERE id = ?",
                           (attempts, f"{type(error).__name__}: {error}", event_id))
                return
            later = max(due, self.clock.now()) + timedelta(minutes=2 ** (attempts - 1))
            db.execute("UPDATE timers SET attempts = ?, due = ? WHERE id = ?",
                       (attempts, format_instant(later), event_id))

    def advance(self, delta: str | int | float | timedelta) -> datetime:
        """Move the clock forward, firing every event that falls due on the way, in order."""
        target = self.clock.now() + parse_duration(delta)
        return self.advance_to(target)

    def advance_to(self, target: datetime | str) -> datetime:
        target = parse_instant(target)
        now = self.clock.now()
        if target < now - timedelta(milliseconds=1):
            raise ClockError(f"the clock cannot move backwards (now {format_instant(now)}, "
                             f"asked {format_instant(target)})")
        if isinstance(self.clock, VirtualClock):
            # Fire on the way so each event sees its own due time, then land on the target.
            self.run_due(until=target)
            return self.clock.set(max(target, self.clock.now()))
        moment = self.clock.set(target)
        # Time travel in sim mode: fire what fell due now, in this thread, so that whoever moved the
        # clock finds the answers in place when the call returns.
        self.run_due()
        return moment

    # -- the real-time loop (sim mode) ------------------------------------------------------------

    def _on_clock_jump(self, moment: datetime) -> None:
        if isinstance(self.clock, VirtualClock):
            self.run_due(until=moment)
        else:
            self._poke()

    def _poke(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def start(self) -> None:
        """Fire events in real time (only meaningful with a ``SystemClock``)."""
        if self._thread is not None or isinstance(self.clock, VirtualClock):
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="koppelsim-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop firing: the real-time thread ends and the clock no longer reaches this scheduler."""
        self.clock.remove_listener(self._on_clock_jump)
        self._stopping = True
        self._poke()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping:
            try:
                self.run_due()
                upcoming = self.next_due()
            except Exception:
                log.exception("scheduler loop error")
                upcoming = None
            with self._wake:
                if self._stopping:
                    break
                if upcoming is None:
                    wait = 60.0
                else:
                    wait = max(0.0, (upcoming - self.clock.now()).total_seconds())
                if wait > 0:
                    self._wake.wait(timeout=min(wait, 60.0))

    def describe(self) -> dict[str, Any]:
        """Counts for /api/clock; ``by_kind`` shows what is waiting (a simulator's recurring events,
        such as CB's weekly maintenance, are there from the start)."""
        upcoming = self.next_due()
        by_kind = dict(self.store.query(
            "SELECT kind, COUNT(*) FROM timers WHERE failed IS NULL GROUP BY kind ORDER BY kind"))
        failed = self.store.query("SELECT COUNT(*) FROM timers WHERE failed IS NOT NULL")[0][0]
        transient = sum(1 for e in list(self._transient) if not e.cancelled)
        if transient:
            by_kind[TRANSIENT_KIND] = transient
        return {"pending": sum(by_kind.values()), "failed": failed,
                "next_due": format_instant(upcoming) if upcoming else None, "by_kind": by_kind}
