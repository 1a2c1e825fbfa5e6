"""Admin routes of the CCV Shop simulator, under ``/api/ccvshop/``: what the shop owner and the PSP do.

Orders are rendered exactly as the REST API renders them (same links), so what QA sees here is what a
koppeling gets there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, jsonify, request

from ..core.admin import json_body
from ..core.errors import BadRequest, NotFound
from ..core.openapi import doc
from . import queries, resources, totals
from .appstore import send_handshake
from .datagen import OPTIONS_SCHEMA
from .errors import CODES
from .webhooks import EVENTS

if TYPE_CHECKING:
    from .service import CCVShopSimulator

MAX_GENERATED = 500  # orders per admin request


def create_blueprint(sim: "CCVShopSimulator") -> Blueprint:
    bp = Blueprint("ccvshop", __name__)
    model = sim.model

    @bp.before_request
    def ascii_paths_only():
        # werkzeug's <int:...> takes any script's digits ("/orders/３４" is order 34); no admin path has them.
        if not request.path.isascii():
            raise NotFound(f"no such admin resource: {request.path[:200]}")

    def full_order(order: dict) -> dict:
        base = model.base_url
        return {**resources.order(order, base),
                "orderrows": [resources.order_row(r, base) for r in model.order_rows(order["id"])],
                "invoices": [resources.invoice(i, base) for i in model.invoices(order_id=order["id"])]}

    @bp.get("/orders")
    @doc(query={name: "as the REST API's order filter" for name in queries.ORDER_FILTERS})
    def orders():
        """Every order (REST filters apply), each with its rows and invoices."""
        args = [(k, v) for k, v in request.args.items(multi=True)]
        return jsonify([full_order(o) for o in model.orders(queries.parse(args, queries.ORDER_FILTERS,
                                                                           queries.ORDER_SORT))])

    @bp.post("/orders")
    @doc(status=201, body={**OPTIONS_SCHEMA, "properties": {
        **OPTIONS_SCHEMA["properties"],
        "count": {"type": "integer", "minimum": 1, "maximum": MAX_GENERATED, "description": "how many such orders"},
        "notify": {"type": "boolean", "description": "fire orders.created (default true)"}}})
    def create_orders():
        """Generate orders (options such as country, b2b, icp, vat_included, shipping; all optional)."""
        body = json_body(optional=True)
        count = body.pop("count", 1)
        notify = body.pop("notify", True)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_GENERATED:
            raise BadRequest(f"count must be 1-{MAX_GENERATED}")
        created = [model.create_order(dict(body), notify=bool(notify)) for _ in range(count)]
        return jsonify([full_order(o) for o in created]), 201

    @bp.get("/orders/<int:order_id>")
    def order(order_id: int):
        """One order with its rows and invoices."""
        return jsonify(full_order(model.order(order_id)))

    @bp.get("/orders/<int:order_id>/check")
    def check(order_id: int):
        """Whether the order's amounts add up by the simulator's formula (the koppeling's check 1)."""
        problems = totals.problems(model.order(order_id), model.order_rows(order_id))
        return jsonify({"consistent": not problems, "problems": problems})

    @bp.post("/orders/<int:order_id>/pay")
    @doc(body={"type": "object", "properties": {"transaction_id": {"type": "string"},
                                                "paid": {"type": "boolean"}}})
    def pay(order_id: int):
        """Mark paid (with a transaction id, generated when absent); fires orders.updated.ispaid."""
        body = json_body(optional=True)
        transaction_id = body.get("transaction_id")
        if transaction_id is not None and not isinstance(transaction_id, str):
            raise BadRequest("transaction_id must be text")
        return jsonify(full_order(model.mark_paid(order_id, transaction_id, bool(body.get("paid", True)))))

    @bp.post("/orders/<int:order_id>/status")
    @doc(body={"type": "object", "required": ["status"], "properties": {"status": {"type": "integer"}}})
    def status(order_id: int):
        """Change the order status (1-14); fires orders.updated.status."""
        value = json_body().get("status")
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadRequest("status must be a whole number 1-14")
        return jsonify(full_order(model.set_status(order_id, value)))

    for kind in ("invoice", "credit"):
        def make(order_id: int, credit: bool = kind == "credit"):
            body = json_body(optional=True)
            return jsonify(resources.invoice(model.create_invoice(order_id, credit, body.get("status")),
                                             model.base_url)), 201

        make.__name__ = f"create_{kind}"
        make.__doc__ = ("Create the order's invoice (paid when the order is)." if kind == "invoice" else
                        "Create a credit invoice for an invoiced order (every amount negated).")
        bp.post(f"/orders/<int:order_id>/{kind}")(doc(status=201, body={"type": "object", "properties": {
            "status": {"enum": ["paid", "unpaid", "reimbursed"]}}})(make))

    @bp.get("/invoices")
    def invoices():
        """Every invoice (debit and credit)."""
        return jsonify([resources.invoice(i, model.base_url) for i in model.invoices()])

    @bp.post("/invoices/<int:invoice_id>/status")
    @doc(body={"type": "object", "required": ["status"], "properties": {
        "status": {"enum": ["paid", "unpaid", "reimbursed"]}}})
    def invoice_status(invoice_id: int):
        """Change an invoice's status; fires invoices.updated.status."""
        return jsonify(resources.invoice(model.set_invoice_status(invoice_id, json_body().get("status")),
                                         model.base_url))

    @bp.get("/webhooks")
    def webhooks():
        """Webhook registrations (with their keys)."""
        return jsonify([resources.webhook(w, model.base_url) for w in model.webhooks.list()])

    @bp.post("/webhooks")
    @doc(status=201, body={"type": "object", "required": ["event", "address"], "properties": {
        "event": {"enum": list(EVENTS)}, "address": {"type": "string"}, "is_active": {"type": "boolean"}}})
    def add_webhook():
        """Register a webhook (as an app would with POST /api/rest/v1/webhooks)."""
        return jsonify(resources.webhook(model.webhooks.create(json_body()), model.base_url)), 201

    @bp.get("/deliveries")
    @doc(query={"event": "e.g. orders.updated.ispaid", "status": "pending, delivered or failed"})
    def deliveries():
        """Webhook deliveries: body, attempts, status, the receiver's last answer."""
        return jsonify(model.webhooks.deliveries(request.args.get("event"), request.args.get("status")))

    @bp.post("/deliveries/drain")
    def drain():
        """Send every delivery that is due now, in this request (otherwise a background pump does)."""
        return jsonify({"attempts": model.webhooks.drain()})

    @bp.get("/keys")
    def keys():
        """The API key pair, the app secret and where the REST API is."""
        return jsonify({**sim.credentials()[0], "api_root": model.base_url,
                        "base_url": f"{model.base_url}/api/rest/v1/"})

    @bp.get("/vat-numbers")
    def vat_numbers():
        """Every VAT number on an order: check digits, and whether VIES should know it (registered)."""
        return jsonify(model.vat_numbers())

    @bp.post("/app/handshake")
    @doc(body={"type": "object", "required": ["url"], "properties": {
        "url": {"type": "string", "description": "the app's handshake URI"},
        "return_url": {"type": "string"}}})
    def handshake():
        """Do the App Store's handshake: POST the credentials to the app, signed with the app secret."""
        body = json_body()
        target = body.get("url")
        if not isinstance(target, str) or not target.startswith(("http://", "https://")):
            raise BadRequest("url must be the app's http(s) handshake URI")
        sent, outcome = send_handshake(model.config, target, model.base_url,
                                       body.get("return_url") or f"{model.base_url}/admin/apps",
                                       model.config.webhook_timeout)
        model.ctx.journal.record("ccvshop", "ccv.app_handshake", url=target, http_status=outcome.status,
                                 error=outcome.error)
        return jsonify({"sent": sent.decode(), "status": outcome.status, "error": outcome.error,
                        "answer": outcome.answer})

    @bp.get("/codes")
    def codes():
        """Every error code this simulator answers with, and whether it is real or [CHOSEN]."""
        return jsonify([{"code": c.code, "status": c.status, "meaning": c.meaning, "provenance": c.provenance}
                        for c in CODES.values()])

    return bp
