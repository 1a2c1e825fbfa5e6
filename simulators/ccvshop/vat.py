"""VAT rates of the EU countries the generated shops sell to, and which countries are in the EU.

Source of the rates: github.com/ibericode/vat-rates, vat-rates.json at commit 5abb1e1 (2025-08-12), the
current period of each country (a copy is in ../shared/reference/ccvshop/). Only the countries the data
generator uses are here. ``reduced`` is the one reduced rate the generator sells food and books at
[CHOSEN from each country's list of reduced rates]; Denmark has none.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple


class Rates(NamedTuple):
    standard: Decimal
    reduced: Decimal | None


RATES: dict[str, Rates] = {
    "NL": Rates(Decimal("21"), Decimal("9")),
    "BE": Rates(Decimal("21"), Decimal("6")),
    "DE": Rates(Decimal("19"), Decimal("7")),
    "FR": Rates(Decimal("20"), Decimal("5.5")),
    "AT": Rates(Decimal("20"), Decimal("10")),
    "IT": Rates(Decimal("22"), Decimal("10")),
    "ES": Rates(Decimal("21"), Decimal("10")),
    "IE": Rates(Decimal("23"), Decimal("13.5")),
    "LU": Rates(Decimal("17"), Decimal("3")),
    "DK": Rates(Decimal("25"), None),
    "SE": Rates(Decimal("25"), Decimal("12")),
    "PL": Rates(Decimal("23"), Decimal("5")),
    "FI": Rates(Decimal("25.5"), Decimal("14")),  # 25.5 since 2024-09-01: a rate that is not a whole number
}

# The 27 member states (ISO 3166-1 alpha-2; Greece is GR here, EL only in VAT numbers).
EU = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())

# Delivery countries outside the EU the generator ships to ("international" orders).
NON_EU = ("CH", "NO", "GB", "US")

COUNTRY_NAMES_NL = {
    "NL": "Nederland", "BE": "België", "DE": "Duitsland", "FR": "Frankrijk", "AT": "Oostenrijk", "IT": "Italië",
    "ES": "Spanje", "IE": "Ierland", "LU": "Luxemburg", "DK": "Denemarken", "SE": "Zweden", "PL": "Polen",
    "FI": "Finland", "CH": "Zwitserland", "NO": "Noorwegen", "GB": "Verenigd Koninkrijk",
    "US": "Verenigde Staten",
}


def is_eu(country: str) -> bool:
    return country.upper() in EU


def rates(country: str) -> Rates:
    try:
        return RATES[country.upper()]
    except KeyError as exc:
        raise ValueError(f"no VAT rates known for {country!r}; known: {', '.join(sorted(RATES))}") from exc
