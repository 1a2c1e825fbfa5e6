"""Sending a message to an SMTP server (the test mailbox, or any other): what simulators use to mail."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage


def send_message(host: str, port: int, msg: EmailMessage,
                 timeout: float = 10) -> dict[str, tuple[int, bytes]]:
    """Deliver ``msg`` over plain SMTP; sender and recipients come from its From/To/Cc/Bcc headers.

    Returns the refused recipients (empty when every one was accepted); raises ``smtplib.SMTPException``
    (or ``OSError``) when the message was not delivered at all.
    """
    with smtplib.SMTP(host, port, timeout=timeout) as client:
        return client.send_message(msg)
