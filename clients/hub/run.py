"""One send/receive run of the communication environment.

1. Take the run lock: a second run while one is going is refused with a clear message (SPEC §8).
2. Take in what a previous, killed run left in the Digipoort client's store (answers it had fetched).
3. Deliver every prepared message through the Digipoort client, all in one FTPS session.
4. Poll Digipoort's OUT once, and link every return message to its message by number.
5. Collect incoming e-invoices (CB over FTPS, the e-mail channel) and route them to tenants.

Crash safety without a shared transaction between the hub's and the client's databases: the hub's
reference for a message is its number plus attempt (``CS000042-1``), chosen before the client records
anything. After a kill the hub finds that reference in the client's store and never records (or sends)
it twice; the client's own state finishes a half-sent submission. Return messages are taken from the
client's store, where they are committed before they are deleted from Digipoort, by a cursor that
moves in the same transaction as each status change: none is lost, none is counted twice.
"""

from __future__ import annotations

import ftplib
import json
import os
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .errors import RunInProgress
from .invoices import collect_invoices
from .returns import read_return, split_ref

if TYPE_CHECKING:
    from .hub import Hub

# Where a test makes the hub die like kill -9 (os._exit) or wait for a line on stdin.
CRASH_ENV = "KOPPELSIM_HUB_CRASH_AT"
PAUSE_ENV = "KOPPELSIM_HUB_PAUSE_AT"
CRASH_POINTS = ("after_upload", "after_download")
PAUSE_POINTS = ("after_lock",)
UNSENT = (None, "new", "data_sent", "meta_sending")
_LOCKS: dict[str, threading.Lock] = {}  # one per hub database in this process
_LOCKS_GUARD = threading.Lock()


@dataclass
class RunReport:
    run: int
    trigger: str
    sent: list[str] = field(default_factory=list)
    returns: list[dict] = field(default_factory=list)  # {name, number, status}
    unknown: list[str] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)  # {name, tenant}
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def run_send_receive(hub: "Hub", trigger: str, progress: Callable[[str, str], None] | None) -> RunReport:
    say = progress or (lambda kind, detail: None)
    lock = _process_lock(hub)
    if not lock.acquire(blocking=False):
        raise RunInProgress(_busy_message(hub))
    try:
        report = RunReport(_start(hub, trigger), trigger)
        say("locked", f"run {report.run}")
        _pause_point("after_lock")
        try:
            _work(hub, report, say)
            state = "done"
        except Exception as exc:  # the run ends, recorded as failed; the hub itself keeps running
            report.problems.append(f"{type(exc).__name__}: {exc}")
            state = "failed"
        with hub.store.transaction() as db:
            db.execute("UPDATE runs SET state=?, finished_at=?, summary=? WHERE id=?",
                       (state, hub._stamp(), json.dumps(_summary(report)), report.run))
        return report
    finally:
        lock.release()


def _work(hub: "Hub", report: RunReport, say: Callable[[str, str], None]) -> None:
    if hub.digipoort is not None:
        try:
            _take_in(hub, report)  # what a killed run had fetched but not yet linked
            _deliver(hub, report, say)
            hub.digipoort.poll()
            _crash_point("after_download")
            _take_in(hub, report)
        except ftplib.all_errors as exc:  # Digipoort unreachable: what is queued waits for the next run
            report.problems.append(f"Digipoort: {type(exc).__name__}: {exc}")
            say("problem", report.problems[-1])
    collect_invoices(hub, report)
    for item in report.returns:
        say("return", f"{item['name']}: {item['number'] or 'unknown'} {item['status'] or ''}".rstrip())


def _deliver(hub: "Hub", report: RunReport, say: Callable[[str, str], None]) -> None:
    client = hub.digipoort
    queued = hub.store.rows("SELECT number, attempt, berichtsoort, identity, identity_type, filename, payload "
                            "FROM messages WHERE status='prepared' ORDER BY number")
    for message in queued:
        ref = f"{message['number']}-{message['attempt']}"
        if client.store.submission(ref) is None:  # recorded before a kill: never a second time
            client.prepare(message["payload"], berichtsoort=message["berichtsoort"], identity=message["identity"],
                           identity_type=message["identity_type"], aanleverkenmerk=ref,
                           filename=message["filename"], ref=ref)
        with hub.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO attempts (ref, number, attempt) VALUES (?,?,?)",
                       (ref, message["number"], message["attempt"]))
    if queued:
        say("delivering", f"{len(queued)} message(s)")
        client.resume()  # every unsent submission in one FTPS session, half-sent ones finished
    _crash_point("after_upload")
    # Also the ones a killed run had uploaded without noting it: the client's state says what was sent.
    for message in hub.store.rows("SELECT m.number, m.attempt FROM messages m WHERE m.status='prepared' "
                                  "ORDER BY m.number"):
        ref = f"{message['number']}-{message['attempt']}"
        if client.status(ref) in UNSENT:
            continue
        with hub.store.transaction() as db:
            db.execute("UPDATE attempts SET sent_at=? WHERE ref=?", (hub._stamp(), ref))
            hub.apply_status(db, message["number"], message["attempt"], "sent", "sent to Digipoort", ref)
        report.sent.append(message["number"])


def _take_in(hub: "Hub", report: RunReport) -> None:
    """Link every return message the Digipoort client has stored since the last one taken in."""
    client_store = hub.digipoort.store
    cursor = (hub.store.one("SELECT value FROM counters WHERE name='returns_cursor'") or {"value": 0})["value"]
    rows = client_store.rows("SELECT rowid AS id, name, kind, kenmerk, content FROM responses WHERE rowid > ? "
                             "ORDER BY rowid", (cursor,))
    metas = {r["name"]: r["content"] for r in rows if r["kind"] == "answer_meta"}
    for row in rows:
        with hub.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES ('returns_cursor', ?)", (row["id"],))
            if row["kind"] == "answer_meta":
                continue  # kept with its answer
            meta = metas.get(f"{row['name']}.meta")
            if meta is None and row["kind"] == "answer":
                found = client_store.response(f"{row['name']}.meta")
                meta = found["content"] if found else None
            report.returns.append(_link(hub, db, row, meta, report))


def _link(hub: "Hub", db, row: dict, meta: bytes | None, report: RunReport) -> dict:
    info = read_return(row["kind"], row["name"], row["content"])
    linked = split_ref(info.ref)
    if linked and not db.execute("SELECT 1 FROM messages WHERE number=?", (linked[0],)).fetchone():
        linked = None  # names a number we never gave out
    if linked is None and row["kenmerk"]:
        found = db.execute("SELECT number, attempt FROM attempts WHERE kenmerk=?", (row["kenmerk"],)).fetchone()
        linked = (found[0], found[1]) if found else None
    number, attempt = linked if linked else (None, None)
    db.execute("INSERT OR IGNORE INTO returns (name, kind, number, attempt, kenmerk, status, detail, content, meta, "
               "received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
               (row["name"], row["kind"], number, attempt, row["kenmerk"], info.status, info.detail, row["content"],
                meta, hub._stamp()))
    if number is None:
        report.unknown.append(row["name"])
    else:
        if row["kind"] in ("ok", "error"):
            # The first transport response names Digipoort's kenmerk; a late duplicate does not rename it.
            db.execute("UPDATE attempts SET kenmerk=COALESCE(kenmerk, ?) WHERE number=? AND attempt=?",
                       (row["kenmerk"], number, attempt))
        if info.status is None:
            hub._note(db, number, "problem", None, info.detail)
            report.problems.append(f"{number}: {info.detail}")
        else:
            hub.apply_status(db, number, attempt, info.status, info.detail, row["name"])
    return {"name": row["name"], "number": number, "status": info.status}


# -- the run lock -------------------------------------------------------------------------------------

def _process_lock(hub: "Hub") -> threading.Lock:
    key = str(Path(hub.store.path).resolve())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def _start(hub: "Hub", trigger: str) -> int:
    """Record this run as running, unless another process's run is (a killed one's row is closed)."""
    with hub.store.transaction() as db:
        row = db.execute("SELECT id, pid FROM runs WHERE state='running'").fetchone()
        if row is not None:
            if row[1] != os.getpid() and _alive(row[1]):
                raise RunInProgress(_busy_message(hub))
            db.execute("UPDATE runs SET state='interrupted', finished_at=? WHERE id=?", (hub._stamp(), row[0]))
        cur = db.execute("INSERT INTO runs (trigger, pid, started_at, state) VALUES (?,?,?, 'running')",
                         (trigger, os.getpid(), hub._stamp()))
        return int(cur.lastrowid)


def _busy_message(hub: "Hub") -> str:
    row = hub.store.one("SELECT id, trigger, started_at FROM runs WHERE state='running' ORDER BY id DESC LIMIT 1")
    since = f" (run {row['id']}, {row['trigger']}, started {row['started_at']})" if row else ""
    return (f"a send/receive run is already in progress{since}; only one may run at a time — "
            "try again when it has finished")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _summary(report: RunReport) -> dict:
    return {"sent": len(report.sent), "returns": len(report.returns), "unknown": len(report.unknown),
            "invoices": len(report.invoices), "problems": report.problems[:20]}


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)


def _pause_point(name: str) -> None:
    """Hold the run here until a line arrives on stdin: a test starts a second run meanwhile."""
    if os.environ.get(PAUSE_ENV) == name:
        print(f"paused at {name}", flush=True)
        sys.stdin.readline()
