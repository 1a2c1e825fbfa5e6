"""Configuration of the Centraal Boekhuis simulator (the ``cbftp:`` section of a koppelsim config)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Transfer type per extension (seed 002): binary for these, ASCII for every other file.
BINARY_EXTENSIONS = (".epub", ".jpg", ".pdf", ".zip")


@dataclass
class CBAccount:
    relation_id: str  # CB's 7-digit relatienummer; the FTP home is /{relation_id}/
    password: str
    user: str | None = None  # [CHOSEN] the login name is the relation id unless given
    name: str | None = None  # the customer's name on invoices (generated when absent)
    email: str | None = None  # invoices also go here, as two e-mails (one per file)
    invoice_channel: str = "ftp"  # "ftp", "email" or "both"

    @property
    def login(self) -> str:
        return self.user or self.relation_id

    def as_public_dict(self) -> dict:
        return {"relation_id": self.relation_id, "user": self.login, "name": self.name, "email": self.email,
                "invoice_channel": self.invoice_channel}


@dataclass
class Maintenance:
    """CB's weekly maintenance window (seed 002: every Friday 08:00-09:00, UTC/GMT+1).

    [CHOSEN] times are local (Europe/Amsterdam); the server is unavailable for ``outage`` from the
    window's start — "a few minutes" in the seed.
    """

    enabled: bool = True
    weekday: str = "friday"
    start: str = "08:00"
    end: str = "09:00"
    outage: str = "5m"
    timezone: str = "Europe/Amsterdam"


@dataclass
class CBConfig:
    enabled: bool = True
    port: int = 2122
    tls_min_version: str = "1.2"  # TLS 1.0 and 1.1 are refused since 4 March 2022
    passive_ports: str = "41000-42000"
    # "enforce" refuses a breach of a client-side rule (a second login within 10 minutes); "report"
    # lets it pass and only records the finding.
    mode: str = "enforce"
    login_interval: str = "10m"
    retention: str = "30d"  # [CHOSEN] how long a file nobody downloads stays in out/
    max_file_size: int = 100 * 1024 * 1024  # [CHOSEN] the upload quota; bigger uploads get 552
    max_order_bytes: int = 10 * 1024 * 1024
    maintenance: Maintenance = field(default_factory=Maintenance)
    # 7000123 is yours; 7000456 is the built-in communication hub's (tenant A's e-invoices), so that the hub's
    # hourly run never downloads what you are about to fetch, nor logs in within your 10 minutes.
    accounts: list[CBAccount] = field(default_factory=lambda: [
        CBAccount("7000123", "cb-secret", name="Boekhandel De Zeef"),
        CBAccount("7000456", "cb-hub-secret", name="Omgeving A")])
    invoices_waiting: int = 1  # invoices placed in out/ of each configured account at first start
    invoice_day: int | None = 1  # the monthly invoice run on this day (06:00 local); None: no schedule
    smtp_host: str | None = None  # None: the embedded test mailbox
    smtp_port: int | None = None
    ubl_schema_dir: str | None = None  # the OASIS UBL 2.1 schemas, to validate every invoice issued
    login_failure_delay: float = 0.5
    idle_timeout: int = 300

    def __post_init__(self) -> None:
        if self.mode not in ("enforce", "report"):
            raise ValueError(f"cbftp.mode must be enforce or report, got {self.mode!r}")

    def passive_range(self) -> list[int] | None:
        """The passive data ports; None ("any") lets the kernel choose (only for tests)."""
        if self.passive_ports == "any":
            return None
        low, _, high = self.passive_ports.partition("-")
        first, last = int(low), int(high or low)
        if not 0 < first <= last < 65536:
            raise ValueError(f"cbftp.passive_ports must look like 41000-42000, got {self.passive_ports!r}")
        return list(range(first, last + 1))
