"""Admin routes of the hub, under ``/api/hub/``: what the CLI does, over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, jsonify, request

from clients.hub import HubError

from ..core.admin import json_body
from ..core.openapi import doc

if TYPE_CHECKING:
    from .service import HubService


def create_blueprint(service: "HubService") -> Blueprint:
    bp = Blueprint("hub", __name__)

    def hub():
        if service.hub is None:
            raise HubError("the hub is not started")
        return service.hub

    @bp.errorhandler(HubError)
    def _refused(err: HubError):
        return jsonify({"error": {"code": err.code, "message": err.message}}), err.http_status

    @bp.get("/tenants")
    def tenants():
        """Every tenant (sub-environment) with its identities, CB relation ids and e-mail addresses."""
        return jsonify(hub().tenants())

    @bp.post("/tenants")
    @doc(status=201, body={"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "vat_number": {"type": "string"},
        "kvk_number": {"type": "string"}, "relation_ids": {"type": "array", "items": {"type": "string"}},
        "emails": {"type": "array", "items": {"type": "string"}}}})
    def create_tenant():
        """Create a tenant; 409 when it exists."""
        body = json_body()
        allowed = {"id", "name", "vat_number", "kvk_number", "relation_ids", "emails"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise HubError(f"unknown field(s) {unknown}; known: {', '.join(sorted(allowed))}")
        fields = {k: v for k, v in body.items() if k != "id"}  # names checked above, types in create_tenant
        return jsonify(hub().create_tenant(body.get("id"), **fields)), 201

    @bp.get("/tenants/<tenant>/messages")
    def statuses(tenant: str):
        """What the tenant sees: each of its messages with status and reason."""
        return jsonify(hub().statuses(tenant))

    @bp.post("/tenants/<tenant>/messages")
    @doc(status=201, body={"type": "object", "required": ["type"], "properties": {
        "type": {"enum": ["vat", "icp", "kvk"]}, "period": {"type": "string"}, "boxes": {"type": "object"},
        "supplies": {"type": "array"}, "year": {"type": "integer"}, "document": {"type": "string"},
        "identity": {"type": "string"}}})
    def prepare(tenant: str):
        """Prepare a message in the tenant (vat: period + boxes; icp: period + supplies; kvk: year)."""
        body = json_body()
        kind = body.pop("type", None)
        if not isinstance(kind, str):
            raise HubError(f"'type' must be one of vat, icp, kvk; got {kind!r}")
        return jsonify(hub().prepare(tenant, kind, body)), 201  # a dict: any field name is checked, not a kwarg

    @bp.get("/tenants/<tenant>/invoices")
    def invoices(tenant: str):
        """E-invoices routed to the tenant."""
        return jsonify(hub().invoices(tenant))

    @bp.get("/messages")
    def messages():
        """Every message of every tenant (the communication environment's list)."""
        return jsonify(hub().statuses(request.args.get("tenant")))

    @bp.get("/messages/<number>")
    def history(number: str):
        """A message's full history: every event and every return message with its content."""
        return jsonify(hub().history(number))

    @bp.post("/messages/<number>/resubmit")
    def resubmit(number: str):
        """Queue a message in error or rejected again, corrected when fields (e.g. boxes) are given."""
        return jsonify(hub().resubmit(number, json_body(optional=True)))

    @bp.post("/send-receive")
    def send_receive():
        """Run send/receive now; 409 while another run is in progress."""
        return jsonify(service.run("api"))

    @bp.get("/unknown")
    def unknown():
        """Return messages and e-invoices that could not be linked to a message or tenant."""
        return jsonify(hub().unknown())

    @bp.get("/runs")
    def runs():
        """The latest send/receive runs, newest first."""
        return jsonify(hub().runs())

    return bp
