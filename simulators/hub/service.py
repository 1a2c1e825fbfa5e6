"""The hub as the runtime sees it: the communication service (``clients.hub``) wired to this runtime.

It is not a simulator of a counterpart but our side of the wire, run inside `koppelsim sim` so a
developer gets a working hub with two example tenants: it gets the runtime's clock (scheduled
send/receive is an event on it), a folder in the state dir, and admin routes under ``/api/hub/``.
It reaches Digipoort and CB over real FTPS, exactly as it would reach the real ones. The e-mail
channel is read from the embedded mailbox in-process: the mailbox speaks SMTP in, not IMAP out.
"""

from __future__ import annotations

import logging
import shutil
from typing import TYPE_CHECKING, Any, Callable

from clients.cbftp.client import CBClient, CBConnection
from clients.cbftp.store import CBClientStore
from clients.digipoort import ClientStore, Connection, DigipoortClient
from clients.hub import Hub, HubError, HubStore
from clients.hub.invoices import MailAttachment

from ..core.clock import parse_duration
from ..core.lifecycle import Endpoint
from ..core.runtime import Context, Simulator
from .config import HubConfig

if TYPE_CHECKING:
    from flask import Blueprint

log = logging.getLogger(__name__)
HUB_CB_PASSWORD = "cb-hub-secret"  # [CHOSEN] for a CB relation of the hub's that no configuration names
SIM = "hub"
EVENT_RUN = "hub.send_receive"


class MailboxChannel:
    """The e-mail channel over the embedded mailbox: every .xml attachment of every message."""

    def __init__(self, mailbox: Any) -> None:
        self.mailbox = mailbox

    def xml_attachments(self) -> list[MailAttachment]:
        found = []
        for summary in self.mailbox.messages():
            for attachment in self.mailbox.attachments(summary["id"]):
                if attachment.name.lower().endswith(".xml"):
                    found.append(MailAttachment(f"{summary['id']}/{attachment.name}", attachment.name,
                                                tuple(summary["to"]), attachment.data))
        return found


class HubService(Simulator):
    name = SIM
    config_class = HubConfig

    def __init__(self, ctx: Context, config: HubConfig) -> None:
        super().__init__(ctx, config)
        self.folder = ctx.store.area(SIM)
        self.store = HubStore(self.folder / "hub.db")
        self.others: dict[str, Simulator] = {}
        self.hub: Hub | None = None
        self._stores: list[Any] = []
        ctx.scheduler.register(EVENT_RUN, self._scheduled_run)

    @classmethod
    def settings_for_tests(cls) -> dict:
        return {"schedule": None}  # tests and scenarios run send/receive when they say so

    def join(self, others: dict[str, Simulator]) -> None:
        self.others = others
        self._ensure_own_accounts()

    def _ensure_own_accounts(self) -> None:
        """The hub's Digipoort account and CB relations exist in the simulators it talks to, also when a
        configuration lists accounts of its own without them: the hub would otherwise fail every run with a
        530. Added to their configuration too, so a reset of those simulators keeps them."""
        from ..cbftp.config import CBAccount
        from ..digipoort.config import Account

        digipoort = self.others.get("digipoort")
        user = self.config.digipoort_user
        if digipoort is not None and not any(a.user == user for a in digipoort.config.accounts):
            account = Account(user, self.config.digipoort_password)
            digipoort.config.accounts.append(account)
            digipoort.model.put_account(account, source="hub")
            log.info("hub: Digipoort account %r added for the hub", user)
        cb = self.others.get("cbftp")
        for relation_id in self.config.cb_relation_ids if cb is not None else ():
            configured = any(a.relation_id == relation_id for a in cb.config.accounts)
            if not configured and cb.model.account(relation_id) is None:
                account = CBAccount(relation_id, HUB_CB_PASSWORD, name="communication hub")
                cb.config.accounts.append(account)
                cb.model.put_account(account, source="hub")
                log.info("hub: CB account %s added for the hub", relation_id)

    def start(self) -> list[Endpoint]:
        self.hub = self._build()
        self._seed_tenants()
        self._plan_next_run()
        return []

    def _build(self) -> Hub:
        ctx, config = self.ctx, self.config
        digipoort = None
        endpoint = next((e for e in ctx.endpoints if e.name == "digipoort-ftp"), None)
        if endpoint is not None:
            connection = Connection(endpoint.host, endpoint.port, config.digipoort_user, config.digipoort_password,
                                    ctx.tls.client_context(), timeout=30)
            store = ClientStore(self.folder / "digipoort.db")
            self._stores.append(store)
            # The hub decides what of OUT it takes in (everything but another hub's): see clients/hub/hub.py.
            digipoort = DigipoortClient(connection, store, ctx.clock)
        else:
            log.warning("hub: no Digipoort simulator in this koppelsim: messages can be prepared, not sent")
        return Hub(self.store, ctx.clock, digipoort, self._cb_clients(), self._mail(),
                   new_installation_id=lambda: f"{ctx.random.getrandbits(24):06x}")

    def _cb_clients(self) -> list[CBClient]:
        cb = self.others.get("cbftp")
        endpoint = next((e for e in self.ctx.endpoints if e.name == "cb-ftps"), None)
        if cb is None or endpoint is None:
            return []
        clients = []
        for relation_id in self.config.cb_relation_ids:
            account = cb.model.account(relation_id)
            if account is None:
                log.warning("hub: no CB account %s to collect invoices from", relation_id)
                continue
            connection = CBConnection(endpoint.host, endpoint.port, account.login, account.password, relation_id,
                                      self.ctx.tls.client_context(), timeout=30)
            store = CBClientStore(self.folder / f"cb-{relation_id}.db")
            self._stores.append(store)
            clients.append(CBClient(connection, store, self.folder / f"cb-inbox-{relation_id}", self.ctx.clock))
        return clients

    def _mail(self) -> MailboxChannel | None:
        mailbox = self.others.get("mailbox")
        return MailboxChannel(mailbox.model) if self.config.mail and mailbox is not None else None

    def _seed_tenants(self) -> None:
        for tenant in self.config.tenants:
            self.hub.create_tenant(tenant.id, tenant.name, tenant.vat_number, tenant.kvk_number,
                                   tenant.relation_ids, tenant.emails, exist_ok=True)

    # -- the scheduled task ---------------------------------------------------------------------------

    def _plan_next_run(self) -> None:
        if self.config.schedule and not self.ctx.scheduler.pending(EVENT_RUN):
            self.ctx.scheduler.schedule(EVENT_RUN, self.ctx.clock.now() + parse_duration(self.config.schedule), {})

    def _scheduled_run(self, payload: dict, at: Any) -> None:
        """The scheduled task. It runs on the scheduler's thread, on purpose: a scenario that advances
        the clock past it sees the run's results at once (deterministic), as a person would after the
        hour. A refused run (another is running, e.g. from the CLI) is skipped and journaled; the next
        one is always planned, whatever happened."""
        try:
            if self.hub is not None:
                self.run("schedule")
        except HubError as exc:
            self.ctx.journal.record(SIM, "hub.run_skipped", trigger="schedule", reason=exc.message)
        finally:
            self._plan_next_run()

    def run(self, trigger: str, progress: Callable[[str, str], None] | None = None) -> dict:
        """One send/receive run, journaled; a refused one (another is running) is journaled too."""
        try:
            report = self.hub.send_receive(trigger, progress=progress)
        except HubError as exc:
            self.ctx.journal.record(SIM, "hub.run_refused", trigger=trigger, reason=exc.message)
            raise
        self.ctx.journal.record(SIM, "hub.run", run=report.run, trigger=trigger, sent=len(report.sent),
                                errors=len(report.errors), returns=len(report.returns), unknown=len(report.unknown),
                                invoices=len(report.invoices), problems=len(report.problems))
        return report.as_dict()

    # -- lifecycle ------------------------------------------------------------------------------------

    def stop(self) -> None:
        for store in self._stores:
            store.close()
        self._stores.clear()
        self.store.close()
        self.hub = None

    def reset(self) -> None:
        self.store.clear()
        for store in self._stores:
            store.close()
        self._stores.clear()
        for path in self.folder.iterdir():  # the clients' own state and inboxes start empty too
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif not path.name.startswith("hub.db"):
                path.unlink()
        if self.hub is not None:
            self.hub = self._build()
            self._seed_tenants()
        self._plan_next_run()

    def blueprint(self) -> "Blueprint":
        from .routes import create_blueprint  # Flask only when the admin API is served

        return create_blueprint(self)
