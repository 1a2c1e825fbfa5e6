"""Admin routes of the Centraal Boekhuis simulator, under ``/api/cb/``."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, jsonify, request

from ..core.admin import build_request, json_body
from ..core.errors import BadRequest, NotFound
from ..core.openapi import doc
from .accounts import FOLDERS
from .config import CBAccount
from .findings import RULES
from .models import CBModel


def create_blueprint(model: CBModel) -> Blueprint:
    bp = Blueprint("cb", __name__)

    @bp.get("/accounts")
    def accounts():
        """CB accounts with relation id, login and password (test credentials), e-mail and invoice channel."""
        return jsonify([{**a.as_public_dict(), "password": a.password} for a in model.accounts()])

    @bp.post("/accounts")
    @doc(status=201, body={"type": "object", "required": ["relation_id", "password"], "properties": {
        "relation_id": {"type": "string", "pattern": "^[0-9]{7}$"}, "password": {"type": "string"},
        "user": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"},
        "invoice_channel": {"enum": ["ftp", "email", "both"]}}})
    def add_account():
        """Create or update an account; its /{RelatieID}/in and /out folders are created."""
        return jsonify(model.put_account(build_request(CBAccount, json_body()))), 201

    @bp.delete("/accounts/<relation_id>")
    def delete_account(relation_id: str):
        """Remove an account (its files stay until a reset)."""
        model.delete_account(relation_id)
        return jsonify({"removed": relation_id})

    @bp.get("/findings")
    @doc(query={"relation_id": "one account", "rule": "one rule, e.g. login_frequency"})
    def findings():
        """Every breach of a client-side rule, oldest first: assert [] to prove a client behaves."""
        return jsonify(model.findings(request.args.get("relation_id"), request.args.get("rule")))

    @bp.get("/rules")
    def rules():
        """The rules CB's rulebook sets for clients, by name."""
        return jsonify([{"rule": name, "text": text} for name, text in RULES.items()])

    @bp.get("/files/<relation_id>")
    @doc(query={"folder": "in or out"})
    def files(relation_id: str):
        """Every file of an account: received in in/ and placed in out/, with its state."""
        folder = request.args.get("folder")
        if folder and folder not in FOLDERS:
            raise BadRequest("folder must be in or out")
        _account(model, relation_id)
        return jsonify({"present": {f: model.present(relation_id, f) for f in FOLDERS},
                        "history": model.files(relation_id, folder)})

    @bp.get("/invoices")
    @doc(query={"relation_id": "one account"})
    def invoices():
        """Service invoices issued, oldest first."""
        return jsonify(model.invoices(request.args.get("relation_id")))

    @bp.post("/invoices")
    @doc(status=201, body={"type": "object", "required": ["relation_id"], "properties": {
        "relation_id": {"type": "string"}, "issue_date": {"type": "string", "format": "date"},
        "credit": {"type": "boolean"}, "lines": {"type": "integer", "minimum": 1, "maximum": 1000}}})
    def issue():
        """Issue a service invoice now: UBL + PDF, by FTP (out/) and/or e-mail as the account says."""
        body = json_body()
        _account(model, body.get("relation_id", ""))
        try:
            issue_date = date.fromisoformat(body["issue_date"]) if "issue_date" in body else None
        except ValueError as exc:
            raise BadRequest(f"issue_date must be YYYY-MM-DD: {exc}") from exc
        lines = body.get("lines")
        if lines is not None and (not isinstance(lines, int) or not 1 <= lines <= 1000):
            raise BadRequest("lines must be a whole number from 1 to 1000")
        return jsonify(model.issue_invoice(body["relation_id"], issue_date=issue_date,
                                           credit=bool(body.get("credit")), lines=lines)), 201

    @bp.get("/invoices/<number>/<kind>")
    def invoice_file(number: str, kind: str):
        """The UBL (kind xml) or PDF (kind pdf) of an issued invoice, as it was delivered."""
        invoice = model.invoice(number)
        if kind not in ("xml", "pdf"):
            raise BadRequest("kind must be xml or pdf")
        data = model.invoice_bytes(number, kind)
        name = invoice[f"{kind}_name"]
        return Response(data, mimetype="application/xml" if kind == "xml" else "application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return bp


def _account(model: CBModel, relation_id: str) -> None:
    if model.account(relation_id) is None:
        raise NotFound(f"no CB account {relation_id!r}")
