"""Admin routes of the Twinfield simulator, under ``/api/twinfield/``.

Seeding (organisations, offices, users, OAuth clients, dimensions, VAT codes, articles) and looking
(bookings line by line, invoices, match sets, tokens, limits). ``GET /bookings`` is where a test or a
scenario checks "which bookings exist, line by line".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, jsonify, request

from ..core.admin import build_request, json_body
from ..core.clock import format_instant
from ..core.errors import BadRequest, NotFound
from ..core.openapi import doc
from . import errors
from .config import SCOPES, Article, Client, Dimension, Office, Organisation, User, VatCode

if TYPE_CHECKING:
    from .service import TwinfieldSimulator


def create_blueprint(sim: "TwinfieldSimulator") -> Blueprint:
    bp = Blueprint("twinfield", __name__)
    model = sim.model

    def body_as(cls: type):
        return build_request(cls, json_body())

    @bp.get("/organisations")
    def organisations():
        """Organisations (code, GUID, name)."""
        return jsonify(model.directory.organisations())

    @bp.post("/organisations")
    @doc(status=201, body={"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "id": {"type": "string", "format": "uuid"}}})
    def add_organisation():
        """Create or update an organisation."""
        return jsonify(model.directory.put_organisation(body_as(Organisation))), 201

    @bp.get("/offices")
    def offices():
        """Offices (administraties) with their masks, reporting currency and invoice types."""
        return jsonify([o.as_dict() for o in model.directory.offices(request.args.get("organisation"))])

    @bp.post("/offices")
    @doc(status=201, body={"type": "object", "required": ["code", "name"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "organisation": {"type": "string"},
        "masks": {"type": "object"}, "reporting_currency": {"type": ["string", "null"]},
        "invoice_types": {"type": "array", "items": {"type": "string"}}, "seed_ledger": {"type": "boolean"}}})
    def add_office():
        """Create or update an office; with seed_ledger (default) it gets the default ledger and VAT codes."""
        return jsonify(model.put_office(body_as(Office))), 201

    @bp.get("/users")
    def users():
        """Users (passwords are not shown) with the offices they reach."""
        return jsonify(model.directory.users())

    @bp.post("/users")
    @doc(status=201, body={"type": "object", "required": ["user", "password"], "properties": {
        "user": {"type": "string"}, "password": {"type": "string"}, "organisation": {"type": "string"},
        "name": {"type": "string"}, "offices": {"type": ["array", "null"], "items": {"type": "string"}}}})
    def add_user():
        """Create or update a user; offices null = every office of the organisation."""
        return jsonify(model.directory.put_user(body_as(User))), 201

    @bp.get("/clients")
    def clients():
        """OAuth clients with their redirect URIs (secrets are in GET /api/endpoints)."""
        return jsonify(model.directory.clients())

    @bp.post("/clients")
    @doc(status=201, body={"type": "object", "required": ["client_id", "client_secret"], "properties": {
        "client_id": {"type": "string"}, "client_secret": {"type": "string"},
        "redirect_uris": {"type": "array", "items": {"type": "string"}}, "name": {"type": "string"}}})
    def add_client():
        """Register an OAuth client (redirect URIs must match exactly)."""
        return jsonify(model.directory.put_client(body_as(Client))), 201

    @bp.get("/dimensions")
    @doc(query={"office": "office code", "type": "BAS, PNL, DEB, CRD or KPL"})
    def dimensions():
        """Dimensions: ledger accounts, customers (with their e-mail address), suppliers, cost centres."""
        return jsonify(model.dimensions(request.args.get("office"), request.args.get("type")))

    @bp.post("/dimensions")
    @doc(status=201, body={"type": "object", "required": ["type", "code", "name"], "properties": {
        "type": {"enum": ["BAS", "PNL", "DEB", "CRD", "KPL"]}, "code": {"type": "string"},
        "name": {"type": "string"}, "office": {"type": ["string", "null"]}, "email": {"type": "string"},
        "vatnumber": {"type": "string"}, "country": {"type": "string"}, "matchtype": {"type": "string"}}})
    def add_dimension():
        """Seed a dimension (no mask check: seeding is not the API); office null = every seeded office."""
        return jsonify(model.put_dimension(body_as(Dimension))), 201

    @bp.get("/vatcodes")
    def vatcodes():
        """VAT codes per office with their percentages over time."""
        return jsonify(model.vat_codes(request.args.get("office")))

    @bp.post("/vatcodes")
    @doc(status=201, body={"type": "object", "required": ["code", "name", "percentages"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "type": {"enum": ["sales", "purchase"]},
        "icp": {"type": "boolean"}, "office": {"type": ["string", "null"]},
        "percentages": {"type": "array", "items": {"type": "object"}}}})
    def add_vatcode():
        """Create or replace a VAT code (in one office, or every seeded office)."""
        body = json_body()
        office = body.pop("office", None)
        vat = build_request(VatCode, body)
        return jsonify(model.put_vat_code(office, vat)), 201

    @bp.post("/articles")
    @doc(status=201, body={"type": "object", "required": ["code", "name", "office"]})
    def add_article():
        """An article for sales invoices (article 0, a one-off, always exists)."""
        article = body_as(Article)
        if not article.office:
            raise BadRequest("an article needs an office")
        return jsonify(model.put_article(article.office, article)), 201

    @bp.get("/bookings")
    @doc(query={"office": "office code", "code": "journal (VRK, MEMO)", "kind": "sales | memo",
                "invoicenumber": "header invoice number", "location": "temporary | final"})
    def bookings():
        """Every booking (transaction) with its lines, oldest first: the place to check what was booked."""
        return jsonify(model.bookings(**{k: request.args.get(k) for k in
                                         ("office", "code", "kind", "invoicenumber", "location")}))

    @bp.get("/bookings/<office>/<code>/<number>")
    def booking(office: str, code: str, number: str):
        """One booking with its lines."""
        return jsonify(model.booking(office, code, number))

    @bp.get("/invoices")
    def invoices():
        """Sales invoices with lines, totals and VAT lines."""
        return jsonify(model.invoice_views(request.args.get("office")))

    @bp.get("/matches")
    def matches():
        """Match sets (afletteringen), oldest first."""
        return jsonify(model.matches(request.args.get("office")))

    @bp.get("/tokens")
    def tokens():
        """Tokens issued: access, refresh and session, with expiry as the simulated clock sees it."""
        return jsonify(model.auth.tokens())

    @bp.post("/tokens/expire")
    @doc(body={"type": "object", "additionalProperties": False, "properties": {
        "token": {"type": "string"}, "kind": {"enum": list(TOKEN_KINDS)}}})
    def expire_tokens():
        """Token-expiry helper: expire one token, or every token of a kind (default: access tokens), now."""
        body = _checked(json_body(optional=True), {"token": str, "kind": str})
        kind = body.get("kind", "access")
        if kind not in TOKEN_KINDS:
            raise BadRequest(f"kind must be one of {', '.join(TOKEN_KINDS)}, got {kind!r}")
        if "token" in body and not any(t["token"] == body["token"] for t in model.auth.tokens()):
            raise NotFound("no such token (GET /api/twinfield/tokens lists them)")
        return jsonify({"expired": model.auth.expire(body.get("token"), kind)})

    @bp.post("/tokens")
    @doc(status=201, body={"type": "object", "required": ["user"], "additionalProperties": False, "properties": {
        "user": {"type": "string"}, "organisation": {"type": "string"}, "client_id": {"type": "string"},
        "scope": {"type": "string"}}})
    def issue_token():
        """Issue tokens without the login page (a test shortcut): the token endpoint's answer."""
        body = _checked(json_body(), {"user": str, "organisation": str, "client_id": str, "scope": str},
                        required=("user",))
        organisation = body.get("organisation", "KOPPELSIM")
        if model.directory.caller(organisation, body["user"]) is None:
            raise BadRequest(f"no user {body['user']!r} in organisation {organisation!r}")
        clients = model.directory.clients()
        client_id = body.get("client_id") or (clients[0]["client_id"] if clients else None)
        client = model.directory.client(client_id) if client_id else None
        if client is None:
            raise BadRequest(f"no OAuth client {client_id!r}" if client_id else "no OAuth client is registered")
        scope = body.get("scope", " ".join(SCOPES))
        unknown = [s for s in scope.split() if s not in SCOPES]
        if unknown or not scope.split():
            raise BadRequest(f"scope must be Twinfield's scopes ({' '.join(SCOPES)}); "
                             f"{'unknown: ' + ', '.join(unknown) if unknown else 'none given'}")
        return jsonify(model.auth.issue(client, organisation, body["user"], scope, format_instant(model.now()))), 201

    @bp.get("/limits")
    def limits():
        """Fair-use state: credits spent in the current window per IP and client, requests running."""
        return jsonify(sim.limiter.describe())

    @bp.get("/codes")
    def codes():
        """Every SOAP fault code and element message this simulator uses, with its provenance."""
        return jsonify({"faults": [{"code": f.code, "message": f.message, "http_status": f.http_status,
                                    "provenance": f.provenance} for f in errors.FAULT_CODES.values()],
                        "messages": errors.MESSAGES})

    return bp


TOKEN_KINDS = ("access", "refresh", "session")


def _checked(body: dict, fields: dict[str, type], required: tuple[str, ...] = ()) -> dict:
    """The body's fields, each of its type; an unknown or missing field is a 400 that names it."""
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; fields: {', '.join(fields)}")
    for name in required:
        if name not in body:
            raise BadRequest(f"field {name!r} is required")
    for name, value in body.items():
        if not isinstance(value, fields[name]) or (fields[name] is str and not value.strip()):
            raise BadRequest(f"field {name!r} must be a non-empty {fields[name].__name__}, got {value!r}")
    return body
