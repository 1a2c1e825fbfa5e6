"""Configuration of the test mailbox (the ``mailbox:`` section of a koppelsim config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MailboxConfig:
    enabled: bool = True
    # 2525 rather than 25: no root needed, and it is the port test mailboxes and mail providers
    # commonly offer as the alternative submission port.
    port: int = 2525
    # Larger messages are refused: at MAIL FROM when the client declares a SIZE, after DATA otherwise
    # (552 either way). 25 MB is what common providers accept.
    max_message_bytes: int = 25 * 1024 * 1024
    # The name the server gives in its greeting and its EHLO reply.
    hostname: str = "koppelsim.test"

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be 0-65535, got {self.port}")
        if self.max_message_bytes <= 0:
            raise ValueError(f"max_message_bytes must be a positive number of bytes, "
                             f"got {self.max_message_bytes}")
        if not self.hostname or any(ch.isspace() for ch in self.hostname):
            raise ValueError(f"hostname must be a host name without spaces, got {self.hostname!r}")
