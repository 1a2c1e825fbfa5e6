"""The CCV Shop simulator as the runtime sees it: model + REST listener + webhook pump + admin routes."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..core.httpserver import HTTPListener
from ..core.lifecycle import Endpoint
from ..core.runtime import Context, Simulator
from .config import CCVShopConfig
from .faults import validate_rule
from .models import SIM, CCVShopModel
from .rest import PREFIX, RestAPI

if TYPE_CHECKING:
    from flask import Blueprint

# The listener's own limit is only a backstop: the REST layer refuses bodies over ``max_body_bytes`` itself,
# so that a client gets CCV's JSON error rather than the listener's plain-text 413.
BACKSTOP_FACTOR = 4
EVENT_SEED_ORDERS = "ccvshop.seed_orders"
# Settings read only when the simulator starts (or seeds): changing them on a running one would do nothing.
AT_START = ("enabled", "port", "public_url", "app_name", "seed_orders")


class CCVShopSimulator(Simulator):
    name = SIM
    config_class = CCVShopConfig

    def __init__(self, ctx: Context, config: CCVShopConfig) -> None:
        super().__init__(ctx, config)
        ctx.rules.register(SIM, validate_rule)
        self.model = CCVShopModel(ctx, config)
        ctx.scheduler.register(EVENT_SEED_ORDERS, lambda payload, at: self.model.seed_orders())
        self.api = RestAPI(self.model)
        self.listener: HTTPListener | None = None
        self._configured = config  # what a reset goes back to

    def configure(self, **settings: Any) -> CCVShopConfig:
        """Run on a copy of the configuration with these settings (a scenario's ``keys`` and ``settings``).

        A copy, never the instance itself: that one is the runtime's configuration, read again by a reset.
        Raises ``ValueError`` for an unknown setting, one read only at start, or a value the configuration
        refuses."""
        known = {f.name for f in dataclasses.fields(CCVShopConfig)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown CCV Shop setting {unknown[0]!r}")
        fixed = sorted(set(settings) & set(AT_START))
        if fixed:
            raise ValueError(f"{fixed[0]!r} is read only when the simulator starts: set it in the ccvshop "
                             "configuration, not on a running simulator")
        config = dataclasses.replace(self.config, **settings)  # __post_init__ checks the new values
        self._use(config)
        return config

    def _use(self, config: CCVShopConfig) -> None:
        # Every part that holds the configuration reads it at each use, so handing it the new one is enough.
        self.config = config
        self.model.configure(config)
        self.api.limiter.config = config

    @classmethod
    def settings_for_tests(cls) -> dict:
        return {"port": 0, "seed_orders": 0, "webhook_timeout": 5.0}

    def recover(self) -> None:
        self.model.seed_app()
        # Seed orders a previous run planned but did not get to (stopped right after start) are planned
        # again in start(), for just after it: left pending here, they would run before the listeners
        # open and keep /readyz waiting for Faker.
        self.ctx.scheduler.cancel_kind(EVENT_SEED_ORDERS)

    def start(self) -> list[Endpoint]:
        if self.listener is None:
            listener = HTTPListener("koppelsim-ccvshop-http", self.ctx.config.host,
                                    self.ctx.config.port(self.config.port), self.api,
                                    max_body_bytes=self.config.max_body_bytes * BACKSTOP_FACTOR, clock=self.ctx.clock,
                                    one_cpu=self.ctx.config.http_cpu == "one",
                                    answer_on_loop=lambda: True)  # its answers never wait for anything
            listener.start()
            self.listener = listener
        if not self.config.public_url:
            self.model.base_url = self.listener.url
        self.model.webhooks.start()
        if self.config.seed_orders and not self.ctx.scheduler.pending(EVENT_SEED_ORDERS):
            # Generated just after start (Faker's locales take a while to load): no reason to keep
            # /readyz waiting. Only an empty shop gets them, so a restart adds none.
            self.ctx.scheduler.schedule(EVENT_SEED_ORDERS, self.ctx.clock.now(), {})
        return [Endpoint(
            name="ccvshop-http", simulator=SIM, protocol="http", host=self.listener.host, port=self.listener.port,
            url=f"{self.listener.url}{PREFIX}/",
            notes="CCV Shop REST API (HMAC: x-public, x-date, x-hash); admin at /api/ccvshop/",
            credentials=self.credentials())]

    def stop(self) -> None:
        self.model.webhooks.stop()
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()

    def reset(self) -> None:
        if self.config is not self._configured:
            self._use(self._configured)  # settings a test or scenario made end with it
        self.api.limiter.reset()
        self.api.pages.clear()
        self.model.reset()

    def credentials(self) -> list[dict]:
        """The API key pair (``user``/``password`` are what ``koppelsim sim`` prints for every listener)."""
        return [{"user": self.config.public_key, "password": self.config.secret_key,
                 "public_key": self.config.public_key, "secret_key": self.config.secret_key,
                 "app_secret": self.config.app_secret}]

    def blueprint(self) -> "Blueprint":
        from .routes import create_blueprint  # Flask only when the admin API is served

        return create_blueprint(self)
