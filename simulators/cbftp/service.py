"""The Centraal Boekhuis simulator as the runtime sees it: model + FTPS listener + admin routes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..core import ftpcodes
from ..core.ftpserver import FTP_COMMAND_FIELDS, FTPListener, handler_class, validate_ftp_action
from ..core.lifecycle import Endpoint
from ..core.rules import check_when_fields
from ..core.runtime import Context, Simulator
from ..core.tls import server_context
from .config import CBConfig
from .findings import SIM
from .ftp import CBAuthorizer, CBHandler
from .maintenance import next_outage, outage_around
from .models import EVENT_SEED_INVOICES, CBModel

if TYPE_CHECKING:
    from flask import Blueprint

EVENT_OUTAGE = "cbftp.outage"


class CBSimulator(Simulator):
    name = SIM
    api_name = "cb"
    config_class = CBConfig

    def __init__(self, ctx: Context, config: CBConfig) -> None:
        super().__init__(ctx, config)
        ctx.rules.register(SIM, validate_rule)
        self.model = CBModel(ctx, config)
        self.listener: FTPListener | None = None
        ctx.scheduler.register(EVENT_OUTAGE, lambda payload, at: self._outage_begins(at))

    @classmethod
    def settings_for_tests(cls) -> dict:
        # Parallel test workers would fight over one passive range: any free port here; the tests of the
        # range rule configure a small range of their own.
        return {"port": 0, "login_failure_delay": 0.0, "passive_ports": "any", "invoices_waiting": 0,
                "invoice_day": None}

    def recover(self) -> None:
        self.model.recover()
        # Waiting invoices a previous run planned but did not get to (stopped right after start) are
        # planned again in start(): left pending here, they would be made before the listeners open and
        # keep /readyz waiting for Faker and the PDF writer.
        self.ctx.scheduler.cancel_kind(EVENT_SEED_INVOICES)

    def start(self) -> list[Endpoint]:
        config, ctx = self.config, self.ctx
        handler = handler_class(
            CBHandler,
            sim_name=SIM,
            model=self.model,
            clock=ctx.clock,
            journal=ctx.journal,
            rules=ctx.rules,
            store=ctx.store,
            transfers={},
            real_roots={},  # an account's root -> its real path (CBFS.validpath)
            authorizer=CBAuthorizer(self.model),
            ssl_context=server_context(ctx.tls, config.tls_min_version),
            tls_control_required=True,
            tls_data_required=True,
            passive_ports=config.passive_range(),
            auth_failed_timeout=config.login_failure_delay,
            timeout=config.idle_timeout,
            dtp_handler=type("CBDTP", (CBHandler.dtp_handler,), {"max_upload_bytes": config.max_file_size}),
        )
        self.listener = FTPListener("koppelsim-cb-ftp", ctx.config.host, ctx.config.port(config.port), handler)
        self.listener.start()
        self._plan_recurring()
        return [Endpoint(
            name="cb-ftps", simulator=SIM, protocol="ftp", host=self.listener.host, port=self.listener.port,
            tls="explicit", url=f"ftp://{self.listener.host}:{self.listener.port}/",
            notes=f"explicit FTPS, TLS {config.tls_min_version}+, PASV {config.passive_ports}; "
                  f"/{{RelatieID}}/in and /out; mode {config.mode}",
            credentials=self.credentials(),
        )]

    def credentials(self) -> list[dict]:
        return [{"user": a.login, "password": a.password, "relation_id": a.relation_id} for a in self.model.accounts()]

    def _plan_recurring(self) -> None:
        """The weekly outage, the monthly invoice run and the invoices waiting at start."""
        ctx, now = self.ctx, self.ctx.clock.now()
        self._plan_outage(now)
        if self.config.invoices_waiting and not self.model.invoices() \
                and not ctx.scheduler.pending(EVENT_SEED_INVOICES):
            # Issued just after start (the scheduler's thread takes it at once in `koppelsim sim`):
            # making PDFs is no reason to keep /readyz waiting.
            ctx.scheduler.schedule(EVENT_SEED_INVOICES, now, {})
        self.model.plan_invoice_run(now)

    def _plan_outage(self, after: datetime) -> None:
        upcoming = next_outage(after, self.config.maintenance)
        if upcoming is not None and not self.ctx.scheduler.pending(EVENT_OUTAGE):
            self.ctx.scheduler.schedule(EVENT_OUTAGE, upcoming[0], {"ends": upcoming[1].isoformat()})

    def _outage_begins(self, at: datetime) -> None:
        """Maintenance: every open session is told and closed; new ones are refused until it ends."""
        window = outage_around(at, self.config.maintenance)
        listener = self.listener
        if listener is not None and window is not None:
            # Wait for the FTP thread to have closed them: whoever moved the clock past 08:00 finds
            # them closed, and a session opened after the outage is never hit by a late close.
            listener.call_in_loop(lambda: _close_sessions(listener, f"{window[1]:%H:%M}"), wait=True)
        self.ctx.journal.record(SIM, "cb.maintenance_started")
        self._plan_outage(at)

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()
            self.listener = None

    def reset(self) -> None:
        self.model.reset()
        self.ctx.scheduler.cancel_kind(EVENT_OUTAGE)
        self.ctx.scheduler.cancel_kind(EVENT_SEED_INVOICES)
        self._plan_recurring()

    def blueprint(self) -> "Blueprint":
        from .routes import create_blueprint  # Flask only when the admin API is served

        return create_blueprint(self.model)


def _close_sessions(listener: FTPListener, until: str) -> None:
    for handler in listener.handlers():
        handler.refuse(ftpcodes.SERVICE_NOT_AVAILABLE,
                       f"Service not available: CB maintenance until {until} local time; reconnect later.")
        handler.close_when_done()


def validate_rule(rule: dict) -> None:
    """CB's own behaviour is its rulebook (``cbftp.mode``); fault rules act at the FTP level."""
    action = next(k for k in rule if k not in ("when", "name"))
    if action != "ftp" or not isinstance(rule[action], dict):
        raise ValueError(f"the CB simulator takes 'ftp' rules (reply, close, drop), not {action!r}")
    validate_ftp_action(rule[action])
    check_when_fields(rule, FTP_COMMAND_FIELDS, "CB 'ftp'")
