"""Findings: every breach of a client-side rule of CB's rulebook (seed 002), recorded and queryable.

This is what no generic FTP fake offers: a test can assert "this client behaves as CB requires" by
asking for zero findings. A finding is recorded whether or not the breach was refused:
``mode: enforce`` refuses what it can; ``mode: report`` relaxes only the login-frequency rule (a second
login within the interval is let in), and every other breach is still refused and recorded.
"""

from __future__ import annotations

from datetime import datetime

from ..core.clock import format_instant
from ..core.journal import Journal
from ..core.store import Store

SIM = "cbftp"

RULES = {
    "tls_control": "commands on a control channel without TLS (AUTH TLS first)",
    "tls_data": "a data channel without TLS (PROT C, or PASV/EPSV before PROT P)",
    "tls_version": "a TLS handshake below the minimum version (TLS 1.2)",
    "active_mode": "active mode (PORT/EPRT); CB allows passive mode only",
    "folder": "creating or removing folders",
    "path_escape": "a path outside the account's /{RelatieID}/in and /out",
    "other_account": "a path into another relation's folders",
    "file_name": "a file name CB does not accept (characters, upper-case extension, length)",
    "overwrite": "uploading a name that was already placed in in/",
    "rename": "renaming a file",
    "append": "appending to a file",
    "delete_in": "deleting a file in in/",
    "upload_out": "uploading into out/",
    "login_frequency": "more than one login per 10 minutes",
    "transfer_type": "the wrong transfer type (binary for .epub .jpg .pdf .zip, ASCII for the rest)",
    "parallel_session": "the same file in two sessions at once",
    "quota": "an upload over the size limit",
}


class FindingBook:
    """Mixin of ``CBModel``: findings in the state database and the journal."""

    store: Store
    journal: Journal

    def record_finding(self, at: datetime, relation_id: str | None, session: str | None, rule: str,
                       detail: str) -> None:
        if rule not in RULES:
            raise KeyError(f"unknown CB rule {rule!r}")
        with self.store.transaction() as db:
            db.execute("INSERT INTO cb_findings (at, relation_id, session, rule, detail) VALUES (?,?,?,?,?)",
                       (format_instant(at), relation_id, session, rule, detail))
        self.journal.record(SIM, "cb.finding", session, relation_id=relation_id, rule=rule, detail=detail)

    def findings(self, relation_id: str | None = None, rule: str | None = None) -> list[dict]:
        sql, args = "SELECT id, at, relation_id, session, rule, detail FROM cb_findings WHERE 1=1", []
        if relation_id:
            sql += " AND relation_id = ?"
            args.append(relation_id)
        if rule:
            sql += " AND rule = ?"
            args.append(rule)
        rows = self.store.query_dicts(sql + " ORDER BY id", args)
        for row in rows:
            row["rule_text"] = RULES[row["rule"]]
        return rows
