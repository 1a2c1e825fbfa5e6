"""The VIES simulator as the runtime sees it: model + SOAP over HTTP listener + admin routes + rules."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError
from ..core.httpserver import HTTPListener
from ..core.lifecycle import Endpoint
from ..core.rules import check_when_fields
from ..core.runtime import Context, Simulator
from .config import SHARES_NO_NAME_OR_ADDRESS, KnownNumber, ViesConfig
from .errors import FAULT_CODES
from .models import RULE_EVENT_FIELDS, SIM, ViesModel, fault_code
from .soap import BASE, SoapApp
from .wsdl import load_wsdl

if TYPE_CHECKING:
    from flask import Blueprint

RULE_ANSWER_FIELDS = {"valid", "name", "address"}
# Seed data: put in the registry at start and at each reset, added at run time through the model.
SEED_LISTS = ("numbers", "unavailable")
# Settings read only when the simulator starts: changing them on a running one would do nothing.
AT_START = ("enabled", "port", "wsdl_path")


def validate_rule(rule: dict) -> None:
    """``fault: MS_UNAVAILABLE`` (or ``{code: ...}``), or ``answer: {valid, name, address}``."""
    action = next(k for k in rule if k not in ("when", "name"))
    value: Any = rule[action]
    if action == "fault":
        if isinstance(value, dict) and set(value) - {"code"}:
            raise ValueError(f"'fault' takes only 'code', got {sorted(value)}")
        code = fault_code(value) if isinstance(value, (str, dict)) else None
        if code not in FAULT_CODES:
            raise ValueError(f"'fault' must name a VIES fault ({', '.join(FAULT_CODES)}), got {value!r}")
    elif action == "answer":
        if not isinstance(value, dict) or set(value) - RULE_ANSWER_FIELDS:
            raise ValueError(f"'answer' is an object with {', '.join(sorted(RULE_ANSWER_FIELDS))}, "
                             f"got {value!r}")
        if "valid" in value and not isinstance(value["valid"], bool):
            raise ValueError("answer.valid must be true or false")
    else:
        raise ValueError(f"unknown VIES rule action {action!r}; known: fault, answer")
    check_when_fields(rule, RULE_EVENT_FIELDS, "VIES")


class ViesSimulator(Simulator):
    name = SIM
    config_class = ViesConfig

    def __init__(self, ctx: Context, config: ViesConfig) -> None:
        super().__init__(ctx, config)
        ctx.rules.register(SIM, validate_rule)
        if config.wsdl_path:
            try:  # a broken replacement WSDL stops the start, not every client that asks for it
                load_wsdl(config.wsdl_path, "http://check/")
            except (OSError, ValueError) as exc:
                raise ConfigError(f"vies.wsdl_path: {exc}") from exc
        self.model = ViesModel(ctx, config)
        self.listener: HTTPListener | None = None
        self.app: SoapApp | None = None
        self._shop: Any = None  # the CCV Shop simulator's model, when it runs beside us
        self._configured = config  # what a reset goes back to

    def configure(self, **settings: Any) -> ViesConfig:
        """Run on a copy of the configuration with these settings (a scenario's ``settings``, a test's).

        A copy, never the instance itself: that one is the runtime's configuration, read again by a reset.
        Raises ``ValueError`` for an unknown setting, seed data, one read only at start, or a value the
        configuration refuses."""
        known = {f.name for f in dataclasses.fields(ViesConfig)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown VIES setting {unknown[0]!r}")
        seeds = sorted(set(settings) & set(SEED_LISTS))
        if seeds:
            raise ValueError(f"{seeds[0]!r} is seed data, not a setting: give it as given.vies.{seeds[0]} "
                             "(or through /api/vies/)")
        fixed = sorted(set(settings) & set(AT_START))
        if fixed:
            raise ValueError(f"{fixed[0]!r} is read only when the simulator starts: set it in the vies "
                             "configuration, not on a running simulator")
        config = dataclasses.replace(self.config, **settings)  # __post_init__ checks the new values
        self._use(config)
        return config

    def _use(self, config: ViesConfig) -> None:
        self.config = config
        self.model.configure(config)
        if self.app is not None:
            self.app.config = config  # read at each request

    @classmethod
    def settings_for_tests(cls) -> dict:
        return {"port": 0}

    def start(self) -> list[Endpoint]:
        if self.listener is None:
            self.app = SoapApp(self.model, self.config, self.ctx.journal)
            listener = HTTPListener("koppelsim-vies-soap", self.ctx.config.host,
                                    self.ctx.config.port(self.config.port), self.app,
                                    max_body_bytes=self.config.max_body_bytes, clock=self.ctx.clock,
                                    one_cpu=self.ctx.config.http_cpu == "one",
                                    answer_on_loop=lambda: True)  # its answers never wait for anything
            listener.start()
            self.listener = listener
        url = self.listener.url
        return [Endpoint(
            name="vies-soap", simulator=SIM, protocol="http", host=self.listener.host,
            port=self.listener.port, tls="none", url=f"{url}{BASE}/checkVatService.wsdl",
            notes=f"VIES checkVat, SOAP 1.1; test service {BASE}/checkVatTestService.wsdl; "
                  "numbers at /api/vies/numbers",
        )]

    def stop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()

    def join(self, others: dict[str, Simulator]) -> None:
        # The shop's customers: every VAT number the CCV Shop simulator puts on an order is known here,
        # valid or not as the shop's data says, so a koppeling's ICP check meets consistent answers.
        shop = others.get("ccvshop")
        if shop is not None:
            self._shop = shop.model
            shop.model.vat_number_listeners.append(self._learn)

    def _learn(self, entry: dict) -> None:
        """A shop customer's VAT number becomes known to VIES; its name and address only where the member
        state shares them (a German customer's are in the shop, yet VIES answers "---")."""
        shared = entry["full"][:2].upper() not in SHARES_NO_NAME_OR_ADDRESS
        try:
            known = KnownNumber(entry["full"], valid=entry["registered"],
                                name=(entry["name"] or None) if shared else None,
                                address=(entry["address"] or None) if shared else None)
        except ValueError:
            return  # not a member state's number (a Swiss or British customer): VIES cannot know it
        self.model.put_number(known, source="ccvshop")

    def reset(self) -> None:
        if self.config is not self._configured:
            self._use(self._configured)  # settings a test or scenario made end with it
        self.model.reset()
        if self._shop is not None:
            for entry in self._shop.vat_numbers():
                self._learn(entry)

    def blueprint(self) -> "Blueprint":
        from .routes import create_blueprint  # Flask only when the admin API is served

        return create_blueprint(self.model)
