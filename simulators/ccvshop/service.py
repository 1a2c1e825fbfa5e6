"""The CCV Shop simulator as the runtime sees it: model + REST listener + webhook pump + admin routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
                                    max_body_bytes=self.config.max_body_bytes * BACKSTOP_FACTOR, clock=self.ctx.clock)
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
