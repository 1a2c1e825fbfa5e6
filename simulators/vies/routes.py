"""Admin routes of the VIES simulator, under ``/api/vies/``."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..core.admin import build_request, json_body
from ..core.errors import BadRequest
from ..core.openapi import doc
from .config import KnownNumber
from .errors import FAULT_CODES, TEST_FAULTS, TEST_INVALID, TEST_VALID
from .models import ViesModel


def create_blueprint(model: ViesModel) -> Blueprint:
    bp = Blueprint("vies", __name__)

    @bp.get("/numbers")
    def numbers():
        """The VAT numbers the simulated member states know, with validity, name and address."""
        return jsonify(model.numbers())

    @bp.post("/numbers")
    @doc(status=201, body={"type": "object", "required": ["number"], "properties": {
        "number": {"type": "string", "description": "with the country prefix, e.g. NL123456782B01"},
        "valid": {"type": "boolean"},
        "name": {"type": ["string", "null"], "description": "null: not shared, answered as ---"},
        "address": {"type": ["string", "null"]}}})
    def add_number():
        """Add or replace a known VAT number."""
        known = build_request(KnownNumber, json_body())
        return jsonify(model.put_number(known)), 201

    @bp.delete("/numbers/<number>")
    def remove_number(number: str):
        """Forget a known VAT number (checks of it are then answered as for any unknown number)."""
        model.delete_number(number)
        return jsonify({"removed": number.upper()})

    @bp.get("/countries")
    def countries():
        """Every member state VIES answers for, and whether its service is available."""
        return jsonify(model.countries())

    @bp.post("/countries/<country>")
    @doc(body={"type": "object", "required": ["available"], "properties": {"available": {"type": "boolean"}}})
    def set_country(country: str):
        """Make a member state's service unavailable (checks answer MS_UNAVAILABLE) or available again."""
        body = json_body()
        if not isinstance(body.get("available"), bool):
            raise BadRequest("give {\"available\": false} (or true)")
        return jsonify(model.set_available(country, body["available"]))

    @bp.get("/requests")
    @doc(query={"country": "e.g. NL", "number": "without the country prefix", "service": "production | test",
                "operation": "checkVat | checkVatApprox", "outcome": "valid | invalid | fault",
                "fault": "e.g. MS_UNAVAILABLE"})
    def requests():
        """Every check received, oldest first, with its outcome."""
        return jsonify(model.requests(**request.args.to_dict()))

    @bp.get("/codes")
    def codes():
        """The fault strings with their provenance, and the test service's magic numbers."""
        return jsonify({
            "faults": [{"code": c.code, "meaning": c.meaning, "provenance": c.provenance}
                       for c in FAULT_CODES.values()],
            "test_numbers": {TEST_VALID: "valid", TEST_INVALID: "invalid", **TEST_FAULTS},
        })

    return bp
