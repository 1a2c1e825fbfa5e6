"""The mailbox's protocol layer: an aiosmtpd SMTP server whose DATA hands each message to the model.

aiosmtpd does the protocol (EHLO, SIZE, SMTPUTF8, 8BITMIME, dot-unstuffing, the 552 for too much data);
this module only decides what a received message becomes and which reply the client gets.

The listener binds its socket itself and hands it to aiosmtpd's ``Controller``: port 0 then works
(the Controller checks readiness by connecting to the port it was given, which for port 0 is no port)
and a port that is taken fails at once with ``OSError``, as the FTP listeners do, instead of after the
Controller's ready timeout.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from aiosmtpd.controller import Controller

from .models import Mailbox

log = logging.getLogger(__name__)

# Replies this layer writes (aiosmtpd writes the protocol's own); the code is in the name, and a test
# keeps the two in step.
S250_ACCEPTED = "250 Message accepted for delivery"
S451_LOCAL_ERROR = "451 Requested action aborted: local error in processing"

IDENT = "koppelsim test mailbox"  # after the host name in the 220 greeting
READY_TIMEOUT = 10.0  # real seconds for the server thread to come up


class MailboxHandler:
    """aiosmtpd handler: every message that gets through DATA is kept; no relaying, no rejection."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or b""
        try:
            # Synchronous on purpose: a local SQLite row and one file write, and keeping it on the
            # loop's thread means no executor threads to shut down when the listener stops.
            self.mailbox.receive(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        except Exception:  # the client gets a temporary failure and may retry; we log why
            log.exception("mailbox: could not store a message from %s", envelope.mail_from)
            return S451_LOCAL_ERROR
        return S250_ACCEPTED


class _BoundController(Controller):
    """aiosmtpd's threaded Controller serving on a socket that is already bound and listening."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        self._sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)

    def _create_server(self):  # the hook InetMixin uses to bind; we bound already
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SMTPListener:
    """One SMTP server on its own thread and event loop; ``stop`` may be called any number of times."""

    def __init__(self, handler: MailboxHandler, host: str, port: int, server_hostname: str,
                 max_message_bytes: int) -> None:
        self.handler = handler
        self._bind = (host, port)
        self.server_hostname = server_hostname
        self.max_message_bytes = max_message_bytes
        self.host, self.port = host, port
        self._controller: _BoundController | None = None

    def start(self) -> None:
        if self._controller is not None:
            return
        sock = _listening_socket(*self._bind)
        self.host, self.port = sock.getsockname()[:2]
        controller = _BoundController(
            self.handler, sock, ready_timeout=READY_TIMEOUT, server_hostname=self.server_hostname,
            ident=IDENT, data_size_limit=self.max_message_bytes)
        try:
            controller.start()
        except BaseException:
            _stop_controller(controller)
            sock.close()
            raise
        if controller._thread is not None:  # named, so a thread dump says what it is
            controller._thread.name = f"koppelsim-mailbox-smtp-{self.port}"
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            _stop_controller(controller)

    @property
    def running(self) -> bool:
        return self._controller is not None


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=128)


def _stop_controller(controller: Controller) -> None:
    thread = controller._thread
    if thread is None:
        return
    try:
        controller.stop()
    except RuntimeError:  # the loop is already closed: its thread ended on its own (a failed start)
        thread.join(READY_TIMEOUT)
        controller._thread = None
