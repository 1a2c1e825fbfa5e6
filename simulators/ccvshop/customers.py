"""The people and companies who buy: names, addresses, e-mail, KvK and VAT numbers, in their own locale.

Faker's locale of the customer's country writes the names and addresses (``nl_NL``, ``de_DE``, ``fr_FR``,
...), reseeded per order from the order's seed so the same seed gives the same customer. The shape is the
official ``Personalinfo`` entity as the real sample has it, with an empty delivery address meaning
"deliver to the billing address" (as in the sample).
"""

from __future__ import annotations

import random
import unicodedata
from typing import TYPE_CHECKING

from .vat import COUNTRY_NAMES_NL, RATES
from .vatnumbers import vat_number

if TYPE_CHECKING:
    from faker import Faker

    from .datagen import OrderOptions

LOCALES = {"NL": "nl_NL", "BE": "nl_BE", "DE": "de_DE", "FR": "fr_FR", "AT": "de_AT", "IT": "it_IT",
           "ES": "es_ES", "IE": "en_IE", "LU": "fr_FR", "DK": "da_DK", "SE": "sv_SE", "PL": "pl_PL",
           "FI": "fi_FI", "CH": "de_CH", "NO": "no_NO", "GB": "en_GB", "US": "en_US"}
LANGUAGES = {"NL": "nl", "BE": "nl", "DE": "de", "AT": "de", "CH": "de", "FR": "fr", "LU": "fr"}
_FAKERS: dict[str, "Faker"] = {}


def faker(locale: str) -> "Faker":
    if locale not in _FAKERS:
        from faker import Faker  # imported when first needed: it costs ~0.1 s of every start-up

        _FAKERS[locale] = Faker(locale)
    return _FAKERS[locale]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return "".join(ch for ch in folded if ch.isalnum() or ch in ".-") or "klant"


def customer_of(fake: Faker, rng: random.Random, country: str, b2b: bool, options: "OrderOptions") -> dict:
    """A customer of ``country``: a consumer, or a company with its KvK (NL) and VAT number (EU)."""
    first, last = fake.first_name(), fake.last_name()
    company = fake.company() if b2b else ""
    domain = (_ascii(company.split()[0]) + "." + ("nl" if country == "NL" else country.lower())) if b2b else \
        rng.choice(["gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "web.de", "orange.fr"])
    email = options.email or f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@{domain}"
    if options.vat_number is not None:
        btw = options.vat_number
    elif b2b and country in RATES:
        btw = vat_number(country, rng)
    else:
        btw = ""
    kvk = f"{rng.randint(10_000_000, 99_999_999)}" if b2b and country == "NL" else ""
    address = _address(fake, rng, country)
    billing = {"gender": rng.choice([None, "male", "female"]), "initials": first[0] + ".",
               "first_name": first, "last_name": last, "full_name": f"{first} {last}", "company": company,
               **address, "telephone": fake.phone_number(), "fax": "", "mobile": "", "comment": ""}
    if rng.random() < 0.7:  # the sample's empty delivery address: "deliver to the billing address"
        delivery = {"gender": None, "full_name": "", "initials": "", "company": "", "address_line_1": "",
                    "address_line_2": "", "street": "", "housenumber": None, "housenumber_suffix": "",
                    "zipcode": "", "city": "", "province": "", "telephone": "", "mobile": "", "comment": "",
                    "country": "", "country_code": None}
    else:
        other = _address(fake, rng, country)
        delivery = {"gender": None, "full_name": f"{first} {last}", "initials": first[0] + ".", "company": company,
                    **other, "telephone": "", "mobile": "", "comment": ""}
    empty = dict.fromkeys(("email_invoice", "email_invoice_company", "email_invoice_union", "bankaccount", "iban",
                           "bic", "bank", "tenname", "bankname", "reference", "reservationnumber", "income",
                           "branche", "branch", "website", "clubcity", "clubcomment", "clubname", "beurs", "fair",
                           "stand", "booth", "carbrand", "cartype", "carweight", "birthplace", "cardnumber",
                           "findus", "ssnnumber", "zzppass", "costcentre"), "")
    return {"billingaddress": billing, "deliveryaddress": delivery, **empty, "email": email,
            "customertype": "b2b" if b2b else "b2c", "btw": btw, "kvk": kvk, "birthdate": None, "birthtime": None,
            "website": f"https://www.{domain}" if b2b else ""}


def merged(generated: dict, given: dict) -> dict:
    """The generated customer with the given fields put in (nested objects merged, not replaced)."""
    result = dict(generated)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def _address(fake: Faker, rng: random.Random, country: str) -> dict:
    street = fake.street_name()
    number = rng.randint(1, 250)
    suffix = rng.choice(["", "", "", "", "a", "b", "-2", "bis"]) if country in ("NL", "BE", "FR") else ""
    zipcode = fake.postcode()
    city = fake.city()
    if country == "LU":
        zipcode, city = f"L-{rng.randint(1000, 9999)}", rng.choice(["Luxembourg", "Esch-sur-Alzette", "Differdange"])
    line1 = f"{street} {number}{suffix}"
    return {"address_line_1": line1, "address_line_2": "", "street": street, "housenumber": number,
            "housenumber_suffix": suffix, "zipcode": zipcode, "city": city, "province": "",
            "country": COUNTRY_NAMES_NL.get(country, country), "country_code": country}


