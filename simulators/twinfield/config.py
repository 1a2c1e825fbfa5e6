"""Configuration of the Twinfield simulator (the ``twinfield:`` section of a koppelsim config).

Everything here is seed data or a limit; what is seeded lands in the state database, and the admin API
can add more at run time. A reset goes back to exactly this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.clock import parse_duration

# [CHOSEN] the port: the HTTP simulators share 8801-8809 (VIES, CCV Shop take the first ones).
DEFAULT_PORT = 8803

# Twinfield's own scopes (developers.twinfield.com, OpenID Connect Authentication).
SCOPES = ("openid", "twf.user", "twf.organisation", "twf.organisationUser", "offline_access")

# [CHOSEN] dimension code masks per dimension type. A mask is Twinfield's notation (character classes,
# one per position, e.g. "[4-7][0-9][0-9][0-9]", the example in Twinfield's own error text); any
# regular expression works, matched against the whole code.
DEFAULT_MASKS = {
    "BAS": "[0-4][0-9][0-9][0-9]",
    "PNL": "[5-9][0-9][0-9][0-9]",
    "DEB": "[4-7][0-9][0-9][0-9]",
    "CRD": "[2-3][0-9][0-9][0-9]",
    "KPL": "[0-9A-Z][0-9A-Z]*",
}


@dataclass
class Organisation:
    code: str
    name: str = ""
    # The GUID of twf.organisationId; derived from the code when absent, so it is stable across resets.
    id: str | None = None


@dataclass
class Office:
    code: str
    name: str
    organisation: str = "KOPPELSIM"
    shortname: str = ""
    masks: dict[str, str] = field(default_factory=dict)  # per type, over DEFAULT_MASKS
    # [CHOSEN] no reporting currency by default: the balance error then has two parts (base currency),
    # as in the Coachview-quoted messages; with one it has three (php-twinfield's fixture).
    reporting_currency: str | None = None
    invoice_types: list[str] = field(default_factory=lambda: ["FACTUUR"])
    # [CHOSEN] the journals (dagboeken) of an office: code -> kind (sales | journal). Real offices name
    # their own (php-twinfield's fixtures use SLS, Twinfield's documentation VRK).
    journals: dict[str, str] = field(default_factory=lambda: {"VRK": "sales", "MEMO": "journal"})
    seed_ledger: bool = True  # the default chart of accounts, VAT codes and cost centre

    def mask(self, dimtype: str) -> str:
        return self.masks.get(dimtype, DEFAULT_MASKS.get(dimtype, ".+"))


@dataclass
class User:
    user: str
    password: str
    organisation: str = "KOPPELSIM"
    name: str = ""
    # The offices this user may reach; None = every office of the organisation (an accountant's login,
    # which seed 003 warns against: it reaches every administration).
    offices: list[str] | None = None


@dataclass
class Client:
    client_id: str
    client_secret: str
    # Exact matches only (IdentityServer, behind login.twinfield.com, compares redirect URIs exactly).
    redirect_uris: list[str] = field(default_factory=list)
    name: str = ""


@dataclass
class VatPercentage:
    date: str  # yyyymmdd, from when the percentage applies
    percentage: str  # e.g. "21"
    account: str  # the VAT ledger account the VAT line is booked on
    group: str = ""  # the VAT return box group, e.g. NL1A


@dataclass
class VatCode:
    code: str
    name: str
    type: str = "sales"  # sales | purchase
    percentages: list[VatPercentage] = field(default_factory=list)
    # Intra-community supplies: the lines need performancetype, performancecountry, performancevatnumber.
    icp: bool = False
    shortname: str = ""


@dataclass
class Dimension:
    """Seed data for a dimension: a ledger account (BAS/PNL), customer (DEB), supplier (CRD), cost centre (KPL)."""

    type: str
    code: str
    name: str
    office: str | None = None  # None = every office that seeds a ledger
    email: str = ""
    vatnumber: str = ""
    country: str = "NL"
    # For BAS accounts: "customersupplier" makes it a control account (1300 Debiteuren) whose lines
    # carry a customer and are matched; "notmatchable" otherwise.
    matchtype: str = ""
    duedays: int = 30

    def __post_init__(self) -> None:
        if not 0 <= self.duedays <= 999:  # what a <dimension> may set (ledger.py); a booking adds it to a date
            raise ValueError(f"duedays must be 0 to 999 days, got {self.duedays}")


@dataclass
class Article:
    code: str
    name: str
    unitspriceexcl: str = "0.00"
    dim1: str = "8020"
    vatcode: str = "VH"
    office: str | None = None


def _vat(code: str, name: str, pct: str, account: str, group: str, kind: str = "sales", icp: bool = False,
         since: str = "20000101", earlier: tuple[str, str] | None = None) -> VatCode:
    percentages = []
    if earlier:
        percentages.append(VatPercentage(since, earlier[1], account, group))
        since = earlier[0]
    percentages.append(VatPercentage(since, pct, account, group))
    return VatCode(code, name, kind, percentages, icp, shortname=name[:20])


# [CHOSEN] a realistic default set; the dates and rates of the Dutch rates are the real ones
# (21% since 2012-10-01, before that 19%; 9% since 2019-01-01, before that 6%).
DEFAULT_VAT_CODES: list[VatCode] = [
    _vat("VH", "BTW 21%", "21", "1530", "NL1A", earlier=("20121001", "19")),
    _vat("VL", "BTW 9%", "9", "1531", "NL1B", earlier=("20190101", "6")),
    _vat("VN", "BTW 0%", "0", "1532", "NL1E"),
    _vat("IC", "ICP levering 0%", "0", "1532", "NL3B", icp=True),
    _vat("EX", "Export buiten EU 0%", "0", "1532", "NL3A"),
    _vat("IH", "Voorbelasting 21%", "21", "1510", "NL5B", kind="purchase", earlier=("20121001", "19")),
    _vat("IL", "Voorbelasting 9%", "9", "1510", "NL5B", kind="purchase", earlier=("20190101", "6")),
]

# [CHOSEN] the default chart of accounts of a seeded office (SPEC §5: 1300 Debiteuren, 1530 VAT,
# 8000/8020 turnover), plus the suspense accounts the koppeling posts payments on and one cost centre.
DEFAULT_LEDGER: list[Dimension] = [
    Dimension("BAS", "1000", "Kas"),
    Dimension("BAS", "1100", "Bank"),
    Dimension("BAS", "1300", "Debiteuren", matchtype="customersupplier"),
    Dimension("BAS", "1510", "Te vorderen BTW"),
    Dimension("BAS", "1530", "Te betalen BTW hoog"),
    Dimension("BAS", "1531", "Te betalen BTW laag"),
    Dimension("BAS", "1532", "Te betalen BTW overig"),
    Dimension("BAS", "1600", "Crediteuren", matchtype="customersupplier"),
    Dimension("BAS", "2000", "Tussenrekening iDEAL"),
    Dimension("BAS", "2001", "Tussenrekening PayPal"),
    Dimension("BAS", "2002", "Tussenrekening overige betalingen"),
    Dimension("PNL", "8000", "Omzet hoog"),
    Dimension("PNL", "8010", "Omzet laag"),
    Dimension("PNL", "8020", "Omzet diversen"),
    Dimension("PNL", "8100", "Omzet ICP"),
    Dimension("PNL", "8200", "Omzet buiten de EU"),
    Dimension("PNL", "8300", "Verzendkosten"),
    Dimension("PNL", "8400", "Betaalkosten"),
    Dimension("KPL", "00000", "Algemeen"),
]

ORG_ID_NAMESPACE = "6f1c3a52-1b9e-4f3c-9d7e-7a1e2c4b5d60"  # uuid5 namespace for organisation ids


def _default_organisations() -> list[Organisation]:
    return [Organisation("KOPPELSIM", "Koppelsim Webwinkel"), Organisation("ANDERORG", "Ander Kantoor")]


def _default_offices() -> list[Office]:
    return [Office("NLA000001", "Webwinkel BV", shortname="Webwinkel"),
            Office("NLA000002", "Webwinkel Holding BV", shortname="Holding"),
            Office("NLA999999", "Andermans Administratie", organisation="ANDERORG", shortname="Anders")]


def _default_users() -> list[User]:
    # The shop's own user reaches one administration; the accountant every office of the organisation.
    return [User("koppeling", "koppeling-secret", "KOPPELSIM", "Koppeling Webwinkel", offices=["NLA000001"]),
            User("accountant", "accountant-secret", "KOPPELSIM", "Accountant"),
            User("ander", "ander-secret", "ANDERORG", "Andere Gebruiker")]


def _default_clients() -> list[Client]:
    return [Client("koppelsim", "koppelsim-secret",
                   ["http://localhost/callback", "http://127.0.0.1/callback"], "Koppelsim koppeling")]


@dataclass
class TwinfieldConfig:
    enabled: bool = True
    port: int = DEFAULT_PORT
    # The URLs handed to clients: None = this simulator's own base URL (it is login host and cluster).
    cluster_url: str | None = None
    login_url: str | None = None
    max_body_bytes: int = 8 * 1024 * 1024  # [CHOSEN] larger bodies are refused with 413
    max_transaction_lines: int = 1000  # SPEC §5: more lines in one transaction -> HTTP 400
    token_lifetime: str = "1h"  # access tokens live 60 minutes (Twinfield docs, Invantive)
    code_lifetime: str = "5m"  # [CHOSEN] IdentityServer's default authorization code lifetime
    # [CHOSEN] how long the login and consent pages may take before the attempt expires (simulated time)
    login_request_lifetime: str = "10m"
    session_idle: str = "20m"  # [CHOSEN] legacy SessionIDs expire after this much idle time
    legacy_logon: bool = True  # session.asmx Logon with user/password; false = OAuth2AuthenticationRequired
    # Fair use policy (developers.twinfield.com): 1000 credits a minute per IP address and per client id;
    # reads cost 1, everything else 3. [CHOSEN] the concurrency limit (the number is not published).
    rate_limit_per_ip: int = 1000
    rate_limit_per_client: int = 1000
    rate_window: str = "60s"
    max_concurrent_per_organisation: int = 10
    vat_tolerance: str = "0.05"  # [CHOSEN] a given vatvalue may differ this much per line without a warning
    # A delay or hold rule keeps its answer until the *simulated* clock reaches the due time; this many real
    # seconds at most, so a test that forgets to move a virtual clock fails soon instead of hanging.
    max_hold_seconds: float = 30.0
    organisations: list[Organisation] = field(default_factory=_default_organisations)
    offices: list[Office] = field(default_factory=_default_offices)
    users: list[User] = field(default_factory=_default_users)
    clients: list[Client] = field(default_factory=_default_clients)
    vat_codes: list[VatCode] = field(default_factory=lambda: list(DEFAULT_VAT_CODES))
    ledger: list[Dimension] = field(default_factory=lambda: list(DEFAULT_LEDGER))
    dimensions: list[Dimension] = field(default_factory=list)  # customers and more, on top of the ledger
    articles: list[Article] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be 0-65535, got {self.port}")
        if self.max_transaction_lines < 2:
            raise ValueError("max_transaction_lines must be at least 2")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
        for name in ("token_lifetime", "code_lifetime", "login_request_lifetime", "session_idle", "rate_window"):
            parse_duration(getattr(self, name))  # a ClockError (a ValueError) names the bad value
        if not 0 <= self.max_hold_seconds <= 600:
            raise ValueError("max_hold_seconds must be 0-600 (real seconds)")
        for office in self.offices:
            for dimtype, mask in office.masks.items():
                try:
                    re.compile(mask)
                except re.error as exc:
                    raise ValueError(f"office {office.code}: mask of {dimtype} is not a valid pattern: {exc}")
