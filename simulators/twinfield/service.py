"""The Twinfield simulator as the runtime sees it: model + one HTTP listener (login host and cluster) + admin routes.

Scriptable faults (rules, ``sim: twinfield``), matched against the request's first element
(``kind``: transaction / dimension / salesinvoice / match / read / list / browse, ``office``, ``code``,
``invoicenumber``, ``type``, ...) and ``operation``, ``service``, ``user``:

* ``reject: {msg, msgtype}`` - the element is refused with this message (nothing stored);
* ``timeout: {booked: false|true, mode: drop|gateway|hold, seconds}`` - the connection drops (or a 504),
  before or after the booking is stored: the case a koppeling must survive without booking twice;
* ``fault: {code, message, http}`` - a SOAP fault with Twinfield's detail code;
* ``throttle: {retry_after}`` - a 429 with Retry-After;
* ``delay: {seconds}`` - answer late: the answer is held until the *simulated* clock has moved that many
  seconds on (``holding.py``; real time in ``sim`` mode, a test's ``advance`` on a virtual clock).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..core.clock import MAX_DURATION_SECONDS, parse_duration
from ..core.lifecycle import Endpoint
from ..core.rules import check_when_fields
from ..core.runtime import Context, Simulator
from .config import TwinfieldConfig
from .models import SIM, TwinfieldModel
from .ratelimit import RateLimiter

if TYPE_CHECKING:
    from flask import Blueprint

    from ..core.httpserver import HTTPListener

_ACTIONS = {
    "reject": {"msg": str, "msgtype": str},
    "timeout": {"booked": bool, "mode": str, "seconds": (int, float)},
    "fault": {"code": int, "message": str, "http": int},
    "throttle": {"retry_after": int},
    "delay": {"seconds": (int, float)},
}

# What a rule's ``when`` can match. A ``reject`` rule sees one request element of a ProcessXml call
# (processxml.event_of); the other actions see the call (web.py ``_rule``): service, operation and the caller,
# plus what event_of gives for the call's first request element.
REQUEST_EVENT_FIELDS = frozenset({"kind", "office", "code", "invoicenumber", "destiny", "lines", "type", "name",
                                  "invoicetype", "customer", "status"})
CALL_EVENT_FIELDS = REQUEST_EVENT_FIELDS | {"service", "operation", "user", "organisation"}


# The configuration's seed data: lists of records, put in the state database at start and at each reset.
SEED_LISTS = ("organisations", "offices", "users", "clients", "vat_codes", "ledger", "dimensions", "articles")


def validate_rule(rule: dict) -> None:
    action = next(k for k in rule if k not in ("when", "name"))
    if action not in _ACTIONS:
        raise ValueError(f"unknown Twinfield rule action {action!r}; known: {', '.join(_ACTIONS)}")
    body = rule[action]
    if not isinstance(body, dict):
        raise ValueError(f"'{action}' must be an object")
    allowed = _ACTIONS[action]
    for key, value in body.items():
        if key not in allowed:
            raise ValueError(f"{action}: unknown field {key!r}; known: {', '.join(allowed)}")
        if not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
            raise ValueError(f"{action}.{key} has the wrong type: {value!r}")
    if "seconds" in body and not 0 <= body["seconds"] <= MAX_DURATION_SECONDS:
        raise ValueError(f"{action}.seconds must be 0 or more (simulated seconds), got {body['seconds']!r}")
    if action == "timeout" and body.get("mode", "drop") not in ("drop", "gateway", "hold"):
        raise ValueError("timeout.mode must be drop, gateway or hold")
    if action == "reject" and body.get("msgtype", "error") not in ("error", "warning"):
        raise ValueError("reject.msgtype must be error or warning")
    check_when_fields(rule, REQUEST_EVENT_FIELDS if action == "reject" else CALL_EVENT_FIELDS,
                      f"Twinfield '{action}'")


class TwinfieldSimulator(Simulator):
    name = SIM
    config_class = TwinfieldConfig

    def __init__(self, ctx: Context, config: TwinfieldConfig) -> None:
        super().__init__(ctx, config)
        ctx.rules.register(SIM, validate_rule)
        self.model = TwinfieldModel(ctx, config)
        self.limiter = RateLimiter(ctx.clock.now, parse_duration(config.rate_window), config.rate_limit_per_ip,
                                   config.rate_limit_per_client, config.max_concurrent_per_organisation)
        self.listener: "HTTPListener | None" = None
        self._configured = config  # what a reset goes back to

    def configure(self, **settings: Any) -> TwinfieldConfig:
        """Run on a copy of the configuration with these settings (a scenario's ``settings``, a test's).

        A copy, never the instance itself: that one is the runtime's configuration, read again by a reset
        and shared with whoever built it (the pytest plugin's session, a scenario runner). Raises
        ``ValueError`` for an unknown setting or a value the configuration refuses."""
        known = {f.name for f in dataclasses.fields(TwinfieldConfig)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown Twinfield setting {unknown[0]!r}")
        seeds = sorted(name for name in settings if name in SEED_LISTS)
        if seeds:  # seed data is added through the model (as given.twinfield.<name> does), not swapped in raw
            raise ValueError(f"{seeds[0]!r} is seed data, not a setting: give it as given.twinfield.{seeds[0]} "
                             "(or POST /api/twinfield/...)")
        config = dataclasses.replace(self.config, **settings)  # __post_init__ checks the new values
        self._use(config)
        return config

    def _use(self, config: TwinfieldConfig) -> None:
        self.config = config
        self.model.configure(config)
        self.limiter.configure(parse_duration(config.rate_window), config.rate_limit_per_ip,
                               config.rate_limit_per_client, config.max_concurrent_per_organisation)

    @classmethod
    def settings_for_tests(cls) -> dict:
        return {"port": 0}

    @property
    def base_url(self) -> str:
        return self.listener.url if self.listener else "http://127.0.0.1"

    @property
    def cluster_url(self) -> str:
        return (self.config.cluster_url or self.base_url).rstrip("/")

    @property
    def login_url(self) -> str:
        return (self.config.login_url or self.base_url).rstrip("/")

    def _answers_at_once(self) -> bool:
        """No rule may hold an answer (a ``delay``, a ``timeout`` that holds): requests are answered on the
        listener's event loop. While one may, each connection is served on a thread of its own, so a held
        answer holds up only its own client."""
        rules = self.ctx.rules
        return not (rules.has_action(SIM, "delay") or rules.has_action(SIM, "timeout"))

    def start(self) -> list[Endpoint]:
        from ..core.httpserver import HTTPListener
        from .web import create_app  # Flask only when the simulator serves

        if self.listener is None:
            app = create_app(self)
            listener = HTTPListener("koppelsim-twinfield", self.ctx.config.host, self.ctx.config.port(self.config.port),
                                    app.wsgi_app_dropping, max_body_bytes=self.config.max_body_bytes,
                                    clock=self.ctx.clock, one_cpu=self.ctx.config.http_cpu == "one",
                                    answer_on_loop=self._answers_at_once)
            listener.start()
            self.listener = listener
        self.model.auth.login_url = self.login_url
        self.model.auth.cluster_url = self.cluster_url
        clients = ", ".join(f"client {c['client_id']!r} secret {c['client_secret']!r}"
                            for c in self.model.directory.clients(secrets=True))
        users = [c for c in self.credentials() if "user" in c]
        return [Endpoint(
            name="twinfield-http", simulator=SIM, protocol="http", host=self.listener.host, port=self.listener.port,
            url=self.base_url + "/",
            notes=f"Twinfield login host + cluster (/auth/authentication/connect/authorize, "
                  f"/webservices/processxml.asmx?wsdl); OAuth {clients}",
            credentials=users,
        )]

    def stop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()

    def reset(self) -> None:
        if self.config is not self._configured:
            self._use(self._configured)  # settings a test or scenario made end with it
        self.model.reset()
        self.limiter.reset()

    def blueprint(self) -> "Blueprint":
        from .routes import create_blueprint  # Flask only when the admin API is served

        return create_blueprint(self)

    def credentials(self) -> list[dict]:
        """Test credentials as they are now: users (with their offices) and OAuth clients."""
        directory = self.model.directory
        users = [{"user": u["user"], "password": directory.user_password(u["organisation"], u["user"]),
                  "organisation": u["organisation"], "offices": u["offices"]} for u in directory.users()]
        clients = [{"client_id": c["client_id"], "client_secret": c["client_secret"],
                    "redirect_uris": c["redirect_uris"]} for c in directory.clients(secrets=True)]
        return users + clients
