"""Invoices of the shop: a debit invoice of an order, a credit invoice that negates it, and their statuses.

A mixin of ``CCVShopModel`` (it uses the model's store, clock, orders and webhooks). [CHOSEN]: statuses as
words (paid, unpaid, reimbursed), a debit invoice paid when its order is, a credit invoice starting unpaid
and negating every price and cost while keeping the counts, the order's ``invoicenumber`` set by its first
debit invoice.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from . import totals
from .errors import not_found, validation
from .ids import next_id
from .money import dec, wire
from .queries import sort
from .resources import INVOICE_STATUS_NAMES
from .resources import api_time as stamp
from .webhooks import SIM

if TYPE_CHECKING:
    from ..core.runtime import Context
    from ..core.store import Store
    from .config import CCVShopConfig
    from .webhooks import Webhooks


class Invoicing:
    """What ``CCVShopModel`` does with invoices; it provides ``order``, ``order_rows`` and ``_save_order``."""

    ctx: "Context"
    config: "CCVShopConfig"
    store: "Store"
    webhooks: "Webhooks"

    def create_invoice(self, order_id: int, credit: bool = False, status: str | None = None) -> dict:
        """A debit invoice of an order (its rows and costs), or a credit invoice (every amount negated)."""
        if status is not None and status not in INVOICE_STATUS_NAMES:
            raise validation(f"invoice status must be one of {', '.join(INVOICE_STATUS_NAMES)}")
        with self.store.transaction() as db:
            order = self.order(order_id)
            rows = self.order_rows(order_id)
            if credit and not any(json.loads(r[0])["type"] == "debit" for r in db.execute(
                    "SELECT data FROM ccv_invoices WHERE order_id = ?", (order_id,))):
                raise validation(f"Order {order_id} has no invoice to credit yet.")
            invoice_id = next_id(db, "ccv_invoices")
            number = max(self.config.first_invoicenumber - 1, max(
                (json.loads(r[0])["invoicenumber"] for r in db.execute("SELECT data FROM ccv_invoices")),
                default=0)) + 1
            prefix = self.config.invoicenumber_prefix
            sign = -1 if credit else 1
            invoice = _invoice_from_order(order, sign)
            invoice.update({"id": invoice_id, "order_id": order_id, "invoicenumber_prefix": prefix,
                            "invoicenumber": number,
                            "invoicenumber_full": f"{prefix}-{number}" if prefix else str(number),
                            "create_date": stamp(self.ctx.clock.now()),
                            "type": "credit" if credit else "debit",
                            "status": status or ("unpaid" if credit or not order["paid"] else "paid")})
            invoice_rows = []
            for row in rows:
                row_id = next_id(db, "ccv_invoicerows")
                invoice_row = _negated_row(row, sign)
                invoice_row.update({"id": row_id, "invoice_id": invoice_id, "orderrow_id": row["id"]})
                invoice_row.pop("order_id", None)
                invoice_row.pop("uploads", None)
                invoice_rows.append(invoice_row)
                db.execute("INSERT INTO ccv_invoicerows (id, invoice_id, data) VALUES (?, ?, ?)",
                           (row_id, invoice_id, json.dumps(invoice_row)))
            invoice.update(_invoice_totals(invoice, invoice_rows))
            db.execute("INSERT INTO ccv_invoices (id, order_id, data) VALUES (?, ?, ?)",
                       (invoice_id, order_id, json.dumps(invoice)))
            if not credit and order["invoicenumber"] is None:
                order["invoicenumber"] = number
                self._save_order(order)
        self.ctx.journal.record(SIM, "ccv.invoice_created", invoice=invoice_id, order=order_id, type=invoice["type"],
                                invoicenumber=invoice["invoicenumber_full"], total_price=invoice["total_price"])
        return invoice

    def invoice(self, invoice_id: int) -> dict:
        rows = self.store.query("SELECT data FROM ccv_invoices WHERE id = ?", (invoice_id,))
        if not rows:
            raise not_found("invoices", invoice_id)
        return json.loads(rows[0][0])

    def invoice_rows(self, invoice_id: int) -> list[dict]:
        self.invoice(invoice_id)
        return [json.loads(r[0]) for r in self.store.query(
            "SELECT data FROM ccv_invoicerows WHERE invoice_id = ? ORDER BY id", (invoice_id,))]

    def invoices(self, filters: dict | None = None, order_id: int | None = None) -> list[dict]:
        filters = dict(filters or {})
        order_by = filters.pop("orderby", None)
        if order_id is not None:
            self.order(order_id)
            raw = self.store.query("SELECT data FROM ccv_invoices WHERE order_id = ? ORDER BY id", (order_id,))
        else:
            raw = self.store.query("SELECT data FROM ccv_invoices ORDER BY id")
        found = [json.loads(r[0]) for r in raw]
        return sort([i for i in found if _invoice_matches(i, filters)], order_by)

    def set_invoice_status(self, invoice_id: int, status: str) -> dict:
        if status not in INVOICE_STATUS_NAMES:
            raise validation(f"invoice status must be one of {', '.join(INVOICE_STATUS_NAMES)}")
        with self.store.transaction() as db:
            invoice = self.invoice(invoice_id)
            previous = invoice["status"]
            if previous != status:
                invoice["status"] = status
                db.execute("UPDATE ccv_invoices SET data = ? WHERE id = ?", (json.dumps(invoice), invoice_id))
                self.webhooks.emit("invoices.updated.status", self.webhooks.invoice_body(invoice, previous))
        return invoice

    def _invoices_follow_payment(self, order: dict) -> None:
        """A paid order's unpaid debit invoices become paid [CHOSEN], each with its webhook."""
        for invoice in self.invoices(order_id=order["id"]):
            if invoice["type"] == "debit" and invoice["status"] == "unpaid":
                self.set_invoice_status(invoice["id"], "paid")


def _invoice_matches(invoice: dict, filters: dict) -> bool:
    created = datetime.fromisoformat(invoice["create_date"].replace("Z", "+00:00"))
    checks = {
        "invoicenumber": lambda v: invoice["invoicenumber"] == v,
        "ordernumber": lambda v: invoice["ordernumber"] == v,
        "invoicenumber_full": lambda v: invoice["invoicenumber_full"] == v,
        "ordernumber_full": lambda v: invoice["ordernumber_full"] == v,
        "status": lambda v: invoice["status"] == v,
        "min_create_date": lambda v: created >= v,
        "max_create_date": lambda v: created <= v,
    }
    return all(checks[name](value) for name, value in filters.items())


_COPIED = ("ordernumber_prefix", "ordernumber", "ordernumber_full", "taxes_included", "is_intra_community_order",
           "shipping_taxes_included", "shipping_tax_percentage", "currency", "extra_payment_option",
           "extra_costs_description", "user", "customer", "discountcoupon")
_NEGATED = ("total_shipping", "total_discounts", "extra_payment_option_price", "paymethod_costs",
            "credit_point_discount", "extra_costs")


def _invoice_from_order(order: dict, sign: int) -> dict:
    invoice = {key: order[key] for key in _COPIED}
    invoice.update({key: wire(dec(order[key]) * sign) for key in _NEGATED})
    invoice["invoice_row_taxes_included"] = order["order_row_taxes_included"]
    invoice.update({"payment_link_sent": None, "external_reference": None})
    return invoice


def _negated_row(row: dict, sign: int) -> dict:
    copied = dict(row)
    if sign < 0:  # [CHOSEN] a credit invoice keeps the counts and negates every price
        for key in ("price", "discount", "original_price", "selling_price", "price_without_discount",
                    "price_without_discount_with_attributes", "total_price", "price_with_attributes",
                    "total_price_with_attributes"):
            copied[key] = wire(-dec(row[key]))
    return copied


def _invoice_totals(invoice: dict, rows: list[dict]) -> dict:
    computed = totals.compute(invoice, rows, incl_key="invoice_row_taxes_included")
    return {key: wire(computed[key]) for key in ("total_price", "total_tax", "total_price_inc_tax",
                                                  "total_price_exc_tax")}


