"""The communication service (SPEC §8, seed 000): tenants prepare, one communication environment sends.

Tenants (sub-environments) prepare messages — VAT returns, ICP returns, KvK filings — which are queued
here, in the communication environment, each with a unique number. A send/receive run (``run.py``)
delivers them through the Digipoort client and links every return message back by that number.

What each side sees: a tenant sees the status of its own messages and the reason (``statuses``); the
full history with every return message and its content is only here (``history``, ``unknown``).

[CHOSEN] status vocabulary and order: prepared < sent < delivered (transport ok) = error (transport
.error) < accepted = rejected. Only a higher status replaces the current one, so a late "delivered"
never overwrites "accepted", and the first final answer stays. A return message for an earlier attempt
of a resubmitted message is kept in the history but moves nothing.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from .errors import InvalidMessage, NotResubmittable, TenantExists, UnknownMessage, UnknownTenant
from .payloads import build_message, check_fields, check_tenant_fields
from .returns import belongs_elsewhere
from .store import HubStore

if TYPE_CHECKING:
    from clients.cbftp.client import CBClient
    from clients.digipoort import DigipoortClient

    from .invoices import MailSource
    from .run import RunReport

RANK = {"prepared": 0, "sent": 1, "delivered": 2, "error": 2, "accepted": 3, "rejected": 3}
FINAL = ("accepted", "rejected")
RESUBMITTABLE = ("error", "rejected")
TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
NUMBER_PREFIX = "CS"  # [CHOSEN] "communicatieservice" + six digits: CS000001


class Clock(Protocol):
    def now(self) -> datetime: ...


class Hub:
    def __init__(self, store: HubStore, clock: Clock, digipoort: "DigipoortClient | None" = None,
                 cb_clients: Sequence["CBClient"] = (), mail: "MailSource | None" = None,
                 new_installation_id: Callable[[], str] | None = None) -> None:
        self.store = store
        self.clock = clock
        # Made once per hub database (6 hex digits; the runtime hands in its seeded random), part of
        # every Digipoort reference: see returns.py.
        self.installation = store.installation_id(new_installation_id or (lambda: secrets.token_hex(3)))
        self.digipoort = digipoort
        if digipoort is not None:
            # [CHOSEN] The hub is its account's only user: it takes in every return message, and keeps
            # what it cannot link as unknown — except what names another hub's reference, left in OUT.
            digipoort.collect_unknown = lambda kind, name, content: not belongs_elsewhere(
                kind, name, content, self.installation)
        self.cb_clients = list(cb_clients)
        self.mail = mail

    # -- tenants ----------------------------------------------------------------------------------

    def create_tenant(self, tenant_id: str, name: str | None = None, vat_number: str | None = None,
                      kvk_number: str | None = None, relation_ids: Sequence[str] = (), emails: Sequence[str] = (),
                      exist_ok: bool = False) -> dict:
        """A sub-environment; ``exist_ok`` updates one that exists (tenants created by configuration)."""
        if not isinstance(tenant_id, str) or not TENANT_ID.match(tenant_id):
            raise InvalidMessage(f"tenant id {tenant_id!r}: 1-40 letters, digits, '-' or '_'")
        check_tenant_fields({"name": name, "vat_number": vat_number, "kvk_number": kvk_number,
                             "relation_ids": relation_ids, "emails": emails})
        with self.store.transaction() as db:
            exists = db.execute("SELECT 1 FROM tenants WHERE id=?", (tenant_id,)).fetchone()
            if exists and not exist_ok:
                raise TenantExists(f"tenant {tenant_id!r} exists already")
            db.execute("INSERT OR REPLACE INTO tenants (id, name, vat_number, kvk_number, relation_ids, emails, "
                       "created_at) VALUES (?,?,?,?,?,?, COALESCE((SELECT created_at FROM tenants WHERE id=?), ?))",
                       (tenant_id, name or tenant_id, vat_number, kvk_number, json.dumps(list(relation_ids)),
                        json.dumps([e.lower() for e in emails]), tenant_id, self._stamp()))
        return self.tenant(tenant_id)

    def tenant(self, tenant_id: str) -> dict:
        row = self.store.one("SELECT * FROM tenants WHERE id=?", (tenant_id,))
        if row is None:
            known = ", ".join(t["id"] for t in self.tenants()) or "none"
            raise UnknownTenant(f"no tenant {tenant_id!r}; known tenants: {known}")
        return {**row, "relation_ids": json.loads(row["relation_ids"]), "emails": json.loads(row["emails"])}

    def tenants(self) -> list[dict]:
        return [{**r, "relation_ids": json.loads(r["relation_ids"]), "emails": json.loads(r["emails"])}
                for r in self.store.rows("SELECT * FROM tenants ORDER BY id")]

    # -- messages ---------------------------------------------------------------------------------

    def prepare(self, tenant_id: str, message_type: str, fields: dict[str, Any] | None = None, /,
                **named: Any) -> dict:
        """Build the message in the tenant and queue it here with a new number (status 'prepared').

        The fields come as a dict (from an API body: any name is safe) or as keywords."""
        tenant = self.tenant(tenant_id)
        fields = {**(fields or {}), **named}
        check_fields(message_type, fields)
        built = build_message(message_type, tenant, fields, self.clock.now())
        now = self._stamp()
        with self.store.transaction() as db:
            number = f"{NUMBER_PREFIX}{self.store.next_number(db, 'message'):06d}"
            db.execute("INSERT INTO messages (number, tenant, type, berichtsoort, identity, identity_type, "
                       "description, filename, payload, fields, attempt, status, reason, prepared_at, updated_at) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,1,'prepared',?,?,?)",
                       (number, tenant_id, message_type, built.berichtsoort, built.identity, built.identity_type,
                        built.description, built.filename, built.payload, json.dumps(fields),
                        "waiting for send/receive", now, now))
            self._note(db, number, "prepared", "prepared", f"{built.description} for {built.identity}")
        return self.message(number)

    def resubmit(self, number: str, fields: dict[str, Any] | None = None, /, **named: Any) -> dict:
        """Queue a message again after a transport error or a rejection, corrected when fields are given."""
        fields = {**(fields or {}), **named}
        message = self._message_row(number)
        if fields:
            check_fields(message["type"], fields)
        if message["status"] not in RESUBMITTABLE:
            raise NotResubmittable(f"message {number} is {message['status']}; only a message in "
                                   f"{' or '.join(RESUBMITTABLE)} can be resubmitted")
        payload, description, original = message["payload"], message["description"], json.loads(message["fields"])
        if fields:  # a correction: what is given replaces what the message was prepared from
            original = {**original, **fields}
            built = build_message(message["type"], self.tenant(message["tenant"]), original, self.clock.now())
            payload, description = built.payload, built.description
        with self.store.transaction() as db:
            attempt = message["attempt"] + 1
            db.execute("UPDATE messages SET attempt=?, status='prepared', reason=?, payload=?, description=?, "
                       "fields=?, updated_at=? WHERE number=?",
                       (attempt, f"resubmitted (attempt {attempt})", payload, description, json.dumps(original),
                        self._stamp(), number))
            self._note(db, number, "resubmitted", "prepared",
                       f"attempt {attempt}" + (" with corrected content" if fields else ""))
        return self.message(number)

    def message(self, number: str) -> dict:
        """The tenant's view of one message: status and reason, no return messages."""
        row = self._message_row(number)
        return {k: row[k] for k in ("number", "tenant", "type", "berichtsoort", "description", "status", "reason",
                                    "attempt", "prepared_at", "updated_at")}

    def statuses(self, tenant_id: str | None = None) -> list[dict]:
        """What a tenant sees: each of its messages with status and reason (all tenants when None)."""
        if tenant_id is not None:
            self.tenant(tenant_id)
        sql = ("SELECT number, tenant, type, berichtsoort, description, status, reason, attempt, prepared_at, "
               "updated_at FROM messages")
        if tenant_id is None:
            return self.store.rows(sql + " ORDER BY number")
        return self.store.rows(sql + " WHERE tenant=? ORDER BY number", (tenant_id,))

    def history(self, number: str) -> dict:
        """The communication environment's view: every event and every return message with its content."""
        message = self.message(number)
        events = self.store.rows("SELECT at, event, status, detail FROM history WHERE number=? ORDER BY id", (number,))
        returns = self.store.rows("SELECT name, kind, attempt, kenmerk, status, detail, content, received_at FROM "
                                  "returns WHERE number=? ORDER BY rowid", (number,))
        for item in returns:
            item["content"] = item["content"].decode("utf-8", "replace")
        return {**message, "events": events, "returns": returns}

    def unknown(self) -> dict:
        """Return messages and e-invoices that could not be linked: kept, never dropped."""
        returns = self.store.rows("SELECT name, kind, kenmerk, status, detail, content, received_at FROM returns "
                                  "WHERE number IS NULL ORDER BY received_at, name")
        invoices = self.store.rows("SELECT source, name, invoice_number, relation_id, customer, problem, content, "
                                   "received_at FROM invoices WHERE tenant IS NULL ORDER BY received_at, name")
        for item in returns + invoices:  # the content as it came (what a person needs to place it)
            item["content"] = item["content"].decode("utf-8", "replace")
        return {"returns": returns, "invoices": invoices}

    def invoices(self, tenant_id: str) -> list[dict]:
        self.tenant(tenant_id)
        return self.store.rows("SELECT source, name, invoice_number, relation_id, customer, payable, received_at "
                               "FROM invoices WHERE tenant=? ORDER BY received_at, name", (tenant_id,))

    def runs(self, limit: int = 20) -> list[dict]:
        rows = self.store.rows("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        return [{**r, "summary": json.loads(r["summary"]) if r["summary"] else None} for r in rows]

    def send_receive(self, trigger: str = "manual",
                     progress: Callable[[str, str], None] | None = None) -> "RunReport":
        """One run: deliver what is queued, fetch every answer, link it, collect e-invoices."""
        from .run import run_send_receive

        return run_send_receive(self, trigger, progress)

    # -- status changes (inside the caller's transaction) -------------------------------------------

    def apply_status(self, db, number: str, attempt: int, status: str, reason: str, source: str) -> bool:
        """Move a message to ``status`` if that is higher than where it is; the history says either way."""
        current, current_attempt = db.execute("SELECT status, attempt FROM messages WHERE number=?",
                                              (number,)).fetchone()
        if attempt != current_attempt:
            self._note(db, number, "kept", current, f"{source}: {status} for attempt {attempt}; the message "
                                                    f"is at attempt {current_attempt}")
            return False
        if RANK[status] <= RANK[current]:
            self._note(db, number, "kept", current, f"{source} says {status}; {current} stays "
                                                    "(only the highest status counts)")
            return False
        db.execute("UPDATE messages SET status=?, reason=?, updated_at=? WHERE number=?",
                   (status, reason, self._stamp(), number))
        self._note(db, number, "status", status, f"{source}: {reason}")
        return True

    def _note(self, db, number: str, event: str, status: str | None, detail: str) -> None:
        db.execute("INSERT INTO history (number, at, event, status, detail) VALUES (?,?,?,?,?)",
                   (number, self._stamp(), event, status, detail))

    def _message_row(self, number: str) -> dict:
        row = self.store.one("SELECT * FROM messages WHERE number=?", (number,))
        if row is None:
            raise UnknownMessage(f"no message {number!r}")
        return row

    def _stamp(self) -> str:
        return self.clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
