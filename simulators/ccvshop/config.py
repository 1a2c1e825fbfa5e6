"""Configuration of the CCV Shop simulator (the ``ccvshop:`` section of a koppelsim config).

Numbers the public record gives are marked with their source; the rest is [CHOSEN] and configurable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.clock import parse_duration


@dataclass
class CCVShopConfig:
    enabled: bool = True
    # [CHOSEN] 8802: the VIES simulator takes 8801; shifted by --port-offset like every port.
    port: int = 8802
    # The API key pair of "My web shop / Settings / API settings" (demo.ccvshop.nl/API/Docs). [CHOSEN] values.
    public_key: str = "ccv-public-koppelsim"
    secret_key: str = "ccv-secret-koppelsim-0123456789abcdef"
    # The App Store's secret for the app handshake (ccvshop/App-Example-Code: hash over uri|body). [CHOSEN] value.
    app_secret: str = "ccv-app-secret-koppelsim"
    app_name: str = "Twinfield koppeling"
    # What hrefs in responses start with; empty: the listener's own http://host:port.
    public_url: str = ""
    shop_name: str = "Webwinkel De Koppeling"
    # 5 minutes: "this timestamp may not differ more than 5 minutes from server time" (demo.ccvshop.nl/API/Docs).
    max_clock_skew: str = "5m"
    # SPEC §4: GET 150/min and writes 100/min per endpoint; 429.10 in the official SDK's exception table.
    get_per_minute: int = 150
    write_per_minute: int = 100
    # 429.11 ("the API has a total limit", official SDK); [CHOSEN] no total limit unless set.
    total_per_minute: int | None = None
    # [CHOSEN] paging: 25 items unless ?size= says otherwise, at most 250 (larger sizes are clamped).
    default_page_size: int = 25
    max_page_size: int = 250
    # [CHOSEN] request bodies above this get 413; the orders API takes small JSON documents.
    max_body_bytes: int = 256 * 1024
    # [CHOSEN] ordernumber/invoicenumber prefixes ("With dash if the prefix is available"); null as in the sample.
    ordernumber_prefix: str | None = None
    invoicenumber_prefix: str | None = None
    first_ordernumber: int = 1
    first_invoicenumber: int = 1
    # Orders in the shop at first start (generated, deterministic from the seed). [CHOSEN]
    seed_orders: int = 10
    # Webhook delivery: [CHOSEN] at the clock's "now", then retried after these delays, then given up.
    webhook_retry_delays: list[str] = field(default_factory=lambda: ["1m", "5m", "15m", "1h"])
    webhook_timeout: float = 5.0  # real seconds per attempt (a real socket to the receiver)

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be 0-65535, got {self.port}")
        for name in ("public_key", "secret_key"):
            value = getattr(self, name)
            if not value or "|" in value or any(ch.isspace() for ch in value):
                raise ValueError(f"{name} must be a non-empty word without spaces or '|', got {value!r}")
        for name in ("get_per_minute", "write_per_minute", "default_page_size", "max_page_size", "max_body_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.total_per_minute is not None and self.total_per_minute <= 0:
            raise ValueError(f"total_per_minute must be positive or null, got {self.total_per_minute}")
        if self.default_page_size > self.max_page_size:
            raise ValueError("default_page_size may not exceed max_page_size")
        if self.seed_orders < 0 or self.seed_orders > 10_000:
            raise ValueError(f"seed_orders must be 0-10000, got {self.seed_orders}")
        if self.webhook_timeout <= 0:
            raise ValueError("webhook_timeout must be a positive number of seconds")
        parse_duration(self.max_clock_skew)
        for delay in self.webhook_retry_delays:
            parse_duration(delay)
        if len(self.webhook_retry_delays) > 20:
            raise ValueError("at most 20 webhook retries")

    @property
    def skew_seconds(self) -> float:
        return parse_duration(self.max_clock_skew).total_seconds()
