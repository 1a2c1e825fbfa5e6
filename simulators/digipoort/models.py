"""The Digipoort model: the IN/OUT dialogue of seed 001 (intake checks, transport outcome, recovery).

Its parts are mixins: accounts (``accounts.py``), submission records (``records.py``) and the
recipient's answer (``answers.py``).

Nothing here knows about sockets: the FTP layer calls ``on_upload`` after a complete file has been
published in ``IN``, and reads/writes the folders the model hands out.

Crash safety: each decision is first committed to the database together with the exact bytes of the
file it will write; only then are files written (atomically) and ``IN`` cleaned up, and the decision
marked done. ``recover()`` finishes any decision a kill -9 interrupted, so an accepted submission is
never lost and never answered twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import threading
from datetime import datetime, timedelta
from pathlib import Path

from ..core.clock import format_instant, parse_duration
from ..core.runtime import Context
from ..core.safexml import declares_markup
from . import messages
from .accounts import AccountBook
from .answers import EVENT_ANSWER, EVENT_RETRY, AnswerDelivery
from .config import DigipoortConfig
from .errors import (ALS100, ALS110, ALS120, ALS130, ALS140, ALS150, ALS160, ALS170, ALS400, FAULTS, STATUSES,
                     SubmissionRefused)
from .meta import AanleverMeta, is_allowed_filename, is_meta_name, parse_aanlever_meta
from .outcomes import REJECTED, STUBS, Plan, apply_stub, plan_from_rule, recipient_check, transport_statuses
from .recipients import Recipient, route
from .records import SIM, SubmissionRecords
from .schema import SCHEMA

log = logging.getLogger(__name__)
# A sender's reference names response files: a plain, visible file name (no leading dot).
REFERENCE_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_HASHES = {"MD5": hashlib.md5, "SHA1": hashlib.sha1, "SHA256": hashlib.sha256,
           "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}

EVENT_TRANSPORT = "digipoort.transport"
# What a rule's ``when`` can match for a submission (``error`` and ``answer`` rules): the keys of ``_event``.
SUBMISSION_EVENT_FIELDS = frozenset({"user", "berichtsoort", "aanleverkenmerk", "identity", "filename", "contextId",
                                     "recipient"})


class DigipoortModel(AccountBook, SubmissionRecords, AnswerDelivery):
    """The dialogue itself; accounts (``AccountBook``), records (``SubmissionRecords``) and the recipient's
    answer (``AnswerDelivery``) are its parts."""

    def __init__(self, ctx: Context, config: DigipoortConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.store = ctx.store
        self.journal = ctx.journal
        self.root = ctx.store.area(SIM)
        self.archive = ctx.store.area(SIM, "archive")
        self._lock = threading.RLock()
        self.store.migrate(SIM, SCHEMA)
        ctx.scheduler.register(EVENT_TRANSPORT, lambda p, at: self.process_meta(p["user"], p["meta"], at,
                                                                                delayed=True))
        ctx.scheduler.register(EVENT_ANSWER, lambda p, at: self.deliver(p["kenmerk"], at, attempt=p.get("attempt")))
        ctx.scheduler.register(EVENT_RETRY, lambda p, at: self.deliver(p["kenmerk"], at, retry=True,
                                                                       attempt=p.get("attempt")))
        self.seed_accounts()

    # -- uploads ----------------------------------------------------------------------------------

    def on_upload(self, user: str, folder: str, name: str) -> None:
        """A complete file was published in a folder; a meta file in IN triggers the dialogue."""
        if folder == "IN" and is_meta_name(name):
            self.process_meta(user, name, self.ctx.clock.now())

    def process_meta(self, user: str, meta_name: str, at: datetime, delayed: bool = False) -> None:
        with self._lock:
            meta_path = self.folder(user, "IN") / meta_name
            if not meta_path.exists():
                return  # already handled (an event fired twice after a restart)
            try:
                with self.store.transaction():  # the decision, its rule hits and its rows commit as one
                    decided = self._decide(user, meta_name, meta_path, at, delayed)
            except Exception as exc:
                # Whatever went wrong, the submitter gets an answer: Digipoort's own technical error.
                log.exception("processing %s/IN/%s failed", user, meta_name)
                refusal = SubmissionRefused(ALS400, f"interne fout: {type(exc).__name__}")
                with self.store.transaction():
                    decided = self._refuse(user, meta_name, _sender_ref(meta_name), None, refusal, at)
            if decided is None:
                return  # transport delayed: a scheduled event takes it up
            intake, notes = decided
            for kind, fields in notes:  # journaled only now that the decision is committed
                self.journal.record(SIM, kind, **fields)
            self._finish_intake(intake)

    def _decide(self, user: str, meta_name: str, meta_path: Path, at: datetime,
                delayed: bool) -> tuple[dict, list] | None:
        meta: AanleverMeta | None = None
        try:
            meta = self._read_meta(meta_path)
            delay = self._transport_delay(meta)
            if not delayed and delay > timedelta(0):
                self.ctx.scheduler.schedule(EVENT_TRANSPORT, at + delay, {"user": user, "meta": meta_name})
                self.journal.record(SIM, "digipoort.transport_delayed", user=user, meta=meta_name)
                return None
            payload = self._check(user, meta)
            plan = self._plan(user, meta, payload, at)
        except SubmissionRefused as refusal:
            return self._refuse(user, meta_name, meta.context_id if meta else _sender_ref(meta_name), meta,
                                refusal, at)
        return self._accept(user, meta_name, meta, payload, plan, at)

    def archive_path(self, kenmerk: str) -> Path:
        """Where the payload of an accepted submission is kept."""
        return self.archive / f"{kenmerk}.payload"

    def _transport_delay(self, meta: AanleverMeta) -> timedelta:
        stub = STUBS.get(meta.aanleverkenmerk or "")
        if stub and stub.transport_delay:
            return parse_duration(stub.transport_delay)
        return parse_duration(self.config.transport_delay)

    def _read_meta(self, meta_path: Path) -> AanleverMeta:
        size = meta_path.stat().st_size
        if size > self.config.max_meta_size:
            raise SubmissionRefused(ALS100, f"the meta file is {size} bytes; at most "
                                            f"{self.config.max_meta_size} bytes are accepted")
        meta = parse_aanlever_meta(meta_path.read_bytes(), max_bytes=self.config.max_meta_size,
                                   schema_path=self.config.meta_schema)
        if not REFERENCE_RULE.match(meta.context_id or ""):
            # It names the response files: keep it a plain, visible file name.
            raise SubmissionRefused(ALS100, f"contextId {meta.context_id!r}: 1-100 letters, digits, '.', '_' "
                                            "or '-', beginning with a letter or digit")
        return meta

    def _check(self, user: str, meta: AanleverMeta) -> bytes:
        """The checks of seed 001 step 2; returns the data file's bytes when all pass."""
        rule = self.ctx.rules.take(SIM, self._event(user, meta), ("error",))
        if rule is not None:
            fault = FAULTS[rule["error"]["code"]]
            raise SubmissionRefused(fault, rule["error"].get("text", f"opgelegd door regel {rule['id']}"))
        stub = STUBS.get(meta.aanleverkenmerk or "")
        if stub and stub.transport_fault:
            raise SubmissionRefused(stub.transport_fault, f"teststub {stub.name}")
        if not is_allowed_filename(meta.filename) or is_meta_name(meta.filename):
            raise SubmissionRefused(ALS130, f"bestandsnaam {meta.filename!r}")
        account = self.account(user)
        if account.berichtsoorten is not None and meta.berichtsoort not in account.berichtsoorten:
            raise SubmissionRefused(ALS140, f"berichtsoort {meta.berichtsoort!r} is niet toegestaan voor "
                                            f"{user}; toegestaan: {', '.join(account.berichtsoorten)}")
        if not account.allows_identity(meta.berichtsoort, meta.identity_number):
            raise SubmissionRefused(ALS150, f"belanghebbende {meta.identity_number} is niet toegestaan "
                                            f"voor {user} bij berichtsoort {meta.berichtsoort}")
        if meta.size > self.config.max_file_size:
            raise SubmissionRefused(ALS160, f"opgegeven omvang {meta.size} bytes, maximaal "
                                            f"{self.config.max_file_size}")
        data_path = self.folder(user, "IN") / meta.filename
        if not data_path.is_file():
            raise SubmissionRefused(ALS110, f"databestand {meta.filename!r} ontbreekt in IN")
        payload = data_path.read_bytes()
        if len(payload) != meta.size:
            raise SubmissionRefused(ALS120, f"{meta.filename}: {len(payload)} bytes aanwezig, "
                                            f"{meta.size} opgegeven in het metabestand")
        actual = _HASHES[meta.checksum_type](payload).hexdigest()
        if actual != meta.checksum:
            raise SubmissionRefused(ALS120, f"{meta.filename}: {meta.checksum_type} is {actual}, "
                                            f"{meta.checksum} opgegeven in het metabestand")
        if declares_markup(payload):
            raise SubmissionRefused(ALS170, f"{meta.filename} bevat een DOCTYPE- of ENTITY-declaratie")
        return payload

    def recipient(self, berichtsoort: str | None) -> Recipient:
        """The institution a berichtsoort goes to (Belastingdienst, KvK, ...)."""
        return route(self.config.recipients, self.config.default_recipient, berichtsoort)

    def _plan(self, user: str, meta: AanleverMeta, payload: bytes, at: datetime) -> Plan:
        recipient = self.recipient(meta.berichtsoort)
        default_after = parse_duration(recipient.answer_delay or self.config.answer_delay).total_seconds()
        plan = self._plan_for(user, meta, payload, at, recipient, default_after)
        plan.recipient = recipient.name
        return plan

    def _plan_for(self, user: str, meta: AanleverMeta, payload: bytes, at: datetime, recipient: Recipient,
                  default_after: float) -> Plan:
        rule = self.ctx.rules.take(SIM, self._event(user, meta), ("answer",))
        stub = STUBS.get(meta.aanleverkenmerk or "")
        if rule is not None and "outcome" in rule["answer"]:
            plan = plan_from_rule(rule["answer"], default_after)
            plan.reason = f"rule {rule['id']}"
            return plan
        plan = Plan(after_seconds=default_after)
        if rule is not None:  # a rule that only moves the answer in time keeps the normal verdict
            plan = plan_from_rule(rule["answer"], default_after)
            plan.reason = f"rule {rule['id']} (timing)"
        if stub is not None:
            return apply_stub(plan, stub)
        if recipient.checks_vat_returns:
            findings = recipient_check(meta.berichtsoort, payload, meta.identity_number, at.date())
            if findings:
                plan.outcome, plan.specifications, plan.reason = REJECTED, findings, "recipient check"
        return plan

    def _event(self, user: str, meta: AanleverMeta) -> dict:
        # ``recipient`` lets a rule speak for one institution: when: {recipient: kvk}. The keys are
        # SUBMISSION_EVENT_FIELDS, which a rule's ``when`` is held to.
        return {"user": user, "berichtsoort": meta.berichtsoort, "aanleverkenmerk": meta.aanleverkenmerk,
                "identity": meta.identity_number, "filename": meta.filename, "contextId": meta.context_id,
                "recipient": self.recipient(meta.berichtsoort).name}

    # -- transport outcome ------------------------------------------------------------------------

    def _refuse(self, user: str, meta_name: str, sender_ref: str, meta: AanleverMeta | None,
                refusal: SubmissionRefused, at: datetime) -> tuple[dict, list]:
        """Record the refusal (inside the caller's transaction); returns the intake and what to journal."""
        kenmerk = self.ctx.new_uuid()
        body = messages.fault("aanleverFault", refusal.fault.code, refusal.description)
        db = self.store.connection
        self._insert_submission(db, kenmerk, user, meta, sender_ref, at, phase="refused",
                                foutcode=refusal.fault.code, detail=refusal.description, plan=None)
        notes = self._insert_statuses(db, kenmerk, at, [(105, None)])
        intake = self._insert_intake(db, user, meta_name, f"{sender_ref}_{kenmerk}.error", body, remove=[meta_name])
        notes.append(("digipoort.refused", {"user": user, "kenmerk": kenmerk, "contextId": sender_ref,
                                             "foutcode": refusal.fault.code, "detail": refusal.detail}))
        return intake, notes

    def _accept(self, user: str, meta_name: str, meta: AanleverMeta, payload: bytes, plan: Plan,
                at: datetime) -> tuple[dict, list]:
        """Record the acceptance (inside the caller's transaction); returns the intake and what to journal."""
        kenmerk = self.ctx.new_uuid()
        body = messages.aanlever_response(
            kenmerk=kenmerk, berichtsoort=meta.berichtsoort, aanleverkenmerk=meta.aanleverkenmerk,
            eerder_aanleverkenmerk=meta.eerder_aanleverkenmerk, timestamp=format_instant(at),
            identity_number=meta.identity_number, identity_type=meta.identity_type, rol=meta.rol,
            recipient_oin=self.config.recipient_oin or self.recipient(meta.berichtsoort).oin,
            autorisatie_adres=meta.autorisatie_adres,
            statuscode=100, statusomschrijving=STATUSES[100].text)
        burst = transport_statuses(plan.outcome)
        db = self.store.connection
        self._insert_submission(db, kenmerk, user, meta, meta.context_id, at,
                                phase="delivered" if 400 in burst else "delivering", plan=plan, payload=payload)
        notes = self._insert_statuses(db, kenmerk, at, [(code, None) for code in burst])
        self.ctx.scheduler.schedule(EVENT_ANSWER, at + timedelta(seconds=plan.after_seconds),
                                    {"kenmerk": kenmerk, "attempt": 0})
        intake = self._insert_intake(db, user, meta_name, f"{meta.context_id}_{kenmerk}.ok", body,
                                     remove=[meta_name, meta.filename], archive=str(self.archive_path(kenmerk)))
        notes.append(("digipoort.accepted", {
            "user": user, "kenmerk": kenmerk, "contextId": meta.context_id, "berichtsoort": meta.berichtsoort,
            "aanleverkenmerk": meta.aanleverkenmerk, "plan": plan.outcome, "reason": plan.reason}))
        return intake, notes

    def _finish_intake(self, row: dict) -> None:
        """Write the response, clean up IN, mark done — safe to repeat after a crash."""
        user = row["user"]
        out = self.folder(user, "OUT") / row["response_name"]
        self.store.atomic_write(out, row["response_bytes"], self.ctx.clock.now())
        self.journal.record(SIM, "file.created", user=user, folder="OUT", name=row["response_name"],
                            size=len(row["response_bytes"]))
        for name in json.loads(row["remove"]):
            source = self.folder(user, "IN") / name
            if row["archive"] and not is_meta_name(name) and source.exists():
                self.store.move(source, Path(row["archive"]))  # kept for the admin API
                self.journal.record(SIM, "file.removed", user=user, folder="IN", name=name, reason="accepted")
            elif self.store.remove(source):
                self.journal.record(SIM, "file.removed", user=user, folder="IN", name=name, reason="processed")
        with self.store.transaction() as db:
            db.execute("UPDATE dp_intake SET state='done' WHERE id=?", (row["id"],))

    def recover(self) -> None:
        """After a crash: finish interrupted decisions, write decided answers, take unhandled metas,
        and make sure every submission still waiting for its answer has an event that brings it."""
        for intake in self.store.query_dicts("SELECT * FROM dp_intake WHERE state='decided' ORDER BY id"):
            self._finish_intake(intake)
        for (kenmerk,) in self.store.query("SELECT kenmerk FROM dp_submissions WHERE answer_state='decided'"):
            self._write_answer(self.submission_row(kenmerk))
        scheduled = {e["payload"].get("kenmerk") for kind in (EVENT_ANSWER, EVENT_RETRY)
                     for e in self.ctx.scheduler.pending(kind) + self.ctx.scheduler.failed()}
        waiting = self.store.query("SELECT kenmerk, attempts FROM dp_submissions WHERE answer_state IS NULL "
                                   "AND plan IS NOT NULL")
        for kenmerk, attempts in waiting:
            if kenmerk not in scheduled:
                self.ctx.scheduler.schedule(EVENT_RETRY, self.ctx.clock.now(), {"kenmerk": kenmerk, "attempt": attempts})
        delayed = {(e["payload"]["user"], e["payload"]["meta"]) for e in self.ctx.scheduler.pending(EVENT_TRANSPORT)}
        for (user,) in self.store.query("SELECT user FROM dp_accounts"):
            inbox = self.folder(user, "IN")
            for path in sorted(inbox.glob("*.meta")) if inbox.is_dir() else []:
                if (user, path.name) not in delayed:
                    self.process_meta(user, path.name, self.ctx.clock.now())

    def reset(self) -> None:
        with self._lock:
            for kind in (EVENT_TRANSPORT, EVENT_ANSWER, EVENT_RETRY):
                self.ctx.scheduler.cancel_kind(kind)
            with self.store.transaction() as db:
                for table in ("dp_statuses", "dp_submissions", "dp_intake", "dp_accounts"):
                    db.execute(f"DELETE FROM {table}")
            shutil.rmtree(self.root, ignore_errors=True)
            self.archive.mkdir(parents=True, exist_ok=True)
            self.seed_accounts()


def _sender_ref(meta_name: str) -> str:
    """The sender's reference when the meta file cannot tell it: the meta file's own name (which the
    FTP layer already held to the file-name rules)."""
    return meta_name[: -len(".meta")]


