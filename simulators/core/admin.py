"""The admin HTTP API (Flask): one surface for the CLI, the pytest plugin, scenarios and people.

Core routes live here; each simulator adds a blueprint under ``/api/<name>/``. The OpenAPI document
is generated from the routes themselves (docstrings + ``@doc``), so it cannot drift from them.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Rule
from werkzeug.serving import make_server

from .clock import ClockError
from .errors import BadRequest, KoppelsimError
from .lifecycle import Endpoint, ServerThread
from .openapi import build_openapi, doc

if TYPE_CHECKING:
    from .runtime import Runtime

MAX_ADMIN_BODY = 1024 * 1024  # the admin API takes rules and seed data, never bulk uploads

_JOURNAL_PARAMS = {"sim", "kind", "since", "limit"}


class LazyBuilderRule(Rule):
    """A werkzeug rule that compiles its URL builders when ``url_for`` first needs them.

    Werkzeug generates and compiles two Python functions per rule as the rule is added (~0.4 ms each
    time; ~100 admin routes make that a tenth of the start-up), yet only ``url_for`` ever calls them.
    Matching a request does not use them. Werkzeug's own builder is made on first use and called
    exactly as werkzeug would, so the URL it builds is the same. Should a werkzeug release stop calling
    ``_compile_builder``, the override goes unused and rules are built the normal, eager way.
    """

    def _compile_builder(self, *args: Any, **kwargs: Any) -> Any:
        compile_builder = super()._compile_builder
        compiled: list[Any] = []

        def build(rule: Rule, /, *values: Any, **named: Any) -> Any:
            # Werkzeug binds this to the rule (``__get__``) just as it binds its compiled builder.
            if not compiled:  # two threads may both compile once: the same function, no harm
                compiled.append(compile_builder(*args, **kwargs))
            return compiled[0](rule, *values, **named)

        return build


def create_app(runtime: "Runtime") -> Flask:
    app = Flask("koppelsim")
    app.url_rule_class = LazyBuilderRule  # before the first route: every rule, blueprints' too
    app.config["MAX_CONTENT_LENGTH"] = MAX_ADMIN_BODY
    app.json.sort_keys = False

    @app.errorhandler(KoppelsimError)
    def _model_error(err: KoppelsimError):
        return jsonify({"error": err.as_dict()}), err.http_status

    @app.errorhandler(ClockError)
    def _clock_error(err: ClockError):
        return jsonify({"error": {"code": "bad_clock_request", "message": str(err)}}), 400

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        message = err.description or err.name
        if err.code == 404:
            message = f"no such endpoint: {request.method} {request.path} (see GET /api/openapi.json)"
        elif err.code == 405:
            message = f"{request.method} is not allowed on {request.path}"
        return jsonify({"error": {"code": err.name.lower().replace(" ", "_"), "message": message}}), err.code

    @app.get("/livez")
    def livez():
        """Liveness: the admin process answers."""
        return jsonify({"status": "alive"})

    @app.get("/readyz")
    def readyz():
        """Readiness: every listener is bound and serving."""
        if runtime.ready:
            return jsonify({"status": "ready", "endpoints": len(runtime.endpoints)})
        return jsonify({"status": "starting"}), 503

    @app.get("/api/endpoints")
    def endpoints():
        """Every listener of this instance, with protocol, port and test credentials (as they are now)."""
        listed = []
        for endpoint in runtime.endpoints:
            entry = endpoint.as_dict()
            sim = runtime.simulators.get(endpoint.simulator)
            if sim is not None:
                entry["credentials"] = sim.credentials()
            listed.append(entry)
        return jsonify(listed)

    @app.get("/api/clock")
    def clock_get():
        """The clock: current time, kind (system/virtual) and pending scheduled events."""
        return jsonify({**runtime.clock.describe(), "scheduler": runtime.scheduler.describe()})

    @app.post("/api/clock")
    @doc(body={"type": "object", "properties": {
        "advance": {"type": "string", "description": "duration such as 90s, 5m, 2h, 1h30m, 3d, PT2H"},
        "set": {"type": "string", "format": "date-time", "description": "move to this instant (forward only)"},
    }})
    def clock_post():
        """Time travel: advance or set the clock; everything due on the way fires, in order."""
        body = json_body()
        if "advance" in body and "set" in body:
            raise BadRequest("give either 'advance' or 'set', not both")
        if "advance" in body:
            runtime.scheduler.advance(body["advance"])
        elif "set" in body:
            runtime.scheduler.advance_to(body["set"])
        else:
            raise BadRequest("give 'advance' (e.g. \"2h\") or 'set' (an ISO 8601 instant)")
        return jsonify({**runtime.clock.describe(), "scheduler": runtime.scheduler.describe()})

    @app.get("/api/journal")
    @doc(query={"sim": "simulator name", "kind": "entry kind, wildcards allowed (ftp.*)",
                "since": "only entries with a larger id", "limit": "at most this many entries",
                "<field>": "any other parameter filters on that field, wildcards allowed"})
    def journal_get():
        """Journal entries in order, filtered by simulator, kind and any field."""
        args = request.args
        match = {k: v for k, v in args.items() if k not in _JOURNAL_PARAMS}
        entries = runtime.journal.entries(
            sim=args.get("sim"), kind=args.get("kind"), since=_int_arg("since", 0),
            match=match or None, limit=_int_arg("limit", None),
        )
        return jsonify(entries)

    @app.delete("/api/journal")
    def journal_clear():
        """Empty the journal."""
        runtime.journal.clear()
        return jsonify({"cleared": True})

    @app.get("/api/rules")
    def rules_list():
        """Every fault-injection rule, in the order they are tried."""
        return jsonify(runtime.rules.list(request.args.get("sim")))

    @app.post("/api/rules")
    @doc(status=201, body={"type": "object", "required": ["sim"], "properties": {
        "sim": {"type": "string"}, "when": {"type": "object"},
        "times": {"type": "integer", "minimum": 1}}, "additionalProperties": True})
    def rules_add():
        """Add a rule: {sim, when: {...}, <action>: {...}, times?}."""
        body = json_body()
        sim = body.pop("sim", None)
        if not sim:
            raise BadRequest("a rule needs 'sim' naming the simulator it applies to")
        return jsonify(runtime.rules.add(sim, body)), 201

    @app.get("/api/rules/<int:rule_id>")
    def rules_get(rule_id: int):
        """One rule with its hit count."""
        return jsonify(runtime.rules.get(rule_id))

    @app.delete("/api/rules/<int:rule_id>")
    def rules_remove(rule_id: int):
        """Remove one rule."""
        runtime.rules.remove(rule_id)
        return jsonify({"removed": rule_id})

    @app.delete("/api/rules")
    def rules_clear():
        """Remove all rules (of one simulator with ?sim=)."""
        runtime.rules.clear(request.args.get("sim"))
        return jsonify({"cleared": True})

    @app.post("/api/reset")
    def reset():
        """Back to the configured state: accounts from config, no files, rules, events or journal."""
        sim = request.args.get("sim") or json_body(optional=True).get("sim")
        if sim and sim not in runtime.simulators:
            raise BadRequest(f"unknown simulator {sim!r}; running: {sorted(runtime.simulators)}")
        runtime.reset(sim)
        return jsonify({"reset": sim or "all"})

    for sim in runtime.simulators.values():
        blueprint = sim.blueprint()
        if blueprint is not None:
            app.register_blueprint(blueprint, url_prefix=f"/api/{sim.api_name or sim.name}")

    @app.get("/api/openapi.json")
    def openapi():
        """This document."""
        return jsonify(build_openapi(app))

    return app


def build_request(cls: type, body: Any) -> Any:
    """A request body turned into ``cls`` (a config dataclass) with the config's checks; what is wrong with
    it is the client's request, so a 400 ``bad_request`` naming the field, not a ``config_error``."""
    from .config import build
    from .errors import ConfigError

    try:
        return build(cls, body, "request body", "")
    except ConfigError as exc:
        raise BadRequest(str(exc)) from None


def json_body(optional: bool = False) -> dict[str, Any]:
    """The request's JSON object, or a clear 400.

    The body is read as JSON whatever the Content-Type says: ``curl -d '{...}'`` sends a form type
    by default, and refusing that would only puzzle people.
    """
    raw = request.get_data(cache=True)
    if request.content_length is None and len(raw) >= MAX_ADMIN_BODY:
        # A chunked body is cut off quietly at the limit; say so instead of "not valid JSON".
        raise RequestEntityTooLarge(f"the request body is larger than {MAX_ADMIN_BODY} bytes")
    if not raw.strip():
        if optional:
            return {}
        raise BadRequest("this request needs a JSON body, e.g. {\"advance\": \"2h\"}")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _int_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise BadRequest(f"query parameter {name!r} must be a whole number, got {raw!r}") from exc


class AdminServer:
    """The admin API on a werkzeug threaded server, with the lifecycle of every listener."""

    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        config = runtime.config
        self.app = create_app(runtime)
        self.server = make_server(config.admin_host, config.port(config.admin_port), self.app, threaded=True)
        self.server.timeout = 0.2
        self.thread = ServerThread("koppelsim-admin", self.server.handle_request, self.server.server_close)

    def start(self) -> Endpoint:
        self.thread.start()
        host, port = self.server.server_address[:2]
        return Endpoint(name="admin", simulator="core", protocol="http", host=host, port=port,
                        url=f"http://{host}:{port}/", notes="admin API; OpenAPI at /api/openapi.json")

    def stop(self) -> None:
        self.thread.stop()


__all__ = ["create_app", "AdminServer", "LazyBuilderRule", "json_body"]
