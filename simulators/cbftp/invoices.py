"""Centraal Boekhuis' service invoice ("dienstenfactuur", seed 002) as plain data, and a seeded generator.

The data mirrors the seed's UBL table one field per element, so ``ubl.build_ubl`` and ``pdf.render_pdf``
are straight renderings of the same object and can never disagree about an amount.

Choices the seed does not settle, marked **[CHOSEN]** (see SPEC §3.2):
* a credit invoice (type ``C``) carries positive amounts; the type code says which way the money goes;
* VAT per rate is the sum of the rounded line VAT amounts, not the rate applied to the rate's total —
  that fits the seed's example, the rate applied to the total does not (21 % of 79851.91 is 16768.90,
  the seed shows 16768.91);
* the due date is the 15th of the month after the issue date (the seed's one example: 09-10 → 15-11);
* tax category ids: H (21 %), L (9 %), E (0 %, exempt with a legal text); the seed shows only ``H``;
* customers abroad (BE here) are billed at 0 % with the seed's article-44 text; NL customers at 21/9 %.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from stdnum import iban as stdnum_iban

if TYPE_CHECKING:
    from faker import Faker

__all__ = ["Address", "Party", "PaymentMeans", "TaxSubtotal", "InvoiceLine", "ServiceInvoice", "SUPPLIER",
           "CB_PAYMENT_ACCOUNT", "EXEMPTION_ARTICLE_44", "money", "totals_for", "generate_invoice"]

CENT = Decimal("0.01")
TARIFF = Decimal("0.001")  # CB prices a unit to the tenth of a cent (seed: PriceAmount 1.680)
TAX_SCHEME = "NL VAT"
EXEMPTION_ARTICLE_44 = "No Dutch VAT due on this service - article 44 of the EC VAT directive"


def money(value: Decimal | int | str) -> Decimal:
    """An amount in euros with exactly two decimals, rounded half up as invoices are."""
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Address:
    city: str
    postal_zone: str
    country_code: str = "NL"
    country_name: str | None = None  # the seed: customer's country name only when it is not NL
    street: str | None = None  # street and house number in one field ("Straatweg 1"), as CB sends it
    postbox: str | None = None
    inhouse_mail: str | None = None  # the attention line ("Financiële administratie")


@dataclass(frozen=True)
class Party:
    name: str
    address: Address
    vat_number: str | None = None
    kvk: str | None = None  # only the supplier's goes into the UBL (PartyIdentification)
    telephone: str | None = None
    email: str | None = None
    iban: str | None = None  # the customer's own account, debited for AI; shown on the PDF only


@dataclass(frozen=True)
class PaymentMeans:
    code: str  # AI = direct debit, ZV = the customer pays (debit) or settles (credit) itself
    due_date: date
    instruction_note: str
    iban: str
    bic: str
    bank_name: str


@dataclass(frozen=True)
class TaxSubtotal:
    taxable_amount: Decimal
    tax_amount: Decimal
    percent: Decimal
    category_id: str
    exemption_reason: str | None = None


@dataclass(frozen=True)
class InvoiceLine:
    id: str  # "VR7 - 4": attachment id and the line's number on that attachment
    quantity: Decimal
    price_amount: Decimal
    line_extension_amount: Decimal
    tax_percent: Decimal
    tax_category_id: str
    descriptions: tuple[str, ...]
    standard_item_id: str
    properties: tuple[tuple[str, str], ...] = ()  # CB's extra elements (AdditionalItemProperty)
    exemption_reason: str | None = None

    @property
    def tax_amount(self) -> Decimal:
        return money(self.line_extension_amount * self.tax_percent / 100)


@dataclass(frozen=True)
class ServiceInvoice:
    number: str
    issue_date: date
    type_code: str  # D = debit, C = credit
    period_start: date
    period_end: date
    relation_id: str  # the customer's 7-digit relation id at CB
    supplier: Party
    customer: Party
    lines: tuple[InvoiceLine, ...]
    payment_means: tuple[PaymentMeans, ...]
    tax_subtotals: tuple[TaxSubtotal, ...]
    tax_amount: Decimal
    tax_exclusive_amount: Decimal
    payable_amount: Decimal
    order_reference: str | None = None
    billing_references: tuple[str, ...] = ()
    currency: str = "EUR"
    copy_indicator: bool = False

    @property
    def note(self) -> str:
        return f"Periode: {self.period_start:%d-%m-%Y} t/m {self.period_end:%d-%m-%Y}"

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def file_stem(self) -> str:
        """``{RelatieID}_{number}``: the name of both files, before ``.xml`` / ``.pdf`` (seed 002)."""
        return f"{self.relation_id}_{self.number}"

    def with_lines(self, lines: tuple[InvoiceLine, ...]) -> ServiceInvoice:
        """A copy with other lines and totals recomputed (``dataclasses.replace`` keeps stale totals,
        which is what a fault scenario wants and nothing else does)."""
        return dataclasses.replace(self, lines=tuple(lines), **totals_for(lines))


def totals_for(lines: tuple[InvoiceLine, ...] | list[InvoiceLine]) -> dict:
    """Tax subtotals per rate and the legal monetary totals of ``lines``, as ServiceInvoice keywords."""
    by_rate: dict[tuple[Decimal, str, str | None], list[InvoiceLine]] = {}
    for line in lines:
        by_rate.setdefault((line.tax_percent, line.tax_category_id, line.exemption_reason), []).append(line)
    subtotals = tuple(
        TaxSubtotal(taxable_amount=money(sum((l.line_extension_amount for l in group), Decimal(0))),
                    tax_amount=money(sum((l.tax_amount for l in group), Decimal(0))),
                    percent=percent, category_id=category, exemption_reason=reason)
        for (percent, category, reason), group in sorted(by_rate.items(), key=lambda kv: -kv[0][0]))
    excl = money(sum((l.line_extension_amount for l in lines), Decimal(0)))
    tax = money(sum((s.tax_amount for s in subtotals), Decimal(0)))
    return {"tax_subtotals": subtotals, "tax_amount": tax, "tax_exclusive_amount": excl,
            "payable_amount": money(excl + tax)}


SUPPLIER = Party(name="Centraal Boekhuis B.V.", kvk="11011108", vat_number="NL001482403B01",
                 telephone="0345-475911",
                 address=Address(postbox="125", city="Culemborg", postal_zone="4100 AC", country_code="NL",
                                 country_name="Nederland"))
# The seed fills the accounting e-mail only when eBoekhuis b.v. invoices, i.e. for e-book services.
EBOEKHUIS_EMAIL = "ebooks@cb.nl"
CB_PAYMENT_ACCOUNT = {"iban": "NL14RABO0153558563", "bic": "RABONL2U", "bank_name": "Rabobank"}

# attachment id, attachment name, invoice section, attachment section, specification header, items
# (description, unit price, quantity range, VAT class). Tariffs are invented, in CB's shape.
_CATALOGUE = (
    ("VR7", "OVERZICHT KOSTEN VERVOER", "Vervoer  -  Vervoer naar Belgie",
     "AFLEVERING GEREGULEERDE ONTVANGER",
     "DATUM ZENDINGEN TOTAAL GEWICHT",
     (("Zending aangeslotene BE (<0,5 kg), zending", "1.680", (1, 80), "H"),
      ("Zending aangeslotene BE (0,5-2 kg), zending", "3.150", (1, 40), "H"))),
    ("VR2", "OVERZICHT KOSTEN VERVOER", "Vervoer  -  Vervoer binnen Nederland", "AFLEVERING BOEKHANDEL",
     "DATUM ZENDINGEN TOTAAL GEWICHT",
     (("Zending boekhandel NL (<0,5 kg), zending", "0.940", (5, 400), "H"),
      ("Zending boekhandel NL (2-10 kg), doos", "6.250", (1, 60), "H"))),
    ("OP3", "OVERZICHT KOSTEN OPSLAG", "Opslag  -  Opslag voorraad", "VOORRAAD IN MAGAZIJN",
     "DATUM PALLETPLAATSEN",
     (("Opslag voorraad, palletplaats per week", "4.350", (4, 120), "H"),
      ("Opslag losse exemplaren, vak per week", "0.280", (10, 900), "H"))),
    ("OV1", "OVERZICHT KOSTEN ORDERVERWERKING", "Orderverwerking  -  Orderregels", "ORDERS VIA CB",
     "DATUM ORDERS ORDERREGELS",
     (("Verwerking orderregel, regel", "0.320", (20, 3000), "H"),
      ("Picken exemplaar, exemplaar", "0.115", (50, 9000), "H"))),
    ("RT2", "OVERZICHT KOSTEN RETOUREN", "Retouren  -  Retourverwerking", "RETOUREN BOEKHANDEL",
     "DATUM RETOURZENDINGEN EXEMPLAREN",
     (("Retourverwerking, exemplaar", "0.410", (5, 800), "H"),
      ("Vervangende exemplaren (beschadigd), exemplaar", "12.500", (1, 20), "L"))),
    ("EB4", "OVERZICHT KOSTEN E-BOEKEN", "E-boeken  -  Distributie e-boeken", "DOWNLOADS VIA CB ONLINE",
     "DATUM DOWNLOADS",
     (("Distributie e-book (EPUB), download", "0.250", (10, 5000), "H"),
      ("Watermerk e-book, download", "0.060", (10, 5000), "H"))),
)
_RATES = {"H": Decimal(21), "L": Decimal(9), "E": Decimal(0)}
_NL_BANKS = ("RABO", "INGB", "ABNA", "SNSB", "TRIO", "ASNB", "KNAB", "BUNQ")
_ATTENTION = ("Financiële administratie", "Crediteurenadministratie", "T.a.v. de administratie")


def generate_invoice(rng: random.Random, *, relation_id: str, issue_date: date, number: str | None = None,
                     customer_name: str | None = None, lines: int | None = None,
                     credit: bool = False) -> ServiceInvoice:
    """A realistic CB service invoice for the month before ``issue_date``; the same rng state gives the same
    invoice (Faker is seeded from ``rng``, nothing reads the clock)."""
    from faker import Faker  # imported when first needed: it costs ~0.1 s of every start-up

    fake = Faker(["nl_NL", "nl_BE"])
    fake.seed_instance(rng.getrandbits(32))
    period_end = issue_date.replace(day=1) - timedelta(days=1)
    period_start = period_end.replace(day=1)
    abroad = rng.random() < 0.25
    customer = _customer(rng, fake, customer_name, abroad)
    # Every draw happens whatever the arguments, so that fixing one (a number, a name) leaves the rest
    # of the invoice as the seed made it.
    drawn_count = rng.randint(3, 12)
    invoice_lines = _lines(rng, drawn_count if lines is None else lines, period_start, period_end, abroad)
    direct_debit = rng.random() < 0.6
    if credit:
        note = "Verrekening via automatische incasso" if direct_debit else "Verrekening met afdracht"
    else:
        note = "Automatische incasso" if direct_debit else "Door u over te maken"
    due = (issue_date.replace(day=1) + timedelta(days=32)).replace(day=15)
    drawn_number = f"K{issue_date.year % 100:02d}{rng.randrange(100000):05d}"  # K + year + serial
    number = number or drawn_number
    supplier = SUPPLIER
    if any(line.id.startswith("EB") for line in invoice_lines):
        supplier = dataclasses.replace(SUPPLIER, email=EBOEKHUIS_EMAIL)
    return ServiceInvoice(
        number=number, issue_date=issue_date, type_code="C" if credit else "D", period_start=period_start,
        period_end=period_end, relation_id=relation_id, supplier=supplier, customer=customer,
        lines=invoice_lines,
        payment_means=(PaymentMeans(code="AI" if direct_debit else "ZV", due_date=due, instruction_note=note,
                                    **CB_PAYMENT_ACCOUNT),),
        order_reference=f"PO{rng.randrange(10**8):08d}" if rng.random() < 0.4 else None,
        billing_references=(f"{number}.pdf",), **totals_for(invoice_lines))


def _customer(rng: random.Random, fake: Faker, name: str | None, abroad: bool) -> Party:
    local = fake["nl_BE" if abroad else "nl_NL"]
    surname = local.last_name()
    drawn_name = rng.choice((f"{surname}, Uitgeverij", f"Uitgeverij {surname}", f"Boekhandel {surname}",
                             local.company()))
    name = drawn_name if name is None else name
    attention = rng.choice(_ATTENTION) if rng.random() < 0.5 else None
    street = f"{local.street_name()} {local.building_number()}"
    if abroad:
        address = Address(street=street, inhouse_mail=attention, city=local.city(),
                          postal_zone=local.postcode(), country_code="BE", country_name="België")
        return Party(name=name, address=address, vat_number=_be_vat(rng), iban=_be_iban(rng))
    postcode = local.postcode().replace(" ", "")
    address = Address(street=street, inhouse_mail=attention, city=local.city(),
                      postal_zone=f"{postcode[:4]} {postcode[4:].upper()}")
    vat = _nl_vat(rng) if rng.random() < 0.9 else None  # a few customers (foundations) have none
    return Party(name=name, address=address, vat_number=vat, kvk=f"{rng.randint(10_000_000, 99_999_999)}",
                 iban=_nl_iban(rng))


def _lines(rng: random.Random, count: int, start: date, end: date, abroad: bool) -> tuple[InvoiceLine, ...]:
    if count < 1:
        raise ValueError(f"an invoice has at least one line (InvoiceLine 1..n), not {count}")
    # Grouped by attachment, as on CB's invoice: every attachment numbers its own lines.
    picks = sorted(rng.randrange(len(_CATALOGUE)) for _ in range(count))
    seen: dict[str, int] = {}
    result = []
    for group_index in picks:
        attachment, name, section, attachment_section, header, items = _CATALOGUE[group_index]
        description, tariff, (low, high), vat_class = rng.choice(items)
        seen[attachment] = seen.get(attachment, 0) + 1
        line_id = f"{attachment} - {seen[attachment]}"
        quantity = rng.randint(low, high)
        price = Decimal(tariff).quantize(TARIFF)
        category = "E" if abroad else vat_class
        specification = [("Bijlage specificatie", header)]
        specification += [("Bijlage specificatie", row) for row in _spec_rows(rng, quantity, start, end,
                                                                                 "GEWICHT" in header)]
        result.append(InvoiceLine(
            id=line_id, quantity=Decimal(quantity), price_amount=price,
            line_extension_amount=money(price * quantity), tax_percent=_RATES[category],
            tax_category_id=category, descriptions=(description,), standard_item_id=line_id,
            properties=(("Bijlage identificatie", attachment), ("Bijlage naam", name),
                        ("Factuurrubriekregel", section), ("Bijlagerubriek", attachment_section),
                        *specification),
            exemption_reason=EXEMPTION_ARTICLE_44 if category == "E" else None))
    return tuple(result)


def _spec_rows(rng: random.Random, quantity: int, start: date, end: date, weight: bool) -> list[str]:
    """Dated rows whose counts add up to the line's quantity ("04-09-2017 4 1,560")."""
    days = sorted(rng.sample(range((end - start).days + 1), k=min(quantity, rng.randint(1, 4))))
    cuts = sorted(rng.sample(range(1, quantity), k=len(days) - 1)) if len(days) > 1 else []
    counts = [b - a for a, b in zip([0, *cuts], [*cuts, quantity])]
    rows = []
    for day, n in zip(days, counts):
        row = f"{start + timedelta(days=day):%d-%m-%Y} {n}"
        if weight:
            row += " " + f"{n * rng.uniform(0.15, 0.49):.3f}".replace(".", ",")
        rows.append(row)
    return rows


def _nl_vat(rng: random.Random) -> str:
    """NL + 9 digits passing the eleven test + B + 2 digits (stdnum.nl.btw accepts it)."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1))) % 11
        if check < 10 and any(digits):
            return "NL" + "".join(map(str, digits)) + f"{check}B{rng.randint(1, 3):02d}"


def _be_vat(rng: random.Random) -> str:
    """BE + 10 digits whose last two are 97 - (the first eight mod 97) (stdnum.be.vat accepts it)."""
    base = rng.randint(2_000_000, 9_999_999)  # leading 0 and a non-zero second digit
    return f"BE0{base}{97 - base % 97:02d}"


def _nl_iban(rng: random.Random) -> str:
    bban = rng.choice(_NL_BANKS) + f"{rng.randrange(10**10):010d}"
    return f"NL{stdnum_iban.calc_check_digits('NL00' + bban)}{bban}"


def _be_iban(rng: random.Random) -> str:
    # Belgian BBAN: 3-digit bank, 7-digit account, 2 national check digits (mod 97, 0 → 97).
    # 068 (Belfius/Dexia) is a bank code stdnum's Belgian bank table knows.
    account = 68 * 10**7 + rng.randrange(10**7)
    check = account % 97 or 97
    bban = f"{account:010d}{check:02d}"
    return f"BE{stdnum_iban.calc_check_digits('BE00' + bban)}{bban}"
