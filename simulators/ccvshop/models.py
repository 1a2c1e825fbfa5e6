"""The shop: orders with their rows, invoices (debit and credit), the app, and what changes them.

State lives in the store's SQLite database (one JSON document per resource plus the columns filters
need), so a restart of ``koppelsim sim`` keeps every order. Every change that a webhook reports is
written in the same transaction as the webhook's delivery event (``webhooks.Webhooks.emit``): an order is
never paid without its ``orders.updated.ispaid`` being on its way.

Models know nothing of HTTP: they return stored dicts and raise ``CCVError``; ``resources`` renders them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import datagen, totals
from .catalog import STATUSES
from .config import CCVShopConfig
from .errors import not_found, validation
from .ids import FIRST_ID, next_id
from .invoices import Invoicing
from .money import ZERO, amount_problem, cents, dec, wire
from .queries import sort
from .resources import api_time as stamp
from .vatnumbers import is_valid as vat_is_valid
from .webhooks import Webhooks

if TYPE_CHECKING:
    from ..core.runtime import Context

SIM = "ccvshop"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ccv_orders (
    id INTEGER PRIMARY KEY, ordernumber INTEGER NOT NULL, seed INTEGER, vat_registered INTEGER NOT NULL DEFAULT 1,
    data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ccv_orderrows (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ccv_orderrows_order ON ccv_orderrows (order_id);
CREATE TABLE IF NOT EXISTS ccv_invoices (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ccv_invoicerows (id INTEGER PRIMARY KEY, invoice_id INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ccv_invoicerows_invoice ON ccv_invoicerows (invoice_id);
CREATE TABLE IF NOT EXISTS ccv_apps (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
-- ccv_versions and its triggers counted order changes for the page cache until store.watch did it in memory.
DROP TRIGGER IF EXISTS ccv_orders_inserted;
DROP TRIGGER IF EXISTS ccv_orders_updated;
DROP TRIGGER IF EXISTS ccv_orders_deleted;
DROP TABLE IF EXISTS ccv_versions;
"""


# The order properties a PATCH may set (the official schema's Orders/Patch has more: customer, orderrows,
# taxes flags ... [CHOSEN] those are refused with a 400 that names what this simulator supports).
PATCHABLE = {"paid": bool, "status": int, "invoicenumber": int, "note": str, "mail": bool,
             "track_and_trace_code": str, "track_and_trace_carrier": str, "reservationnumber": str,
             "safety_deposit_returned": bool, "deliver_date": str, "total_shipping": "amount",
             "paymethod_costs": "amount", "extra_costs": "amount", "extra_costs_description": str}


def check_properties(body: Any, allowed: dict[str, Any], what: str) -> dict:
    """A write's JSON body: an object of known properties with the right types; amounts as numbers with at
    most two decimals within ``MAX_AMOUNT`` (a string "12.50", 12.505 or 1e300 is refused, nothing is
    written); text that UTF-8 can carry (JSON's "\\ud800" escape makes a lone surrogate, which neither the
    store nor a webhook body can hold)."""
    if not isinstance(body, dict):
        raise validation(f"The body of a {what} must be a JSON object.")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise validation(f"Property '{unknown[0]}' can not be set with a {what}; possible: {', '.join(sorted(allowed))}.")
    for name, value in body.items():
        kind = allowed[name]
        if kind == "amount":
            problem = amount_problem(value)
            if problem:
                raise validation(f"Property '{name}' {problem}, got {_shown(value)}.")
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise validation(f"Property '{name}' must be an integer, got {_shown(value)}.")
        elif kind is not None and not isinstance(value, kind):
            raise validation(f"Property '{name}' must be of type {kind.__name__}, got {_shown(value)}.")
        if isinstance(value, str) and not _is_utf8_text(value):
            raise validation(f"Property '{name}' must be Unicode text; it holds a lone surrogate (\\ud800-\\udfff).")
    return body


def _shown(value: Any) -> str:
    """A value in a message as the client wrote it: a number (read as Decimal) stays a number."""
    text = str(value) if isinstance(value, Decimal) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:200] + "..."


def _is_utf8_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class CCVShopModel(Invoicing):
    def __init__(self, ctx: "Context", config: CCVShopConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.store = ctx.store
        self.store.migrate("ccvshop", _SCHEMA)
        # Every change of an order, whoever makes it (the model, a reset, a scenario), moves this count: the REST
        # layer keeps a rendered page of orders for as long as it stands still (rest.py, pagecache.py).
        self.store.watch("ccv_orders")
        self.webhooks = Webhooks(ctx, config)
        self.base_url = config.public_url  # the service sets the listener's URL once it is bound
        # Told about every VAT number an order brings (the ``vat_numbers`` entry), e.g. by whoever wires a
        # VIES simulator to this shop; a failing listener is logged, never fails the order.
        self.vat_number_listeners: list[Callable[[dict], None]] = []

    def configure(self, config: CCVShopConfig) -> None:
        """Use new settings (``CCVShopSimulator.configure``); the webhook sender reads them too."""
        self.config = config
        self.webhooks.config = config

    @property
    def base_url(self) -> str:
        """What the API's links start with: ``http://host:port`` (or the configured public URL)."""
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value.rstrip("/")
        self.webhooks.base_url = self._base_url

    # -- seeding -------------------------------------------------------------------------------------------

    def seed(self) -> None:
        """The configured state: the app, and ``seed_orders`` generated orders (only into an empty shop)."""
        self.seed_app()
        self.seed_orders()

    def seed_app(self) -> None:
        with self.store.transaction() as db:
            if db.execute("SELECT COUNT(*) FROM ccv_apps").fetchone()[0] == 0:
                db.execute("INSERT INTO ccv_apps (id, data) VALUES (?, ?)", (FIRST_ID["ccv_apps"], json.dumps(
                    {"id": FIRST_ID["ccv_apps"], "name": self.config.app_name, "is_installed": False,
                     "date_installed": None})))

    def seed_orders(self) -> None:
        if self.store.query("SELECT COUNT(*) FROM ccv_orders")[0][0] == 0:
            for _ in range(self.config.seed_orders):
                self.create_order(datagen.OrderOptions(), notify=False)

    def reset(self) -> None:
        with self.store.transaction() as db:
            for table in ("ccv_orders", "ccv_orderrows", "ccv_invoices", "ccv_invoicerows", "ccv_apps"):
                db.execute(f"DELETE FROM {table}")
        self.webhooks.reset()
        self.seed()

    # -- orders --------------------------------------------------------------------------------------------

    def create_order(self, options: datagen.OrderOptions | dict | None = None, notify: bool = True,
                     seed: int | None = None) -> dict:
        """Generate an order (options as ``datagen.OrderOptions``) and keep it; fires ``orders.created``."""
        if not isinstance(options, datagen.OrderOptions):
            try:
                options = datagen.OrderOptions.from_dict(options)
            except (TypeError, ValueError) as exc:
                raise validation(str(exc)) from exc
        seed = self.ctx.random.getrandbits(63) if seed is None else seed
        try:
            draft = datagen.generate(options, seed, self.ctx.clock.now())
        except ValueError as exc:
            raise validation(str(exc)) from exc
        with self.store.transaction() as db:
            order_id = next_id(db, "ccv_orders")
            number = max(self.config.first_ordernumber - 1,
                         db.execute("SELECT COALESCE(MAX(ordernumber), 0) FROM ccv_orders").fetchone()[0]) + 1
            prefix = self.config.ordernumber_prefix
            order = {**draft.order, "id": order_id, "ordernumber_prefix": prefix, "ordernumber": number,
                     "ordernumber_full": f"{prefix}-{number}" if prefix else str(number), "invoicenumber": None}
            db.execute("INSERT INTO ccv_orders (id, ordernumber, seed, vat_registered, data) VALUES (?, ?, ?, ?, ?)",
                       (order_id, number, seed, int(draft.vat_registered), json.dumps(order)))
            for row in draft.rows:
                row_id = next_id(db, "ccv_orderrows")
                db.execute("INSERT INTO ccv_orderrows (id, order_id, data) VALUES (?, ?, ?)",
                           (row_id, order_id, json.dumps({**row, "id": row_id, "order_id": order_id})))
            if notify:
                self.webhooks.emit("orders.created", self.webhooks.order_body(order))
        self.ctx.journal.record(SIM, "ccv.order_created", order=order_id, ordernumber=order["ordernumber_full"],
                                total_price=order["total_price"], icp=order["is_intra_community_order"])
        if order["customer"].get("btw") and self.vat_number_listeners:
            entry = next(v for v in self.vat_numbers() if v["full"] == order["customer"]["btw"])
            for listener in list(self.vat_number_listeners):
                try:
                    listener(entry)
                except Exception:
                    logging.getLogger(__name__).exception("ccvshop: a VAT-number listener failed")
        return order

    def order(self, order_id: int) -> dict:
        rows = self.store.query("SELECT data FROM ccv_orders WHERE id = ?", (order_id,))
        if not rows:
            raise not_found("orders", order_id)
        return json.loads(rows[0][0])

    def order_rows(self, order_id: int) -> list[dict]:
        self.order(order_id)
        return [json.loads(r[0]) for r in self.store.query(
            "SELECT data FROM ccv_orderrows WHERE order_id = ? ORDER BY id", (order_id,))]

    def order_row(self, row_id: int) -> dict:
        rows = self.store.query("SELECT data FROM ccv_orderrows WHERE id = ?", (row_id,))
        if not rows:
            raise not_found("orderrows", row_id)
        return json.loads(rows[0][0])

    def orders(self, filters: dict | None = None) -> list[dict]:
        """Orders matching the (parsed) filters of ``queries.ORDER_FILTERS``, sorted by ``orderby``."""
        filters = dict(filters or {})
        order_by = filters.pop("orderby", None)
        filters.setdefault("is_completed", True)
        found = [json.loads(r[0]) for r in self.store.query("SELECT data FROM ccv_orders ORDER BY id")]
        return sort([o for o in found if _order_matches(o, filters)], order_by)

    def orders_version(self) -> int:
        """Moves with every change of any order (``Store.watch`` counts them): equal numbers, equal orders."""
        return self.store.changes("ccv_orders")

    def patch_order(self, order_id: int, changes: dict) -> dict:
        """What ``PATCH /orders/{id}`` may change; webhooks for paid, status and track & trace changes."""
        check_properties(changes, PATCHABLE, "PATCH on orders")
        if "status" in changes and changes["status"] not in STATUSES:
            raise validation(f"Property 'status' must be 1-14, got {changes['status']}.")
        with self.store.transaction():
            order = self.order(order_id)
            before = dict(order)
            for name in ("paid", "status", "invoicenumber", "track_and_trace_code", "track_and_trace_carrier",
                         "reservationnumber", "safety_deposit_returned", "deliver_date", "extra_costs_description"):
                if name in changes:
                    order[name] = changes[name]
            amounts = {k: changes[k] for k in ("total_shipping", "paymethod_costs", "extra_costs") if k in changes}
            if amounts:
                order.update({k: wire(dec(v)) for k, v in amounts.items()})
                _recompute(order, self.order_rows(order_id))
            self._save_order(order)
            self._order_events(before, order)
            if order["paid"] and not before["paid"]:
                self._invoices_follow_payment(order)
        self.ctx.journal.record(SIM, "ccv.order_patched", order=order_id, fields=",".join(sorted(changes)))
        return order

    def mark_paid(self, order_id: int, transaction_id: str | None = None, paid: bool = True) -> dict:
        """What the PSP does: the order paid with its transaction id (fires ``orders.updated.ispaid``)."""
        with self.store.transaction():
            order = self.order(order_id)
            before = dict(order)
            order["paid"] = paid
            if transaction_id is not None:
                order["transaction_id"] = transaction_id
            elif paid and not order["transaction_id"]:
                order["transaction_id"] = f"tr_{self.ctx.random.getrandbits(48):012x}"
            self._save_order(order)
            self._order_events(before, order)
            if paid and not before["paid"]:
                self._invoices_follow_payment(order)
        return order

    def set_status(self, order_id: int, status: int) -> dict:
        if status not in STATUSES:
            raise validation(f"status must be 1-14, got {status}")
        with self.store.transaction():
            order = self.order(order_id)
            before = dict(order)
            order["status"] = status
            self._save_order(order)
            self._order_events(before, order)
        return order

    def _save_order(self, order: dict) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE ccv_orders SET data = ? WHERE id = ?", (json.dumps(order), order["id"]))

    def _order_events(self, before: dict, after: dict) -> None:
        body = self.webhooks.order_body
        if after["paid"] != before["paid"]:
            self.webhooks.emit("orders.updated.ispaid", body(after, {"paid": after["paid"]}))
        if after["status"] != before["status"]:
            self.webhooks.emit("orders.updated.status", body(after, {"previous_status": before["status"],
                                                                      "status": after["status"]}))
        if (after["track_and_trace_code"], after["track_and_trace_carrier"]) != \
                (before["track_and_trace_code"], before["track_and_trace_carrier"]):
            self.webhooks.emit("orders.updated.trackandtrace", body(after, {
                "track_and_trace_code": after["track_and_trace_code"],
                "track_and_trace_carrier": after["track_and_trace_carrier"]}))

    # -- the app, VAT numbers --------------------------------------------------------------------------------

    def apps(self) -> list[dict]:
        return [json.loads(r[0]) for r in self.store.query("SELECT data FROM ccv_apps ORDER BY id")]

    def app(self, app_id: int) -> dict:
        for found in self.apps():
            if found["id"] == app_id:
                return found
        raise not_found("apps", app_id)

    def patch_app(self, app_id: int, changes: dict) -> dict:
        check_properties(changes, {"is_installed": bool}, "PATCH on apps")
        with self.store.transaction() as db:
            found = self.app(app_id)
            if "is_installed" in changes:
                found["is_installed"] = changes["is_installed"]
                found["date_installed"] = stamp(self.ctx.clock.now()) if changes["is_installed"] else None
            db.execute("UPDATE ccv_apps SET data = ? WHERE id = ?", (json.dumps(found), app_id))
        self.ctx.journal.record(SIM, "ccv.app_patched", app=app_id, is_installed=found["is_installed"])
        return found

    def vat_numbers(self) -> list[dict]:
        """Every VAT number on an order, with whether VIES should know it: what a VIES simulator serves."""
        seen: dict[str, dict] = {}
        for data, registered in self.store.query("SELECT data, vat_registered FROM ccv_orders ORDER BY id"):
            customer = json.loads(data)["customer"]
            number = customer.get("btw") or ""
            if not number or number in seen:
                continue
            billing = customer["billingaddress"]
            seen[number] = {
                "country_code": number[:2], "vat_number": number[2:], "full": number,
                "check_digits_valid": vat_is_valid(number), "registered": bool(registered) and vat_is_valid(number),
                "name": billing.get("company") or billing.get("full_name") or "",
                "address": f"{billing.get('address_line_1', '')}\n{billing.get('zipcode', '')} {billing.get('city', '')}",
            }
        return list(seen.values())


# -- helpers -----------------------------------------------------------------------------------------------


def _order_matches(order: dict, filters: dict) -> bool:
    created = datetime.fromisoformat(order["create_date"].replace("Z", "+00:00"))
    checks = {
        "ordernumber": lambda v: order["ordernumber"] == v,
        "status": lambda v: order["status"] == v,
        "is_paid": lambda v: order["paid"] is v,
        "is_completed": lambda v: order["is_completed"] is v,
        "paymethod_id": lambda v: order["paymethod_id"] == v,
        "transaction_id": lambda v: order["transaction_id"] == v,
        "min_create_date": lambda v: created >= v,
        "max_create_date": lambda v: created <= v,
        "take_out_date": lambda v: True,  # only take-out orders have one; generated orders are shipped
    }
    return all(checks[name](value) for name, value in filters.items())


def _recompute(order: dict, rows: Iterable[dict]) -> None:
    computed = totals.compute(order, list(rows))
    for key in ("total_orderrow_price", "total_tax", "total_price", "extra_price"):
        order[key] = wire(computed[key])


__all__ = ["PATCHABLE", "SIM", "ZERO", "CCVShopModel", "cents", "check_properties"]
