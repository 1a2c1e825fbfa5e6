"""A thin, real Digipoort "Bestandsuitwisseling FTP" client.

It does what a submitter's software must do (seed 001): put the data file and then its meta file in
``IN`` over explicit FTPS, poll ``OUT`` on the clock with back-off, download every response, link it
to its submission, and only then delete it from the server. Its state lives in SQLite, so a client
killed at any point resumes without submitting twice or losing an answer.

It talks to the simulator only over the wire — exactly as a user's own software would.
"""

from __future__ import annotations

import ftplib
import hashlib
import os
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol, Union

from .ftpio import FTPSession, download as _download, names as _names, store as _store
from .messages import build_meta, classify, read_answer, read_error
from .store import ClientStore

FINAL_STATES = ("accepted", "rejected", "error", "refused")
UNSENT_STATES = ("new", "data_sent", "meta_sending")
# Where a test can make the client die like a kill -9 (os._exit, no clean-up): see _crash_point.
CRASH_ENV = "KOPPELSIM_CLIENT_CRASH_AT"
CRASH_POINTS = ("after_data_upload", "after_meta_upload", "after_response_stored")


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    user: str
    password: str
    ssl_context: ssl.SSLContext | None = None  # None = plain FTP (only where the server allows it)
    timeout: float = 30.0


@dataclass
class PollPolicy:
    """[CHOSEN] back-off: first poll after ``initial``, doubling up to ``maximum`` while nothing new arrives."""

    initial: timedelta = timedelta(seconds=30)
    maximum: timedelta = timedelta(minutes=15)
    factor: float = 2.0


@dataclass(frozen=True)
class Event:
    """Something a poll learnt: ``kind`` is ok, error, accepted, rejected or unknown."""

    kind: str
    ref: str | None
    kenmerk: str | None
    name: str
    detail: str = ""


# Whether to take in a response this client cannot link: a yes/no, or asked per file with its content
# (kind, name, content) -> bool; what it says no to stays in OUT for whoever it belongs to.
CollectUnknown = Union[bool, Callable[[str, str, bytes], bool]]


class DigipoortClient:
    def __init__(self, connection: Connection, store: ClientStore, clock: Clock,
                 policy: PollPolicy | None = None, new_ref: Callable[[], str] | None = None,
                 collect_unknown: CollectUnknown = False) -> None:
        self.connection = connection
        self.store = store
        self.clock = clock
        self.policy = policy or PollPolicy()
        # Responses this client cannot link are somebody else's when several programs share an
        # account: left in OUT by default. A client that is the account's only user collects them and
        # keeps them as "unknown"; a hub decides per file (see CollectUnknown).
        self.collect_unknown = collect_unknown
        self._new_ref = new_ref or (lambda: "ref" + uuid.uuid4().hex[:20])
        self._interval = self.policy.initial
        self._next_poll: datetime | None = None

    # -- submitting -------------------------------------------------------------------------------

    def prepare(self, payload: bytes, *, berichtsoort: str, identity: str, identity_type: str = "Fi",
                rol: str = "Bedrijf", aanleverkenmerk: str | None = None, eerder_aanleverkenmerk: str | None = None,
                filename: str = "bericht.xml", content_type: str = "application/xml", ref: str | None = None) -> str:
        """Record a submission locally (nothing is sent yet); returns its reference.

        ``ref`` lets a caller with its own numbering (the hub) choose the reference, so that after a
        crash it can tell whether this submission was already recorded instead of making a second one."""
        ref = ref or self._new_ref()
        extension = os.path.splitext(filename)[1] or ".xml"
        now = self._stamp()
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO submissions (ref, berichtsoort, identity_number, identity_type, rol, aanleverkenmerk, "
                "eerder_aanleverkenmerk, data_name, content_type, payload, state, created_at, updated_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?, 'new', ?, ?)",
                (ref, berichtsoort, identity, identity_type, rol, aanleverkenmerk, eerder_aanleverkenmerk,
                 f"{ref}{extension}", content_type, payload, now, now))
        return ref

    def submit(self, payload: bytes, **fields: str) -> str:
        ref = self.prepare(payload, **fields)
        self.deliver(ref)
        return ref

    def deliver(self, ref: str) -> None:
        """Move one submission forward to 'sent'; safe to call again after any crash.

        A permanent refusal of the upload (a 5xx reply such as 552, too large) makes the submission
        'refused' with the server's reply as reason, and is raised: nothing was submitted."""
        with self._session() as ftp:
            try:
                self._deliver(ftp, ref)
            except ftplib.error_perm as exc:
                self._refuse(ftp, ref, exc)
                raise
        self.schedule_poll(self.policy.initial, reset=True)

    def resume(self) -> list[str]:
        """Finish what a crash interrupted: half-sent submissions, and responses stored but not yet
        deleted from OUT. Returns the references of the submissions it sent on.

        Each submission on its own: one the server refuses with a 5xx becomes 'refused' (see
        ``deliver``) and the others still go. A connection failure ends the session and is raised;
        what was not sent stays queued for the next call."""
        unfinished = [r["ref"] for r in self.store.rows(
            "SELECT ref FROM submissions WHERE state IN ('new', 'data_sent', 'meta_sending') ORDER BY created_at")]
        if unfinished:
            with self._session() as ftp:
                for ref in unfinished:
                    try:
                        self._deliver(ftp, ref)
                    except ftplib.error_perm as exc:
                        self._refuse(ftp, ref, exc)
        if self._undeleted():
            self.poll()
        self.schedule_poll(self.policy.initial, reset=True)
        return unfinished

    def _refuse(self, ftp: ftplib.FTP, ref: str, exc: ftplib.error_perm) -> None:
        """The server refused this upload for good: record why, and leave nothing of it in IN."""
        reply = " ".join(str(exc).split())
        self.store.set_state(ref, "refused", self._stamp(), foutcode=reply[:3], reason=f"upload refused: {reply}")
        sub = self.store.submission(ref)
        for name in (f"{ref}.meta", sub["data_name"]):
            try:
                ftp.delete(f"IN/{name}")
            except ftplib.error_perm:
                pass  # not there: the server kept nothing

    def _undeleted(self) -> bool:
        return bool(self.store.rows("SELECT 1 FROM responses WHERE removed=0 LIMIT 1"))

    def _deliver(self, ftp: ftplib.FTP, ref: str) -> None:
        sub = self.store.submission(ref)
        if sub["state"] == "new":
            _store(ftp, f"IN/{sub['data_name']}", sub["payload"])
            self.store.set_state(ref, "data_sent", self._stamp())
            _crash_point("after_data_upload")
            sub = self.store.submission(ref)
        if sub["state"] == "meta_sending" and self._server_has_it(ftp, sub):
            self.store.set_state(ref, "sent", self._stamp())
            return
        if sub["state"] in ("data_sent", "meta_sending"):
            # Mark the intent first: after a crash we must look before sending the trigger again.
            self.store.set_state(ref, "meta_sending", self._stamp())
            if sub["state"] == "meta_sending" and sub["data_name"] not in _names(ftp, "IN"):
                _store(ftp, f"IN/{sub['data_name']}", sub["payload"])
            _store(ftp, f"IN/{ref}.meta", self._meta(sub))
            _crash_point("after_meta_upload")
            self.store.set_state(ref, "sent", self._stamp())

    def _server_has_it(self, ftp: ftplib.FTP, sub: dict) -> bool:
        """After a crash while sending the meta file: did Digipoort get it?

        It did if a response for our reference is in OUT (or already stored here), or if the meta file
        still waits in IN (transport not done yet). Digipoort writes its response before it removes
        the meta file, so "neither" means the meta file never arrived.
        """
        ref = sub["ref"]
        if any(n.startswith(f"{ref}_") for n in _names(ftp, "OUT")):
            return True
        if self.store.rows("SELECT 1 FROM responses WHERE ref=? AND kind IN ('ok','error')", (ref,)):
            return True
        return f"{ref}.meta" in _names(ftp, "IN")

    def _meta(self, sub: dict) -> bytes:
        payload = sub["payload"]
        return build_meta(
            context_id=sub["ref"], filename=sub["data_name"], content_type=sub["content_type"],
            sha256=hashlib.sha256(payload).hexdigest(), size=len(payload), berichtsoort=sub["berichtsoort"],
            aanleverkenmerk=sub["aanleverkenmerk"], eerder_aanleverkenmerk=sub["eerder_aanleverkenmerk"],
            identity_number=sub["identity_number"], identity_type=sub["identity_type"], rol=sub["rol"],
            created=self._stamp())

    # -- polling ----------------------------------------------------------------------------------

    def poll(self) -> list[Event]:
        """One look at OUT: fetch, store, link and delete every response; then plan the next look."""
        events: list[Event] = []
        with self._session() as ftp:
            names = _names(ftp, "OUT")
            present = set(names)
            # Transport responses before answers, so an answer's kenmerk is known when it is linked.
            for name in sorted(names, key=lambda n: (classify(n, present)[0] not in ("ok", "error"), n)):
                kind, kenmerk = classify(name, present)
                if kind in ("answer_meta", "skip"):
                    continue  # handled together with its answer, or not complete yet
                event = self._collect(ftp, name, kind, kenmerk)
                if event is not None:
                    events.append(event)
            self._clean_in(ftp)
        self.schedule_poll(self.policy.initial if events else self._interval * self.policy.factor,
                           reset=bool(events))
        return events

    def _collect(self, ftp: ftplib.FTP, name: str, kind: str, kenmerk: str | None) -> Event | None:
        known = self.store.response(name)
        if known is not None:  # stored before a crash, not yet deleted: finish the job only
            self._remove(ftp, [name] + ([f"{name}.meta"] if kind == "answer" else []))
            return None
        ours = self._ours(name, kind, kenmerk)
        if not ours and not self.collect_unknown:
            return None
        content = _download(ftp, f"OUT/{name}")
        if not ours and callable(self.collect_unknown) and not self.collect_unknown(kind, name, content):
            return None  # somebody else's: it stays in OUT
        meta = _download(ftp, f"OUT/{name}.meta") if kind == "answer" else None
        now = self._stamp()
        if kind in ("ok", "error"):
            ref = name.rsplit("_", 1)[0]
            event = self._link_transport(name, kind, ref, kenmerk, content, now)
        else:
            event = self._link_answer(name, kenmerk, content, meta, now)
        _crash_point("after_response_stored")
        self._remove(ftp, [name] + ([f"{name}.meta"] if kind == "answer" else []))
        return event

    def _ours(self, name: str, kind: str, kenmerk: str | None) -> bool:
        if kind in ("ok", "error"):
            return self.store.submission(name.rsplit("_", 1)[0]) is not None
        return self.store.by_kenmerk(kenmerk) is not None

    def _link_transport(self, name: str, kind: str, ref: str, kenmerk: str, content: bytes, now: str) -> Event:
        sub = self.store.submission(ref)
        with self.store.transaction() as db:
            db.execute("INSERT INTO responses (name, kind, kenmerk, ref, content, received_at) VALUES (?,?,?,?,?,?)",
                       (name, kind, kenmerk, ref if sub else None, content, now))
            if sub is None:
                return Event("unknown", None, kenmerk, name, "no submission with this reference")
            if kind == "ok":
                if sub["state"] not in ("accepted", "rejected"):
                    db.execute("UPDATE submissions SET state='transported', kenmerk=?, updated_at=? WHERE ref=?",
                               (kenmerk, now, ref))
                # An answer that came before its .ok (collected as unknown) belongs to us after all.
                early = db.execute("SELECT content FROM responses WHERE kenmerk=? AND kind='answer' AND ref IS NULL",
                                   (kenmerk,)).fetchone()
                db.execute("UPDATE responses SET ref=? WHERE kenmerk=? AND ref IS NULL", (ref, kenmerk))
                if early is not None:
                    verdict, code, reason = read_answer(early[0])
                    db.execute("UPDATE submissions SET state=?, foutcode=?, reason=?, updated_at=? WHERE ref=?",
                               (verdict, code, reason, now, ref))
                return Event("ok", ref, kenmerk, name)
            foutcode, description = read_error(content)
            db.execute("UPDATE submissions SET state='error', kenmerk=?, foutcode=?, reason=?, updated_at=? "
                       "WHERE ref=?", (kenmerk, foutcode, description, now, ref))
            return Event("error", ref, kenmerk, name, f"{foutcode}: {description}")

    def _link_answer(self, name: str, kenmerk: str, content: bytes, meta: bytes, now: str) -> Event:
        sub = self.store.by_kenmerk(kenmerk)
        verdict, code, reason = read_answer(content)
        with self.store.transaction() as db:
            ref = sub["ref"] if sub else None
            db.execute("INSERT INTO responses (name, kind, kenmerk, ref, content, received_at) VALUES (?,?,?,?,?,?)",
                       (name, "answer", kenmerk, ref, content, now))
            db.execute("INSERT INTO responses (name, kind, kenmerk, ref, content, received_at) VALUES (?,?,?,?,?,?)",
                       (f"{name}.meta", "answer_meta", kenmerk, ref, meta, now))
            if sub is None:
                return Event("unknown", None, kenmerk, name, "answer for an unknown kenmerk")
            db.execute("UPDATE submissions SET state=?, foutcode=?, reason=?, updated_at=? WHERE ref=?",
                       (verdict, code, reason, now, ref))
        return Event(verdict, ref, kenmerk, name, reason)

    def _remove(self, ftp: ftplib.FTP, names: list[str]) -> None:
        """Delete from OUT what is committed here, then note it (one commit for an answer and its meta:
        after a crash in between, the next poll deletes again and finds them gone)."""
        for name in names:
            try:
                ftp.delete(f"OUT/{name}")
            except ftplib.error_perm:
                pass  # already gone (deleted before a crash)
        with self.store.transaction() as db:
            db.executemany("UPDATE responses SET removed=1 WHERE name=?", [(name,) for name in names])

    def _clean_in(self, ftp: ftplib.FTP) -> None:
        """After an .error Digipoort leaves the data file in IN; ours is removed, nobody else's."""
        leftovers = self.store.rows("SELECT data_name FROM submissions WHERE state IN ('error', 'refused')")
        present = set(_names(ftp, "IN"))
        for row in leftovers:
            if row["data_name"] in present:
                ftp.delete(f"IN/{row['data_name']}")

    # -- the clock --------------------------------------------------------------------------------

    def schedule_poll(self, interval: timedelta, reset: bool = False) -> None:
        self._interval = self.policy.initial if reset else min(interval, self.policy.maximum)
        self._next_poll = self.clock.now() + self._interval

    def next_poll_at(self) -> datetime | None:
        """When to look at OUT next; None when nothing is outstanding."""
        return self._next_poll if self.outstanding() or self._undeleted() else None

    def outstanding(self) -> list[dict]:
        return self.store.rows("SELECT ref, state FROM submissions WHERE state NOT IN "
                               "('accepted','rejected','error','refused') "
                               "ORDER BY created_at")

    def submissions(self) -> list[dict]:
        return self.store.rows("SELECT ref, berichtsoort, identity_number, aanleverkenmerk, state, kenmerk, foutcode, "
                               "reason, created_at, updated_at FROM submissions ORDER BY created_at, ref")

    def status(self, ref: str) -> str | None:
        sub = self.store.submission(ref)
        return sub["state"] if sub else None

    # -- plumbing ---------------------------------------------------------------------------------

    def _stamp(self) -> str:
        return self.clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _session(self) -> FTPSession:
        return FTPSession(self.connection)


def _crash_point(name: str) -> None:
    """Die here, like kill -9, when the test asked for it: a real, deterministic crash of a real process."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)
