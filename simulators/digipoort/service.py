"""The Digipoort simulator as the runtime sees it: model + FTPS listener + admin routes + rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import ConfigError
from ..core.ftpserver import FTP_COMMAND_FIELDS, FTPListener, handler_class, validate_ftp_action
from ..core.lifecycle import Endpoint
from ..core.rules import check_when_fields
from ..core.runtime import Context, Simulator
from ..core.tls import server_context
from .config import DigipoortConfig
from .ftp import DigipoortAuthorizer, DigipoortHandler
from .meta import load_schema
from .models import SIM, SUBMISSION_EVENT_FIELDS, DigipoortModel
from .outcomes import validate_answer_action, validate_error_action

if TYPE_CHECKING:
    from flask import Blueprint


def validate_rule(rule: dict) -> None:
    validators = {"error": validate_error_action, "answer": validate_answer_action, "ftp": validate_ftp_action}
    action = next(k for k in rule if k not in ("when", "name"))
    if action not in validators:
        raise ValueError(f"unknown Digipoort rule action {action!r}; known: {', '.join(validators)}")
    if not isinstance(rule[action], dict):
        raise ValueError(f"'{action}' must be an object")
    validators[action](rule[action])
    check_when_fields(rule, FTP_COMMAND_FIELDS if action == "ftp" else SUBMISSION_EVENT_FIELDS,
                      f"Digipoort '{action}'")


class DigipoortSimulator(Simulator):
    name = SIM
    config_class = DigipoortConfig

    def __init__(self, ctx: Context, config: DigipoortConfig) -> None:
        super().__init__(ctx, config)
        ctx.rules.register(SIM, validate_rule)
        try:
            load_schema(config.meta_schema)  # a bad replacement schema stops the start, not every submission
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        self.model = DigipoortModel(ctx, config)
        self.listener: FTPListener | None = None

    @classmethod
    def settings_for_tests(cls) -> dict:
        return {"port": 0, "login_failure_delay": 0.0}

    def recover(self) -> None:
        self.model.recover()

    def start(self) -> list[Endpoint]:
        config, ctx = self.config, self.ctx
        handler = handler_class(
            DigipoortHandler,
            sim_name=SIM,
            model=self.model,
            clock=ctx.clock,
            journal=ctx.journal,
            rules=ctx.rules,
            store=ctx.store,
            authorizer=DigipoortAuthorizer(self.model),
            ssl_context=server_context(ctx.tls, config.tls_min_version),
            tls_control_required=not config.plain_ftp,
            tls_data_required=not config.plain_ftp,
            passive_ports=config.passive_range(),
            auth_failed_timeout=config.login_failure_delay,
            timeout=config.idle_timeout,
            dtp_handler=type("DigipoortDTP", (DigipoortHandler.dtp_handler,),
                             {"max_upload_bytes": config.max_file_size}),
        )
        self.listener = FTPListener("koppelsim-digipoort-ftp", ctx.config.host,
                                    ctx.config.port(config.port), handler)
        self.listener.start()
        mode = "plain FTP or explicit FTPS" if config.plain_ftp else "explicit FTPS (AUTH TLS) required"
        return [Endpoint(
            name="digipoort-ftp", simulator=SIM, protocol="ftp", host=self.listener.host,
            port=self.listener.port, tls="explicit",
            url=f"ftp://{self.listener.host}:{self.listener.port}/",
            notes=f"{mode}, TLS {config.tls_min_version}+; folders IN and OUT",
            credentials=[{"user": a.user, "password": a.password} for a in config.accounts],
        )]

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()
            self.listener = None

    def reset(self) -> None:
        self.model.reset()

    def blueprint(self) -> "Blueprint":
        from .routes import create_blueprint  # Flask only when the admin API is served

        return create_blueprint(self.model)

    def credentials(self) -> list[dict]:
        """The accounts as they are now (for GET /api/endpoints), passwords included: test credentials."""
        return [{"user": a["user"], "password": self.model.account(a["user"]).password}
                for a in self.model.accounts()]
