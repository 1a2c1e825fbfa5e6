"""The VAT rates of the EU member states: what the koppeling offers per country before anyone edits them.

Seed 003: "De koppeling toont de standaard BTW tarieven voor Europa" - every EU country is listed with its
rates, and a shop only maps the countries it sells to. Source: github.com/ibericode/vat-rates,
vat-rates.json at commit 5abb1e1 (2025-08-12), the current period of each country (the extract is in
../shared/reference/ccvshop/eu_vat_rates_current_extract.tsv). Every rate of a country is listed (standard,
reduced, super-reduced, parking), plus 0 % for zero-rated goods.
"""

from __future__ import annotations

from decimal import Decimal

_RATES = {
    "AT": "20 13 10", "BE": "21 12 6", "BG": "20 9", "CY": "19 9 5", "CZ": "21 12", "DE": "19 7", "DK": "25",
    "EE": "24 13 9", "ES": "21 10 4", "FI": "25.5 14 10", "FR": "20 10 5.5 2.1", "GR": "24 13 6",
    "HR": "25 13 5", "HU": "27 18 5", "IE": "23 13.5 9 4.8", "IT": "22 10 5 4", "LT": "21 9 5", "LU": "17 14 8 3",
    "LV": "21 12 5", "MT": "18 7 5", "NL": "21 9", "PL": "23 8 5", "PT": "23 13 6", "RO": "21 11",
    "SE": "25 12 6", "SI": "22 9.5 5", "SK": "23 19 5",
}

EU_COUNTRIES = frozenset(_RATES)


def rates_of(country: str) -> list[Decimal]:
    """Every rate a country sells at, highest first, then 0 %."""
    return [Decimal(r) for r in _RATES[country.upper()].split()] + [Decimal("0")]


def standard_rate(country: str) -> Decimal:
    return rates_of(country)[0]


def is_eu(country: str | None) -> bool:
    # VIES and Twinfield spell Greece EL in VAT numbers; the shop's country code is GR.
    return bool(country) and (country.upper() in EU_COUNTRIES or country.upper() == "EL")
