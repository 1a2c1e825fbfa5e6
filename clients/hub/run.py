"""One send/receive run of the communication environment.

1. Take the run lock: a second run while one is going is refused with a clear message (SPEC §8).
2. Take in what a previous, killed run left in the Digipoort client's store (answers it had fetched).
3. Deliver every prepared message through the Digipoort client, all in one FTPS session, each on its
   own: one Digipoort refuses (a 5xx such as 552, too large) goes to ``error`` with the server's reply,
   the others still go. A connection failure ends the delivery, not the run.
4. Poll Digipoort's OUT once (its own step: it runs even when delivery failed), and link every return
   message to its attempt: a ``.ok``/``.error`` by our exact reference, an answer by the kenmerk that
   reference's ``.ok`` recorded (``returns.py``).
5. Collect incoming e-invoices (CB over FTPS, the e-mail channel) and route them to tenants.

Crash safety without a shared transaction between the hub's and the client's databases: the hub's
reference for an attempt (``CS000042-1-7f3a9c``) is recorded here before the client records anything.
After a kill the hub finds that reference in the client's store and never records (or sends) it twice;
the client's own state finishes a half-sent submission. Return messages are taken from the client's
store, where they are committed before they are deleted from Digipoort, by name: a return message is
taken in the same transaction that records it here, so none is lost and none is counted twice.
"""

from __future__ import annotations

import fcntl
import ftplib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .errors import RunInProgress
from .invoices import collect_invoices
from .returns import make_ref, read_return

if TYPE_CHECKING:
    from .hub import Hub

# Where a test makes the hub die like kill -9 (os._exit) or wait for a line on stdin.
CRASH_ENV = "KOPPELSIM_HUB_CRASH_AT"
PAUSE_ENV = "KOPPELSIM_HUB_PAUSE_AT"
CRASH_POINTS = ("after_upload", "after_download")
PAUSE_POINTS = ("after_lock",)
UNSENT = (None, "new", "data_sent", "meta_sending")


@dataclass
class RunReport:
    run: int
    trigger: str
    sent: list[str] = field(default_factory=list)
    returns: list[dict] = field(default_factory=list)  # {name, number, status}
    unknown: list[str] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)  # {name, tenant}
    problems: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {number, reason}: refused by Digipoort at upload

    def as_dict(self) -> dict:
        return asdict(self)


def run_send_receive(hub: "Hub", trigger: str, progress: Callable[[str, str], None] | None) -> RunReport:
    say = progress or (lambda kind, detail: None)
    lock = RunLock(hub.store.path)
    if not lock.acquire():
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
        _take_in(hub, report)  # what a killed run had fetched but not yet linked
        try:
            _deliver(hub, report, say)
        except ftplib.all_errors as exc:  # Digipoort unreachable: what is not sent waits for the next run
            _problem(report, say, f"Digipoort (delivery): {type(exc).__name__}: {exc}")
        try:
            hub.digipoort.poll()
            _crash_point("after_download")
        except ftplib.all_errors as exc:  # what is in OUT waits there for the next run
            _problem(report, say, f"Digipoort (poll): {type(exc).__name__}: {exc}")
        _take_in(hub, report)
    elif (waiting := _count_prepared(hub)) > 0:
        # A hub without Digipoort (a koppelsim started with --only hub, say) cannot send: say so, rather than
        # report a run that did nothing as if all was well.
        _problem(report, say, f"no Digipoort connection: {waiting} message(s) stay prepared "
                              "(start the digipoort simulator with the hub)")
    collect_invoices(hub, report)
    for item in report.returns:
        say("return", f"{item['name']}: {item['number'] or 'unknown'} {item['status'] or ''}".rstrip())


def _count_prepared(hub: "Hub") -> int:
    return hub.store.one("SELECT COUNT(*) AS n FROM messages WHERE status='prepared'")["n"]


def _problem(report: RunReport, say: Callable[[str, str], None], text: str) -> None:
    report.problems.append(text)
    say("problem", text)


def _deliver(hub: "Hub", report: RunReport, say: Callable[[str, str], None]) -> None:
    client = hub.digipoort
    queued = hub.store.rows("SELECT m.number, m.attempt, m.berichtsoort, m.identity, m.identity_type, m.filename, "
                            "a.ref FROM messages m LEFT JOIN attempts a ON a.number=m.number AND a.attempt=m.attempt "
                            "WHERE m.status='prepared' ORDER BY m.number")
    fresh = [m for m in queued if m["ref"] is None]
    if fresh:  # the reference is recorded here first: after a kill, the same one is used again
        with hub.store.transaction() as db:
            for message in fresh:
                message["ref"] = make_ref(message["number"], message["attempt"], hub.installation)
                db.execute("INSERT INTO attempts (ref, number, attempt) VALUES (?,?,?)",
                           (message["ref"], message["number"], message["attempt"]))
    for message in queued:
        if client.store.submission(message["ref"]) is None:  # recorded before a kill: never a second time
            payload = hub.store.one("SELECT payload FROM messages WHERE number=?", (message["number"],))["payload"]
            client.prepare(payload, berichtsoort=message["berichtsoort"], identity=message["identity"],
                           identity_type=message["identity_type"], aanleverkenmerk=message["ref"],
                           filename=message["filename"], ref=message["ref"])
    try:
        if queued:
            say("delivering", f"{len(queued)} message(s)")
            client.resume()  # every unsent submission in one FTPS session, half-sent ones finished
        _crash_point("after_upload")
    finally:  # also after a failure half-way: what did go out is sent
        _note_sent(hub, report, say)


def _note_sent(hub: "Hub", report: RunReport, say: Callable[[str, str], None]) -> None:
    """Move every prepared message the client has sent (or Digipoort refused) on, in one transaction.

    The client's state says what went out — also what a killed run had uploaded without noting it here."""
    client = hub.digipoort
    waiting = hub.store.rows("SELECT m.number, m.attempt, a.ref FROM messages m JOIN attempts a ON "
                             "a.number=m.number AND a.attempt=m.attempt WHERE m.status='prepared' ORDER BY m.number")
    moves = []
    for message in waiting:
        sub = client.store.submission(message["ref"])
        if sub is not None and sub["state"] not in UNSENT:
            moves.append((message, sub))
    if not moves:
        return
    with hub.store.transaction() as db:
        for message, sub in moves:
            if sub["state"] == "refused":  # nothing was submitted; the tenant can correct and resubmit
                reason = f"Digipoort refused the upload: {sub['reason'].removeprefix('upload refused: ')}"
                hub.apply_status(db, message["number"], message["attempt"], "error", reason, message["ref"])
                report.errors.append({"number": message["number"], "reason": reason})
                continue
            db.execute("UPDATE attempts SET sent_at=? WHERE ref=?", (hub._stamp(), message["ref"]))
            hub.apply_status(db, message["number"], message["attempt"], "sent", "sent to Digipoort", message["ref"])
            report.sent.append(message["number"])
    for item in report.errors:
        _problem(report, say, f"{item['number']}: {item['reason']}")


def _take_in(hub: "Hub", report: RunReport) -> None:
    """Link every return message the Digipoort client has stored and the hub has not taken in yet.

    By name: the hub's ``returns`` table holds every one it took, each recorded in the same transaction
    as the status change it caused. All in one transaction, each in its own savepoint, so a return
    message that cannot be processed is reported and the others still go."""
    client_store = hub.digipoort.store
    taken = {r["name"] for r in hub.store.rows("SELECT name FROM returns")}
    new = [r["name"] for r in client_store.rows("SELECT name FROM responses WHERE kind != 'answer_meta' "
                                                "ORDER BY rowid") if r["name"] not in taken]
    if not new:
        return
    with hub.store.transaction() as db:
        for name in new:
            row = client_store.response(name)
            meta = client_store.response(f"{name}.meta") if row["kind"] == "answer" else None
            db.execute("SAVEPOINT return_message")
            try:
                report.returns.append(_link(hub, db, row, meta["content"] if meta else None, report))
            except Exception as exc:  # kept in the client's store; tried again next run
                db.execute("ROLLBACK TO return_message")
                report.problems.append(f"{name}: {type(exc).__name__}: {exc}")
            db.execute("RELEASE return_message")


def _link(hub: "Hub", db, row: dict, meta: bytes | None, report: RunReport) -> dict:
    info = read_return(row["kind"], row["name"], row["content"])
    transport = row["kind"] in ("ok", "error")
    if transport:  # by our exact reference: number, attempt and this installation's id
        ref = row["name"].rsplit("_", 1)[0]
        found = db.execute("SELECT number, attempt, kenmerk FROM attempts WHERE ref=?", (ref,)).fetchone()
    else:  # by the kenmerk the .ok of our reference recorded, and by nothing else
        found = db.execute("SELECT number, attempt, kenmerk FROM attempts WHERE kenmerk=?",
                           (row["kenmerk"],)).fetchone() if row["kenmerk"] else None
    number, attempt = (found[0], found[1]) if found else (None, None)
    db.execute("INSERT OR IGNORE INTO returns (name, kind, number, attempt, kenmerk, status, detail, content, meta, "
               "received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
               (row["name"], row["kind"], number, attempt, row["kenmerk"], info.status, info.detail, row["content"],
                meta, hub._stamp()))
    if number is None:
        report.unknown.append(row["name"])
        return {"name": row["name"], "number": None, "status": info.status}
    if transport and found[2] is None:
        # The first transport response names Digipoort's kenmerk; a late duplicate does not rename it.
        db.execute("UPDATE attempts SET kenmerk=? WHERE ref=?", (row["kenmerk"], ref))
    _apply(hub, db, report, number, attempt, info.status, info.detail, row["name"])
    if transport and found[2] is None:
        _link_early_answers(hub, db, report, row["kenmerk"], number, attempt)
    return {"name": row["name"], "number": number, "status": info.status}


def _apply(hub: "Hub", db, report: RunReport, number: str, attempt: int, status: str | None, detail: str,
           source: str) -> None:
    if status is None:  # an answer that says nothing readable: kept, the message keeps its status
        hub._note(db, number, "problem", None, detail)
        report.problems.append(f"{number}: {detail}")
    else:
        hub.apply_status(db, number, attempt, status, detail, source)


def _link_early_answers(hub: "Hub", db, report: RunReport, kenmerk: str, number: str, attempt: int) -> None:
    """An answer taken in before the .ok that names its kenmerk was unknown until now: it is ours."""
    early = db.execute("SELECT name, status, detail FROM returns WHERE number IS NULL AND kind='answer' "
                       "AND kenmerk=? ORDER BY rowid", (kenmerk,)).fetchall()
    for name, status, detail in early:
        db.execute("UPDATE returns SET number=?, attempt=? WHERE name=?", (number, attempt, name))
        _apply(hub, db, report, number, attempt, status, detail, name)
        if name in report.unknown:
            report.unknown.remove(name)


# -- the run lock -------------------------------------------------------------------------------------

class RunLock:
    """``flock`` on ``hub.db.lock``: one holder at a time across threads and processes (each acquire
    opens the file anew, and flock locks belong to the open file). The kernel drops it when the holder
    dies, so a killed run never blocks the next one — unlike a pid, which can be reused."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(f"{db_path}.lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _start(hub: "Hub", trigger: str) -> int:
    """Record this run (for the messages that name it). A 'running' row found while we hold the lock
    is a killed run's: closed as interrupted."""
    with hub.store.transaction() as db:
        db.execute("UPDATE runs SET state='interrupted', finished_at=? WHERE state='running'", (hub._stamp(),))
        cur = db.execute("INSERT INTO runs (trigger, pid, started_at, state) VALUES (?,?,?, 'running')",
                         (trigger, os.getpid(), hub._stamp()))
        return int(cur.lastrowid)


def _busy_message(hub: "Hub") -> str:
    row = hub.store.one("SELECT id, trigger, started_at FROM runs WHERE state='running' ORDER BY id DESC LIMIT 1")
    since = f" (run {row['id']}, {row['trigger']}, started {row['started_at']})" if row else ""
    return (f"a send/receive run is already in progress{since}; only one may run at a time — "
            "try again when it has finished")


def _summary(report: RunReport) -> dict:
    return {"sent": len(report.sent), "errors": len(report.errors), "returns": len(report.returns),
            "unknown": len(report.unknown), "invoices": len(report.invoices), "problems": report.problems[:20]}


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)


def _pause_point(name: str) -> None:
    """Hold the run here until a line arrives on stdin: a test starts a second run meanwhile."""
    if os.environ.get(PAUSE_ENV) == name:
        print(f"paused at {name}", flush=True)
        sys.stdin.readline()
