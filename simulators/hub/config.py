"""Configuration of the hub (the ``hub:`` section of a koppelsim config): tenants are created here."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TenantConfig:
    id: str
    name: str | None = None
    vat_number: str | None = None  # omzetbelastingnummer: identity of VAT and ICP returns
    kvk_number: str | None = None  # identity of KvK filings
    relation_ids: list[str] = field(default_factory=list)  # CB relation ids whose e-invoices are this tenant's
    emails: list[str] = field(default_factory=list)  # addresses whose e-invoices are this tenant's


def example_tenants() -> list[TenantConfig]:
    """What `make sim` starts with: two sub-environments (A's e-invoices come from the hub's CB relation)."""
    return [
        TenantConfig("a", "Omgeving A", vat_number="001000044B37", kvk_number="12345678",
                     relation_ids=["7000456"], emails=["facturen@omgeving-a.test"]),
        TenantConfig("b", "Omgeving B", vat_number="002000088B02", kvk_number="87654321",
                     emails=["facturen@omgeving-b.test"]),
    ]


@dataclass
class HubConfig:
    enabled: bool = True
    tenants: list[TenantConfig] = field(default_factory=example_tenants)
    # [CHOSEN] send/receive as a scheduled task every hour; None: only by hand (CLI, admin API).
    schedule: str | None = "1h"
    # The one Digipoort account of the communication environment: its own, not the one a developer's client
    # uses (the hub takes in everything in its OUT).
    digipoort_user: str = "hub"
    digipoort_password: str = "hub-secret"
    cb_relation_ids: list[str] = field(default_factory=lambda: ["7000456"])  # CB accounts whose out/ it collects
    mail: bool = True  # collect e-invoices from the e-mail channel (the embedded mailbox)
