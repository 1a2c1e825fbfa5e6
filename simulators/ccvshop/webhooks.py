"""Webhooks: registrations (the ``webhooks`` resource) and the deliveries the shop makes to them.

Facts: a registration is ``{event, address, is_active}`` and gets a ``key`` "used to calculate a hash"
(official schema; App-Example-Code posts ``{event, address}`` to ``/api/rest/v1/webhooks``); the event names
and the bodies of ``orders.updated.status``/``.ispaid``/``.trackandtrace`` are real (reference samples).
[CHOSEN]: the bodies of ``orders.created`` and ``invoices.updated.status`` (the same shape), the delivery
signature (header ``x-hash`` = lowercase hex HMAC-SHA512 of the body with the webhook's key), and the
delivery schedule: at once, then after each of ``webhook_retry_delays``, then given up.

A delivery is a durable row written in the transaction of the change it reports. "At once" is the
clock's now: a pump thread sends what is due as soon as it is told, and ``drain`` does the same in the
caller's thread (scenario steps use it to be deterministic). A retry later on is a durable scheduler event,
so it fires when the (virtual) clock gets there, also after a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..core.clock import VirtualClock, format_instant, parse_duration, parse_instant
from .config import CCVShopConfig
from .errors import not_found, validation
from .outbound import Outcome, post
from .resources import api_time, url

if TYPE_CHECKING:
    from ..core.runtime import Context

SIM = "ccvshop"
RETRY_EVENT = "ccvshop.webhook_retry"
EVENTS = ("orders.created", "orders.updated.ispaid", "orders.updated.status", "orders.updated.trackandtrace",
          "orders.deleted", "invoices.updated.status", "products.created", "products.updated", "products.deleted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ccv_webhooks (
    id INTEGER PRIMARY KEY, createdate TEXT NOT NULL, event TEXT NOT NULL, address TEXT NOT NULL,
    key TEXT NOT NULL, is_active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ccv_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id INTEGER NOT NULL, event TEXT NOT NULL, address TEXT NOT NULL,
    key TEXT NOT NULL, body TEXT NOT NULL, subject TEXT, created_at TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, last_attempt_at TEXT, delivered_at TEXT,
    last_status INTEGER, last_error TEXT);
CREATE INDEX IF NOT EXISTS ccv_deliveries_due ON ccv_deliveries (status, next_attempt_at);
"""
FIRST_WEBHOOK_ID = 1_100_001
MAX_ADDRESS = 2000  # characters of a webhook's address


def _json_text(body: dict) -> str:
    """A webhook body as UTF-8 JSON text; with non-ASCII escaped when some stored text holds a lone surrogate
    (from before writes refused them): neither SQLite nor the socket can carry one raw."""
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError:
        payload = json.dumps(body, separators=(",", ":"))
    return payload


def sign(key: str, body: bytes) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


class Webhooks:
    def __init__(self, ctx: "Context", config: CCVShopConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.store = ctx.store
        self.base_url = ""
        self.store.migrate("ccvshop.webhooks", _SCHEMA)
        ctx.scheduler.register(RETRY_EVENT, self._retry_due)
        self._send_lock = threading.Lock()  # one attempt at a time: the pump and drain never both send one
        self._wake = threading.Condition()
        self._kicked = False
        self._stopping = False
        self._pump: threading.Thread | None = None

    # -- registrations -------------------------------------------------------------------------------------

    def list(self) -> list[dict]:
        return self.store.query_dicts("SELECT * FROM ccv_webhooks ORDER BY id")

    def get(self, webhook_id: int) -> dict:
        found = self.store.query_dicts("SELECT * FROM ccv_webhooks WHERE id = ?", (webhook_id,))
        if not found:
            raise not_found("webhooks", webhook_id)
        return found[0]

    def create(self, body: Any) -> dict:
        from .models import check_properties  # the one property checker of the shop's writes

        check_properties(body, {"event": str, "address": str, "is_active": bool}, "POST on webhooks")
        for required in ("event", "address"):
            if required not in body:
                raise validation(f"Property '{required}' is required.")
        if body["event"] not in EVENTS:
            raise validation(f"Property 'event' must be one of {', '.join(EVENTS)}, got '{body['event']}'.")
        _check_address(body["address"])
        with self.store.transaction() as db:
            (current,) = db.execute("SELECT MAX(id) FROM ccv_webhooks").fetchone()
            webhook_id = FIRST_WEBHOOK_ID if current is None else current + 1
            row = {"id": webhook_id, "createdate": api_time(self.ctx.clock.now()), "event": body["event"],
                   "address": body["address"], "key": f"{self.ctx.random.getrandbits(128):032x}",
                   "is_active": int(body.get("is_active", True))}
            db.execute("INSERT INTO ccv_webhooks (id, createdate, event, address, key, is_active) "
                       "VALUES (:id, :createdate, :event, :address, :key, :is_active)", row)
        self.ctx.journal.record(SIM, "ccv.webhook_registered", webhook=webhook_id, event=row["event"],
                                address=row["address"])
        return row

    def patch(self, webhook_id: int, body: Any) -> dict:
        from .models import check_properties

        check_properties(body, {"address": str, "is_active": bool}, "PATCH on webhooks")
        if "address" in body:
            _check_address(body["address"])
        with self.store.transaction() as db:
            row = self.get(webhook_id)
            row.update({k: (int(v) if k == "is_active" else v) for k, v in body.items()})
            db.execute("UPDATE ccv_webhooks SET address = ?, is_active = ? WHERE id = ?",
                       (row["address"], row["is_active"], webhook_id))
        return row

    def delete(self, webhook_id: int) -> None:
        with self.store.transaction() as db:
            self.get(webhook_id)
            db.execute("DELETE FROM ccv_webhooks WHERE id = ?", (webhook_id,))

    # -- events --------------------------------------------------------------------------------------------

    def order_body(self, order: dict, event_fields: dict | None = None) -> dict:
        """What an order event carries: the real samples' fields in their order (href without the trailing
        slash), the event's own (``paid``; ``previous_status``, ``status``; the track and trace) between the
        total price and the customer's e-mail, where the samples have them."""
        billing = order["customer"]["billingaddress"]
        return {"triggered_at": api_time(self.ctx.clock.now()), "href": url(self.base_url, "orders", order["id"],
                                                                          slash=False),
                "id": order["id"], "order_number": order["ordernumber"],
                "ordernumber_prefix": order["ordernumber_prefix"], "ordernumber_full": order["ordernumber_full"],
                "total_price": order["total_price"], **(event_fields or {}),
                "customer_email": order["customer"]["email"], "customer_mobile": billing.get("mobile", "")}

    def invoice_body(self, invoice: dict, previous_status: str) -> dict:
        return {"triggered_at": api_time(self.ctx.clock.now()),
                "href": url(self.base_url, "invoices", invoice["id"], slash=False), "id": invoice["id"],
                "invoicenumber": invoice["invoicenumber"], "invoicenumber_prefix": invoice["invoicenumber_prefix"],
                "invoicenumber_full": invoice["invoicenumber_full"], "ordernumber_full": invoice["ordernumber_full"],
                "total_price": invoice["total_price"], "previous_status": previous_status,
                "status": invoice["status"], "customer_email": invoice["customer"]["email"]}

    def emit(self, event: str, body: dict) -> list[int]:
        """A delivery for every active registration of ``event``, due now (in the caller's transaction)."""
        moment = self.ctx.clock.now()
        now, due = api_time(moment), format_instant(moment)
        subject = str(body.get("id", ""))
        payload = _json_text(body)
        created = []
        with self.store.transaction() as db:
            hooks = db.execute("SELECT id, address, key FROM ccv_webhooks WHERE event = ? AND is_active = 1 "
                               "ORDER BY id", (event,)).fetchall()
            for webhook_id, address, key in hooks:
                cur = db.execute(
                    "INSERT INTO ccv_deliveries (webhook_id, event, address, key, body, subject, created_at, status, "
                    "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                    (webhook_id, event, address, key, payload, subject, now, due))
                created.append(int(cur.lastrowid))
        self.ctx.journal.record(SIM, "ccv.event", event=event, subject=subject, deliveries=len(created))
        if created:
            self.kick()
        return created

    # -- deliveries ----------------------------------------------------------------------------------------

    def deliveries(self, event: str | None = None, status: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM ccv_deliveries WHERE 1 = 1", []
        if event:
            sql, args = sql + " AND event = ?", args + [event]
        if status:
            sql, args = sql + " AND status = ?", args + [status]
        rows = self.store.query_dicts(sql + " ORDER BY id", args)
        for row in rows:
            row["body"] = json.loads(row["body"])
            row.pop("key")
        return rows

    def drain(self) -> int:
        """Send every delivery that is due now, in order; returns how many attempts were made."""
        made = 0
        now = format_instant(self.ctx.clock.now())
        for (delivery_id,) in self.store.query(
                "SELECT id FROM ccv_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id",
                (now,)):
            made += self.attempt(delivery_id, self.ctx.clock.now())
        return made

    def attempt(self, delivery_id: int, due: datetime) -> int:
        """One attempt at a delivery if it is still due (idempotent: a late or second call does nothing).

        Never raises: a bug of ours while sending one delivery fails that delivery (logged, recorded), so
        that ``drain`` and the pump go on with the others."""
        with self._send_lock:
            try:
                return self._attempt(delivery_id, due)
            except Exception as exc:
                logging.getLogger(__name__).exception("ccvshop: webhook delivery %s", delivery_id)
                self._give_up(delivery_id, f"{type(exc).__name__}: {exc}")
                return 1

    def _give_up(self, delivery_id: int, error: str) -> None:
        """Mark a delivery failed without another attempt (what ``_attempt`` could not do itself)."""
        now = api_time(self.ctx.clock.now())
        try:
            with self.store.transaction() as db:
                db.execute("UPDATE ccv_deliveries SET status = 'failed', attempts = attempts + 1, "
                           "next_attempt_at = NULL, last_attempt_at = ?, last_status = NULL, last_error = ? "
                           "WHERE id = ? AND status = 'pending'", (now, error[:500], delivery_id))
        except Exception:  # the store itself is failing: nothing more to record; the pump goes on
            logging.getLogger(__name__).exception("ccvshop: recording webhook delivery %s as failed", delivery_id)

    def _attempt(self, delivery_id: int, due: datetime) -> int:
        """``attempt``'s work, with the send lock held."""
        rows = self.store.query_dicts("SELECT * FROM ccv_deliveries WHERE id = ?", (delivery_id,))
        if not rows or rows[0]["status"] != "pending" or parse_instant(rows[0]["next_attempt_at"]) > due:
            return 0
        row = rows[0]
        body = row["body"].encode()
        # An address registered before addresses were checked (an older state directory) never works:
        # it fails at once, without retries, instead of reaching the socket.
        problem = address_problem(row["address"])
        if problem:
            outcome = Outcome(None, f"address {problem}")
        else:
            outcome = post(row["address"], body, {"x-hash": sign(row["key"], body),
                                                  "User-Agent": "CCV Shop webhooks (koppelsim)"},
                           self.config.webhook_timeout)
        now = self.ctx.clock.now()
        attempts = row["attempts"] + 1
        delays = self.config.webhook_retry_delays
        if outcome.ok:
            status, next_at = "delivered", None
        elif attempts <= len(delays) and not problem:
            status, next_at = "pending", now + parse_duration(delays[attempts - 1])
        else:
            status, next_at = "failed", None
        with self.store.transaction() as db:
            db.execute("UPDATE ccv_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_attempt_at = ?,"
                       " delivered_at = ?, last_status = ?, last_error = ? WHERE id = ?",
                       (status, attempts, format_instant(next_at) if next_at else None, api_time(now),
                        api_time(now) if outcome.ok else None, outcome.status, outcome.error, delivery_id))
            if next_at is not None:
                self.ctx.scheduler.schedule(RETRY_EVENT, next_at, {"delivery": delivery_id})
        self.ctx.journal.record(SIM, "ccv.webhook_delivery", delivery=delivery_id, event=row["event"],
                                address=row["address"], attempt=attempts, outcome=status,
                                http_status=outcome.status, error=outcome.error)
        return 1

    def _retry_due(self, payload: dict, due: datetime) -> None:
        """A retry fell due. On a virtual clock it is sent right here, inside the jump (deterministic: the
        attempt carries the time it was due); on the real clock the pump sends it, so a slow receiver never
        holds up the scheduler's other events."""
        if isinstance(self.ctx.clock, VirtualClock):
            self.attempt(payload["delivery"], due)
        else:
            self.kick()

    # -- the pump (sends what is due now, off the request's thread) ------------------------------------------

    def kick(self) -> None:
        with self._wake:
            self._kicked = True
            self._wake.notify_all()

    def start(self) -> None:
        if self._pump is not None:
            return
        self._stopping = False
        self._pump = threading.Thread(target=self._run, name="koppelsim-ccvshop-webhooks", daemon=True)
        self._pump.start()
        self.kick()  # deliveries a restart found still due

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._pump is not None:
            self._pump.join(timeout=10)
            self._pump = None

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._kicked and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                self._kicked = False
            try:
                self.drain()
            except Exception:  # e.g. the store failing: it must not end the pump (drain handles one delivery's)
                logging.getLogger(__name__).exception("ccvshop: webhook pump")

    def reset(self) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM ccv_webhooks")
            db.execute("DELETE FROM ccv_deliveries")
        self.ctx.scheduler.cancel_kind(RETRY_EVENT)


def address_problem(address: str) -> str | None:
    """Why a webhook can never be delivered to ``address`` (None: it can be tried).

    [CHOSEN] an address is an absolute http(s) URL in printable ASCII (other characters percent-encoded, an
    international domain in its xn-- form) with a port from 1 to 65535: what a request line and a socket can
    take, so a registration the shop accepts is one its sender can at least try."""
    if len(address) > MAX_ADDRESS:
        return f"is longer than {MAX_ADDRESS} characters"
    if not address.isascii() or not address.isprintable() or " " in address:
        return "must be printable ASCII without spaces (percent-encode other characters)"
    try:
        parts = urlsplit(address)
        port = parts.port  # a ValueError for a port that is not a number or beyond 65535
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host"
    if port == 0:
        return "must have a port from 1 to 65535"
    return None


def _check_address(address: str) -> None:
    problem = address_problem(address)
    if problem:
        raise validation(f"Property 'address' {problem}, got '{address[:200]}'.")
