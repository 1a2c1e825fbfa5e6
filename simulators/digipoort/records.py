"""Digipoort submissions and their statuses in the state database (part of the Digipoort model)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from ..core.clock import format_instant
from ..core.errors import BadRequest, NotFound
from ..core.journal import Journal
from ..core.store import Store
from .accounts import FOLDERS
from .errors import STATUSES
from .meta import AanleverMeta
from .outcomes import Plan

SIM = "digipoort"
_STEP = timedelta(milliseconds=10)  # spacing of a status burst, as in the real conformance responses


class SubmissionRecords:
    """Mixin of ``DigipoortModel``: writing and reading submissions, statuses and intake records."""

    store: Store
    journal: Journal

    def _insert_submission(self, db, kenmerk: str, user: str, meta: AanleverMeta | None, sender_ref: str,
                           at: datetime, phase: str, plan: Plan | None, payload: bytes = b"",
                           foutcode: str | None = None, detail: str | None = None) -> None:
        m = meta or replace_none_meta(sender_ref)
        db.execute(
            "INSERT INTO dp_submissions (kenmerk, user, context_id, berichtsoort, aanleverkenmerk, "
            "eerder_aanleverkenmerk, identity_number, identity_type, rol, filename, size, sha256, meta_json, "
            "received_at, phase, plan, foutcode, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (kenmerk, user, sender_ref, m.berichtsoort, m.aanleverkenmerk, m.eerder_aanleverkenmerk,
             m.identity_number, m.identity_type, m.rol, m.filename, len(payload),
             hashlib.sha256(payload).hexdigest() if payload else None,
             json.dumps(meta.as_dict()) if meta else None, format_instant(at), phase,
             json.dumps(plan.as_dict()) if plan else None, foutcode, detail))

    def _insert_statuses(self, db, kenmerk: str, at: datetime, codes: list[tuple]) -> list:
        """``codes``: (statuscode, foutcode) or (statuscode, foutcode, statusdetails) per status.

        Returns the journal entries to make once the transaction has committed (a rolled-back status
        must not appear in the journal)."""
        notes = []
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM dp_statuses WHERE kenmerk=?", (kenmerk,)).fetchone()[0]
        for offset, (code, foutcode, *details) in enumerate(codes):
            stamp = format_instant(at + _STEP * offset)
            db.execute("INSERT INTO dp_statuses (kenmerk, seq, code, text, at, foutcode, details) "
                       "VALUES (?,?,?,?,?,?,?)", (kenmerk, seq + offset + 1, code, STATUSES[code].text, stamp,
                                                  foutcode, details[0] if details else None))
            notes.append(("digipoort.status", {"kenmerk": kenmerk, "code": code, "text": STATUSES[code].text,
                                               "foutcode": foutcode}))
        return notes

    def _insert_intake(self, db, user: str, meta_name: str, response_name: str, body: bytes,
                       remove: list[str], archive: str | None = None) -> dict:
        """Record a decided intake; returns the row as stored (what ``_finish_intake`` carries out)."""
        row = {"user": user, "meta_name": meta_name, "response_name": response_name, "response_bytes": body,
               "remove": json.dumps(remove), "archive": archive, "state": "decided"}
        cur = db.execute("INSERT INTO dp_intake (user, meta_name, response_name, response_bytes, remove, archive, "
                         "state) VALUES (:user, :meta_name, :response_name, :response_bytes, :remove, :archive, "
                         ":state)", row)
        return {"id": int(cur.lastrowid), **row}

    def submission_row(self, kenmerk: str) -> dict | None:
        rows = self.store.query_dicts("SELECT * FROM dp_submissions WHERE kenmerk=?", (kenmerk,))
        return rows[0] if rows else None

    def statuses(self, kenmerk: str) -> list[dict]:
        return self.store.query_dicts(
            "SELECT code AS statuscode, text AS statusomschrijving, at AS tijdstempelStatus, foutcode, "
            "details AS statusdetails FROM dp_statuses WHERE kenmerk=? ORDER BY seq", (kenmerk,))

    def submission(self, kenmerk: str) -> dict:
        row = self.submission_row(kenmerk)
        if row is None:
            raise NotFound(f"no submission with kenmerk {kenmerk!r}")
        return self._public(row)

    def submissions(self, **filters: str) -> list[dict]:
        sql, args = "SELECT * FROM dp_submissions WHERE 1=1", []
        for column in ("user", "berichtsoort", "aanleverkenmerk", "phase", "context_id"):
            if filters.get(column):
                sql += f" AND {column}=?"
                args.append(filters[column])
        return [self._public(r) for r in self.store.query_dicts(sql + " ORDER BY received_at, rowid", args)]

    def _public(self, row: dict) -> dict:
        statuses = self.statuses(row["kenmerk"])
        plan = json.loads(row["plan"]) if row["plan"] else None
        return {
            "kenmerk": row["kenmerk"], "user": row["user"], "contextId": row["context_id"],
            "berichtsoort": row["berichtsoort"], "aanleverkenmerk": row["aanleverkenmerk"],
            "identiteitBelanghebbende": {"nummer": row["identity_number"], "type": row["identity_type"]},
            "filename": row["filename"], "size": row["size"], "received": row["received_at"],
            "phase": row["phase"], "foutcode": row["foutcode"], "foutbeschrijving": row["detail"],
            "statuscode": statuses[-1]["statuscode"] if statuses else None,
            "statuses": statuses, "plan": plan, "recipient": (plan or {}).get("recipient"),
            "answer": {"name": row["answer_name"], "state": row["answer_state"], "at": row["answered_at"]},
        }

    def files(self, user: str, folder: str) -> list[dict]:
        if folder not in FOLDERS:
            raise BadRequest(f"folder must be IN or OUT, got {folder!r}")
        if self.account(user) is None:
            raise NotFound(f"no Digipoort account {user!r}")
        path = self.folder(user, folder)
        return [{"name": p.name, "size": p.stat().st_size} for p in sorted(path.iterdir()) if p.is_file()]


    def place_in_out(self, user: str, name: str, body: bytes) -> None:
        """QA: a file of your choosing in OUT (a stray or unreadable return message, a late duplicate).

        The answer convention applies: a ``{kenmerk}`` file is complete once ``{kenmerk}.meta`` is there,
        so place the content first and its meta file second."""
        if self.account(user) is None:
            raise NotFound(f"no Digipoort account {user!r}")
        if not name or "/" in name or name.startswith("."):
            raise BadRequest(f"a file name without folders, got {name!r}")
        self.store.atomic_write(self.folder(user, "OUT") / name, body, self.ctx.clock.now())
        self.journal.record(SIM, "file.created", user=user, folder="OUT", name=name, size=len(body), placed=True)


def replace_none_meta(sender_ref: str) -> AanleverMeta:
    """Placeholder fields for a refused meta file that could not be read at all."""
    return AanleverMeta(context_id=sender_ref, filename=None, content_type=None, checksum_type=None,
                        checksum=None, size=0, berichtsoort=None, aanleverkenmerk=None,
                        eerder_aanleverkenmerk=None, identity_number=None, identity_type=None, rol=None,
                        autorisatie_adres=None)
