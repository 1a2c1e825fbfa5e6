"""Configuration of the Digipoort simulator (the ``digipoort:`` section of a koppelsim config)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .recipients import BELASTINGDIENST, Recipient, default_recipients

# Berichtsoorten a default account may submit; the Logius conformance environment uses Omzetbelasting.
KNOWN_BERICHTSOORTEN = ["Omzetbelasting", "ICP", "Suppletie", "KvK-jaarverantwoording", "IHZ", "VPB"]


@dataclass
class Account:
    user: str
    password: str
    # None: every berichtsoort / every identity is allowed (the conformance environment's behaviour).
    berichtsoorten: list[str] | None = None
    # The belanghebbenden this account may submit for: one list for every berichtsoort, or a list per
    # berichtsoort ({"Omzetbelasting": [...], "*": [...]}; "*" for the ones not named; a berichtsoort
    # neither named nor covered by "*" allows nobody).
    identities: list[str] | dict[str, list[str]] | None = None

    def allows_identity(self, berichtsoort: str, identity: str) -> bool:
        allowed = self.identities
        if isinstance(allowed, dict):
            allowed = allowed.get(berichtsoort, allowed.get("*", []))
        return allowed is None or identity in allowed

    def as_public_dict(self) -> dict:
        return {"user": self.user, "berichtsoorten": self.berichtsoorten, "identities": self.identities}


@dataclass
class DigipoortConfig:
    enabled: bool = True
    port: int = 2121
    # Plain FTP (no AUTH TLS) is refused unless switched on: Digipoort requires encryption.
    plain_ftp: bool = False
    tls_min_version: str = "1.2"
    # acme is yours; hub is the built-in communication hub's own, so that its hourly send/receive never
    # collects the answers your client waits for in acme's OUT.
    accounts: list[Account] = field(default_factory=lambda: [Account("acme", "acme-secret"),
                                                             Account("hub", "hub-secret")])
    # [CHOSEN] delays; the real ones depend on load and on the recipient.
    transport_delay: str = "0s"  # meta file received -> .ok / .error
    answer_delay: str = "10m"  # .ok -> the recipient's answer
    retry_interval: str = "6h"  # between delivery attempts after a technical problem (status 420)
    max_delivery_window: str = "72h"  # Logius: failed deliveries are retried for 72 hours
    max_file_size: int = 100 * 1024 * 1024  # [CHOSEN] larger uploads are aborted with 552
    max_meta_size: int = 64 * 1024
    passive_ports: str | None = None  # e.g. "50000-50100"; default: any free port
    login_failure_delay: float = 0.5  # real seconds before a 530, as FTP servers do against guessing
    idle_timeout: int = 300  # real seconds of silence before the control connection is closed
    meta_schema: str | None = None  # path to the official meta XSD, replacing ours
    # The institutions behind Digipoort, routed by berichtsoort (see recipients.py).
    recipients: list[Recipient] = field(default_factory=default_recipients)
    default_recipient: str = BELASTINGDIENST  # receives a berichtsoort no recipient claims
    recipient_oin: str | None = None  # older configs: when set, every recipient's OIN in the .ok

    def passive_range(self) -> list[int] | None:
        if not self.passive_ports:
            return None
        low, _, high = self.passive_ports.partition("-")
        first, last = int(low), int(high or low)
        if not 0 < first <= last < 65536:
            raise ValueError(f"digipoort.passive_ports must look like 50000-50100, got {self.passive_ports!r}")
        return list(range(first, last + 1))
