"""The koppeling's configuration: one dataclass, loadable from YAML, refusing unknown or mistyped fields.

What seed 003's configuration screens hold: the Twinfield connection (OAuth with the shop's *own* Twinfield
user, never an accountant's login), the office code (administratiecode), the debtors dimension (1300), per EU
country the VAT rates sold at mapped to Twinfield VAT codes and turnover accounts (a country configured here
replaces its default rates), ICP and International, one default cost centre, the mode (concept booking or
invoice) and the payment methods: to fixed ``WWF_`` debtors without payment posting, or to suspense accounts
with payment posting.

```yaml
office: NLA000001
twinfield: {login_url: "http://127.0.0.1:8803", client_id: koppelsim, client_secret: koppelsim-secret,
            organisation: KOPPELSIM, user: koppeling, password: koppeling-secret}
shop: {api_root: "http://127.0.0.1:8802", public_key: ..., secret_key: ...}
vies_url: "http://127.0.0.1:8801"
vat:
  NL: {"21": {vatcode: VH, account: "8000"}, "9": {vatcode: VL, account: "8010"}}
  DE: {"19": {vatcode: VHDE, account: "8050"}}
icp: {vatcode: IC, account: "8100"}
payment_posting: true
paymethods: {"11": {suspense: "2000"}, "13": {suspense: "2001"}}
```
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from .vatrates import EU_COUNTRIES, rates_of


class ConfigError(ValueError):
    """A configuration that cannot work; the message names the field."""


def rate_key(rate: Decimal | str | int | float) -> str:
    """A VAT percentage as the configuration's key: 21, 5.5, 25.5, 0 (no trailing zeros)."""
    try:
        value = Decimal(str(rate))
    except InvalidOperation:
        raise ConfigError(f"not a VAT percentage: {rate!r}") from None
    text = format(value.normalize(), "f")
    return "0" if value == 0 else text


@dataclass
class TwinfieldConnection:
    login_url: str = "http://127.0.0.1:8803"  # login.twinfield.com; the cluster comes from the token
    client_id: str = "koppelsim"
    client_secret: str = "koppelsim-secret"
    redirect_uri: str = "http://localhost/callback"
    organisation: str = "KOPPELSIM"
    user: str = "koppeling"
    # Only for the connect: the login page is filled in once, afterwards the stored refresh token is used.
    password: str = ""


@dataclass
class ShopConnection:
    api_root: str = "http://127.0.0.1:8802"
    public_key: str = "ccv-public-koppelsim"
    secret_key: str = "ccv-secret-koppelsim-0123456789abcdef"


@dataclass
class VatTarget:
    """Where a line at one VAT rate goes: a Twinfield VAT code and ledger accounts by line type."""

    vatcode: str
    account: str  # turnover (omzet): rows and surcharges
    shipping_account: str | None = None  # verzendkosten; default: the turnover account
    payment_account: str | None = None  # betaalkosten; default: the turnover account

    def account_for(self, kind: str) -> str:
        if kind == "shipping":
            return self.shipping_account or self.account
        if kind == "payment":
            return self.payment_account or self.account
        return self.account


@dataclass
class PayMethodTarget:
    suspense: str | None = None  # with payment posting: the intermediate (suspense) account
    debtor: str | None = None  # without payment posting: a fixed debtor (a WWF_ debtor) for the sale


def _default_vat() -> dict[str, dict[str, VatTarget | None]]:
    # Every EU country with its rates; only the Netherlands mapped, to the codes of a default Twinfield office.
    table: dict[str, dict[str, VatTarget | None]] = {c: {rate_key(r): None for r in rates_of(c)}
                                                     for c in sorted(EU_COUNTRIES)}
    table["NL"] = {"21": VatTarget("VH", "8000", "8300", "8400"), "9": VatTarget("VL", "8010", "8300", "8400"),
                   "0": VatTarget("VN", "8020", "8300", "8400")}
    return table


@dataclass
class KoppelingConfig:
    office: str = "NLA000001"
    twinfield: TwinfieldConnection = field(default_factory=TwinfieldConnection)
    shop: ShopConnection = field(default_factory=ShopConnection)
    vies_url: str = "http://127.0.0.1:8801"
    debtors_account: str = "1300"  # seed 003: "Standaard in Twinfield is een debiteuren dimensie 1300"
    cost_centre: str | None = None  # one default cost centre (dim2 of the turnover lines) per koppeling
    mode: str = "concept"  # concept (a concept sales booking, the default) | invoice (a Twinfield invoice)
    source: str = "orders"  # orders | invoices: what the shop hands over
    invoicenumber: str = "order"  # order: the order number; invoice: the shop's invoice number (on request)
    payment_posting: bool = False
    # Per country the rates sold at -> target. A country configured here is its whole table (seed 003: you set
    # the rates you sell at, "zul je altijd de ingestelde BTW tarieven zien"); a null target drops a rate.
    vat: dict[str, dict[str, VatTarget | None]] = field(default_factory=dict)
    icp: VatTarget | None = field(default_factory=lambda: VatTarget("IC", "8100", "8100", "8100"))
    international: VatTarget | None = field(default_factory=lambda: VatTarget("EX", "8200", "8200", "8200"))
    paymethods: dict[str, PayMethodTarget] = field(default_factory=dict)  # paymethod_id -> target
    since: str | None = None  # only orders created at or after this instant (ISO 8601)
    sync_interval: str = "15m"  # how often `koppelsim koppeling run` looks for new orders
    payment_runs_per_day: int = 6  # seed 003: "zes keer per dag"
    vies_timeout: float = 20.0
    twinfield_timeout: float = 30.0
    shop_timeout: float = 30.0  # seconds per CCV Shop request
    lock_timeout: float = 600.0  # how long a run or `retry` waits for another run on the same state file

    def __post_init__(self) -> None:
        tables = _default_vat()
        for country, table in (self.vat or {}).items():
            # Replaced, not merged: a default rate the shop does not sell at (DE's 19 % for a shop that sells to
            # Germany at 21 %) would otherwise stay - and be the "highest rate" its payment costs are booked at.
            tables[country.upper()] = {rate_key(k): v for k, v in (table or {}).items() if v is not None}
        self.vat = tables
        for name, allowed in (("mode", ("concept", "invoice")), ("source", ("orders", "invoices")),
                              ("invoicenumber", ("order", "invoice"))):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.payment_posting and self.mode == "invoice":
            # Seed 003: payment posting exists only for concept bookings, never for Twinfield invoices.
            raise ConfigError("payment_posting is only possible in concept mode, not with Twinfield invoices")
        for key, target in self.paymethods.items():
            if target.suspense and target.debtor:
                raise ConfigError(f"paymethods.{key}: a suspense account or a fixed debtor, not both")
            if self.payment_posting and target.debtor:
                raise ConfigError(f"paymethods.{key}: with payment posting a payment method maps to a suspense "
                                  f"account; fixed debtors are for a koppeling without payment posting")
        if self.payment_runs_per_day < 1:
            raise ConfigError("payment_runs_per_day must be at least 1")

    def target(self, country: str | None, rate: Decimal) -> VatTarget | None:
        return (self.vat.get((country or "").upper()) or {}).get(rate_key(rate))

    def rates(self, country: str | None) -> list[Decimal]:
        """The rates a country's table holds, highest first: the configured ones, else the EU defaults."""
        return sorted((Decimal(k) for k in self.vat.get((country or "").upper(), {})), reverse=True)

    def paymethod(self, paymethod_id: int | None) -> PayMethodTarget:
        return self.paymethods.get(str(paymethod_id), PayMethodTarget())


# -- loading ------------------------------------------------------------------------------------------------


def load_config(path: str | Path) -> KoppelingConfig:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return config_from_dict(data, str(path))


def config_from_dict(data: dict, where: str = "koppeling config") -> KoppelingConfig:
    try:
        return _build(KoppelingConfig, data, where)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return cls(**{name: _convert(hints[name], value, f"{path}.{name}") for name, value in data.items()})


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _convert(options[0], value, path)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping")
        _, value_hint = typing.get_args(hint)
        return {str(k): _convert(value_hint, v, f"{path}.{k}") for k, v in value.items()}
    if hint is str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f"{path}: expected text, got {value!r}")
        return str(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {value!r}")
    if hint in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f"{path}: expected a number, got {value!r}")
    return value
