"""The recipient's answer to an accepted submission: delivery attempts, retries, the answer file and its meta.

A mixin of ``DigipoortModel`` (it uses the model's store, clock, scheduler, journal, folders and submission
records). The answer moment is an event on the clock (``EVENT_ANSWER``, a retry ``EVENT_RETRY``); as for the
intake, the decision is committed with the exact bytes to write before anything is written, so a crash
between the two is finished by ``recover()`` and never answers twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from ..core.clock import format_instant, parse_duration, parse_instant
from ..core.errors import Conflict, NotFound
from ..core.journal import Journal
from ..core.runtime import Context
from ..core.store import Store
from . import messages
from .config import DigipoortConfig
from .errors import AFS400, AFS600, VAS500
from .meta import build_aflever_meta
from .outcomes import (ACCEPTED, DELIVERY_FAILED, MAX_DELIVERY_ATTEMPTS, REJECTED, TECHNICAL_PROBLEM,
                       VALIDATION_FAILED, Plan, plan_from_rule)
from .records import SIM

# The recipient writes its receipt time in Dutch local time: the sample's +02:00 is a summer evening.
DUTCH_TIME = ZoneInfo("Europe/Amsterdam")

EVENT_ANSWER = "digipoort.answer"
EVENT_RETRY = "digipoort.retry"


class AnswerDelivery:
    """Mixin of ``DigipoortModel``: deciding, retrying and writing the recipient's answer."""

    ctx: Context
    config: DigipoortConfig
    store: Store
    journal: Journal
    _lock: threading.RLock

    def deliver(self, kenmerk: str, at: datetime, retry: bool = False, attempt: int | None = None) -> None:
        """The answer moment (or a delivery retry): statuses, answer file + meta in OUT.

        ``attempt`` is the delivery attempt the event was scheduled for; an event that fires again after
        a crash, when that attempt was already handled, finds another number and does nothing.
        """
        with self._lock:
            sub = self.submission_row(kenmerk)
            if sub is None or sub["answer_state"] == "written":
                return
            if sub["answer_state"] is None:
                if attempt is not None and attempt != sub["attempts"]:
                    return
                with self.store.transaction():
                    notes = self._decide_answer(sub, at, retry)
                for kind, fields in notes:
                    self.journal.record(SIM, kind, **fields)
                sub = self.submission_row(kenmerk)
                if sub["answer_state"] is None:
                    return  # a retry was scheduled; nothing to write yet
            self._write_answer(sub)

    def _decide_answer(self, sub: dict, at: datetime, retry: bool) -> list:
        """Decide the answer or the next retry (inside the caller's transaction); returns what to journal."""
        plan = Plan.from_dict(json.loads(sub["plan"]))
        kenmerk = sub["kenmerk"]
        first_attempt = parse_instant(sub["first_attempt"]) if sub["first_attempt"] else at
        window = parse_duration(self.config.max_delivery_window)
        if plan.outcome == TECHNICAL_PROBLEM and not retry:
            return self._retry_later(sub, at, first_attempt)
        if plan.outcome == MAX_DELIVERY_ATTEMPTS and at - first_attempt < window:
            return self._retry_later(sub, at, first_attempt)
        # As in the real status list, 500/510 carry the recipient's Responsemessage as statusdetails.
        if plan.outcome in (ACCEPTED, TECHNICAL_PROBLEM):
            body = self._response_message(sub, at, "acknowledgement", [messages.ACKNOWLEDGEMENT])
            statuses, final, kind = [(500, None, body.decode())], ACCEPTED, "ontvangstbevestiging"
        elif plan.outcome == REJECTED:
            body = self._response_message(sub, at, "error", plan.specifications)
            statuses, final, kind = [(510, None, body.decode())], REJECTED, "foutmelding"
        elif plan.outcome == DELIVERY_FAILED:
            statuses, final, kind = [(410, AFS400.code)], REJECTED, "foutmelding"
            body = messages.fault("afleverFault", AFS400.code, AFS400.text)
        elif plan.outcome == VALIDATION_FAILED:
            statuses, final, kind = [(311, VAS500.code)], REJECTED, "foutmelding"
            body = messages.fault("aanleverFault", VAS500.code, plan.specifications[0][2] if plan.specifications
                                  else VAS500.text)
        else:  # MAX_DELIVERY_ATTEMPTS with the window used up
            statuses, final, kind = [(420, AFS600.code)], REJECTED, "foutmelding"
            body = messages.fault("afleverFault", AFS600.code, AFS600.text)
        if plan.outcome == TECHNICAL_PROBLEM:
            statuses = [(400, None)] + statuses
        original = f"{kind}_{sub['aanleverkenmerk'] or kenmerk}.xml"
        meta = build_aflever_meta(
            kenmerk=kenmerk, filename=original, payload_sha256=hashlib.sha256(body).hexdigest(), size=len(body),
            berichtsoort=sub["berichtsoort"], aanleverkenmerk=sub["aanleverkenmerk"], berichttype=kind,
            identity_number=sub["identity_number"], identity_type=sub["identity_type"],
            timestamp=format_instant(at))
        db = self.store.connection
        notes = self._insert_statuses(db, kenmerk, at, statuses)
        db.execute("UPDATE dp_submissions SET answer_state='decided', answer_bytes=?, answer_meta=?, "
                   "answer_name=?, phase=?, answered_at=? WHERE kenmerk=?",
                   (body, meta, original, final, format_instant(at), kenmerk))
        return notes

    def _retry_later(self, sub: dict, at: datetime, first_attempt: datetime) -> list:
        db = self.store.connection
        notes = self._insert_statuses(db, sub["kenmerk"], at, [(420, None)])
        db.execute("UPDATE dp_submissions SET first_attempt=COALESCE(first_attempt, ?), attempts=attempts+1, "
                   "phase='delivering' WHERE kenmerk=?", (format_instant(first_attempt), sub["kenmerk"]))
        self.ctx.scheduler.schedule(EVENT_RETRY, at + parse_duration(self.config.retry_interval),
                                    {"kenmerk": sub["kenmerk"], "attempt": sub["attempts"] + 1})
        return notes

    def _response_message(self, sub: dict, at: datetime, kind: str, specs: list) -> bytes:
        """The recipient's Responsemessage. Its ``DatumTijdOntvangst`` is written with the Dutch local offset, as
        in the sample ``2009-08-19T19:44:13+02:00`` (statusdetails-500-Responsemessage.xml). [CHOSEN] which
        moment: when the recipient received the message, i.e. the delivery status 400 (at transport, or now
        for a delivery retried after a technical problem), not the moment of the answer; the sample's own time
        is a placeholder that settles nothing."""
        delivered = self.store.connection.execute(
            "SELECT at FROM dp_statuses WHERE kenmerk=? AND code=400 ORDER BY seq DESC LIMIT 1",
            (sub["kenmerk"],)).fetchone()
        received = parse_instant(delivered[0]) if delivered else at
        return messages.response_message(
            message_id=sub["aanleverkenmerk"] or sub["context_id"], refers_to=sub["kenmerk"],
            message_id_bd=self.ctx.new_uuid(), received=received.astimezone(DUTCH_TIME).isoformat(timespec="seconds"),
            response_type=kind, specifications=[tuple(s) for s in specs])

    def _write_answer(self, sub: dict) -> None:
        out = self.folder(sub["user"], "OUT")
        kenmerk = sub["kenmerk"]
        # The answer first, its meta second: the meta is the trigger, as for submissions.
        now = self.ctx.clock.now()
        self.store.atomic_write(out / kenmerk, sub["answer_bytes"], now)
        self.store.atomic_write(out / f"{kenmerk}.meta", sub["answer_meta"], now)
        with self.store.transaction() as db:
            db.execute("UPDATE dp_submissions SET answer_state='written' WHERE kenmerk=?", (kenmerk,))
        for name, body in ((kenmerk, sub["answer_bytes"]), (f"{kenmerk}.meta", sub["answer_meta"])):
            self.journal.record(SIM, "file.created", user=sub["user"], folder="OUT", name=name, size=len(body))
        self.journal.record(SIM, "digipoort.answered", user=sub["user"], kenmerk=kenmerk, outcome=sub["phase"])

    def answer_now(self, kenmerk: str, answer: dict) -> dict:
        """Admin/QA: decide (or override) the answer of a submission still waiting, and deliver it now."""
        with self._lock:
            sub = self.submission_row(kenmerk)
            if sub is None:
                raise NotFound(f"no submission with kenmerk {kenmerk!r}")
            if sub["phase"] in ("refused",) or sub["answer_state"] is not None:
                raise Conflict(f"submission {kenmerk} was already answered ({sub['phase']})")
            plan = plan_from_rule(answer, 0)
            plan.reason = "admin API"
            with self.store.transaction() as db:
                db.execute("UPDATE dp_submissions SET plan=? WHERE kenmerk=?", (json.dumps(plan.as_dict()), kenmerk))
            self.deliver(kenmerk, self.ctx.clock.now(), retry=True)
        return self.submission(kenmerk)
