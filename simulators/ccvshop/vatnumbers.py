"""EU VAT numbers that pass each country's check digits (python-stdnum decides what "passes").

A number is drawn as random digits in the country's format with its check part left open, and the check
part is then found by trying the values it can take until ``stdnum.eu.vat`` accepts the whole number.
That keeps the knowledge of every checksum in python-stdnum; this module only knows the formats.
"""

from __future__ import annotations

import random
import string
from typing import Callable, Iterator

from stdnum.eu import vat as eu_vat

Candidates = Callable[[random.Random], Iterator[str]]


def _digits(rng: random.Random, count: int, first_nonzero: bool = False) -> str:
    text = "".join(rng.choice(string.digits) for _ in range(count))
    if first_nonzero and text[0] == "0":
        text = rng.choice("123456789") + text[1:]
    return text


def _last_digit(body: str, suffix: str = "") -> Iterator[str]:
    for check in string.digits:
        yield f"{body}{check}{suffix}"


def _nl(rng: random.Random) -> Iterator[str]:
    yield from _last_digit(_digits(rng, 8, True), f"B{rng.randint(1, 3):02d}")


def _be(rng: random.Random) -> Iterator[str]:
    body = rng.choice("01") + _digits(rng, 7, False)
    for check in range(100):
        yield f"{body}{check:02d}"


def _fr(rng: random.Random) -> Iterator[str]:
    body = _digits(rng, 8, True)
    for siren in _last_digit(body):
        for key in range(100):
            yield f"{key:02d}{siren}"


def _it(rng: random.Random) -> Iterator[str]:
    yield from _last_digit(_digits(rng, 7, True) + f"{rng.randint(1, 100):03d}")


def _es(rng: random.Random) -> Iterator[str]:  # a CIF: a company letter, seven digits, a check digit or letter
    body = rng.choice("AB") + _digits(rng, 7, True)
    for check in string.digits + "ABCDEFGHIJ":
        yield body + check


def _ie(rng: random.Random) -> Iterator[str]:
    body = _digits(rng, 7, True)
    for check in "ABCDEFGHIJKLMNOPQRSTUVW":
        yield body + check


def _lu(rng: random.Random) -> Iterator[str]:
    body = _digits(rng, 6, True)
    for check in range(100):
        yield f"{body}{check:02d}"


def _se(rng: random.Random) -> Iterator[str]:
    yield from _last_digit(rng.choice("25") + _digits(rng, 8), "01")


FORMATS: dict[str, Candidates] = {
    "NL": _nl,
    "BE": _be,
    "DE": lambda rng: _last_digit(_digits(rng, 8, True)),
    "FR": _fr,
    "AT": lambda rng: _last_digit("U" + _digits(rng, 7, True)),
    "IT": _it,
    "ES": _es,
    "IE": _ie,
    "LU": _lu,
    "DK": lambda rng: _last_digit(_digits(rng, 7, True)),
    "SE": _se,
    "PL": lambda rng: _last_digit(_digits(rng, 9, True)),
    "FI": lambda rng: _last_digit(_digits(rng, 7, True)),
}

MAX_DRAWS = 50  # some random bodies have no valid check value (DK, PL); draw again, boundedly


def vat_number(country: str, rng: random.Random) -> str:
    """A VAT number of ``country`` with the country prefix (NL123456782B01) that passes its check digits."""
    country = country.upper()
    if country not in FORMATS:
        raise ValueError(f"cannot make a VAT number for {country!r}; known: {', '.join(sorted(FORMATS))}")
    for _ in range(MAX_DRAWS):
        for candidate in FORMATS[country](rng):
            if eu_vat.is_valid(country + candidate):
                return country + candidate
    raise RuntimeError(f"no valid {country} VAT number found in {MAX_DRAWS} draws")  # pragma: no cover


def is_valid(number: str) -> bool:
    """Check digits only (python-stdnum); whether VIES knows the number is another matter."""
    return bool(number) and eu_vat.is_valid(number)


def split(number: str) -> tuple[str, str]:
    """("NL", "123456782B01") from "NL123456782B01" (spaces and dots removed)."""
    compact = eu_vat.compact(number)
    return compact[:2], compact[2:]
