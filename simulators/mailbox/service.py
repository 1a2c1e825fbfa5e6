"""The test mailbox as the runtime sees it: model + SMTP listener + admin routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lifecycle import Endpoint
from ..core.runtime import Context, Simulator
from .config import MailboxConfig
from .models import SIM, Mailbox

if TYPE_CHECKING:
    from flask import Blueprint

    from .smtp import SMTPListener


class MailboxSimulator(Simulator):
    name = SIM
    config_class = MailboxConfig

    def __init__(self, ctx: Context, config: MailboxConfig) -> None:
        super().__init__(ctx, config)
        self.model = Mailbox(ctx, config)
        self.listener: "SMTPListener | None" = None

    @classmethod
    def settings_for_tests(cls) -> dict:
        return {"port": 0}

    def recover(self) -> None:
        self.model.recover()

    def start(self) -> list[Endpoint]:
        from .smtp import MailboxHandler, SMTPListener  # aiosmtpd only when the mailbox serves

        if self.listener is None:
            listener = SMTPListener(MailboxHandler(self.model), self.ctx.config.host,
                                    self.ctx.config.port(self.config.port), self.config.hostname,
                                    self.config.max_message_bytes)
            listener.start()  # a port in use raises OSError here, and nothing is left half started
            self.listener = listener
        host, port = self.listener.host, self.listener.port
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # an IPv6 address in brackets
        return [Endpoint(
            name="mailbox-smtp", simulator=SIM, protocol="smtp", host=host, port=port, tls="none",
            url=f"smtp://{netloc}", notes="test mailbox; messages at /api/mailbox/messages",
        )]

    def stop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()

    def reset(self) -> None:
        self.model.clear()

    def blueprint(self) -> "Blueprint":
        from .routes import create_blueprint  # Flask only when the admin API is served

        return create_blueprint(self.model)

    def credentials(self) -> list[dict]:
        return []  # no SMTP AUTH: any client may hand over mail, as with Mailpit and MailHog
