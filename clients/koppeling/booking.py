"""From a ``Sale`` to what Twinfield gets: a concept sales booking (VRK) or a sales invoice.

Also the two checks that need nothing but the sale and the configuration (seed 003's checks 1 and 3):
the total adds up, and every line's VAT rate maps to a configured Twinfield VAT code.

Concept booking (seed 003, "Totalline / Detaillines"): a ``total`` line on the debtors account (dim1 1300,
dim2 the customer, debit, the total incl. VAT, description the order or invoice number) and per sale line a
``detail`` line (dim1 the turnover/shipping/payment account, dim2 the cost centre, credit, the value excl.
VAT, ``vatvalue``, ``vatcode``, description at most 35 characters); ICP lines carry ``performancetype``
goods, ``performancecountry`` and ``performancevatnumber``. A rounding difference of at most 5 cents between
the shop's total and the lines is absorbed into the VAT amounts (the largest VAT amount takes it); a larger
one is an error. A negative sale (a credit invoice) swaps debit and credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from .config import KoppelingConfig, VatTarget, rate_key
from .sale import ZERO, Sale, SaleLine

MAX_DESCRIPTION = 35  # seed 003: "Productomschrijving, lengte max 35"
MAX_NUMBER = 40  # Twinfield's invoice number field
ROUNDING_LIMIT = Decimal("0.05")  # seed 003: "hoogstens 5 cent"
LINE_NAMES = {"turnover": "row", "shipping": "shipping", "payment": "payment costs", "surcharge": "surcharge",
              "discount": "discount"}


class CheckFailed(Exception):
    """A check before posting failed; ``check`` names which (total, vies, vatcode, posted, rounding, ...)."""

    def __init__(self, check: str, reason: str, retry: bool = False) -> None:
        super().__init__(reason)
        self.check = check
        self.reason = reason
        self.retry = retry  # True: nothing is wrong with the order, the check could not be done now


@dataclass
class Priced:
    line: SaleLine
    target: VatTarget
    excl: Decimal
    vat: Decimal

    @property
    def account(self) -> str:
        return self.target.account_for(self.line.kind)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


# -- checks 1 and 3 ---------------------------------------------------------------------------------------------


def check_total(sale: Sale) -> None:
    """Check 1: the total equals the rows plus shipping and the other costs (plus the VAT when excl.)."""
    lines = sum((line.amount for line in sale.lines), ZERO)
    expected = lines + sale.total_tax if (not sale.incl and sale.taxes_included) else lines
    if expected != sale.total:
        what = "order" if sale.source == "order" else "invoice"
        raise CheckFailed("total", f"the {what} total {_money(sale.total)} is not the sum of the rows, shipping "
                                   f"and costs{' plus VAT' if expected != lines else ''} ({_money(expected)})")


def target_of(sale: Sale, line: SaleLine, config: KoppelingConfig) -> VatTarget | None:
    if sale.icp:
        return config.icp
    if sale.international:
        return config.international
    return config.target(sale.country, line.rate)


def check_vat_codes(sale: Sale, config: KoppelingConfig) -> list[tuple[SaleLine, VatTarget]]:
    """Check 3: every line's VAT rate maps to a configured Twinfield VAT code (for the delivery country)."""
    found, missing = [], []
    for line in sale.lines:
        target = target_of(sale, line, config)
        if target is None or not target.vatcode:
            where = "ICP" if sale.icp else "International" if sale.international else (sale.country or "?")
            missing.append(f"{rate_key(line.rate)}% ({where}, {LINE_NAMES[line.kind]} {line.description[:35]!r})")
        else:
            found.append((line, target))
    if missing:
        raise CheckFailed("vatcode", "no Twinfield VAT code configured for " + "; ".join(missing))
    return found


def price(sale: Sale, config: KoppelingConfig) -> tuple[Decimal, list[Priced]]:
    """The booking total and every line excl. VAT with its VAT, the rounding difference absorbed."""
    priced = [Priced(line, target, *line.split(sale.incl)) for line, target in check_vat_codes(sale, config)]
    computed = sum((p.excl + p.vat for p in priced), ZERO)
    if not sale.taxes_included:
        return computed, priced  # [CHOSEN] the shop hid its VAT: the booking's total is the lines plus VAT
    difference = sale.total - computed
    if difference:
        carriers = [p for p in priced if p.vat]
        if abs(difference) > ROUNDING_LIMIT or not carriers:
            raise CheckFailed("rounding", f"the lines add up to {_money(computed)}, the total is "
                                          f"{_money(sale.total)}: a difference of {_money(difference)} is more "
                                          f"than a rounding difference (at most 5 cents, absorbed into the VAT)")
        max(carriers, key=lambda p: abs(p.vat)).vat += difference
    return sale.total, priced


# -- concept booking --------------------------------------------------------------------------------------------


def booking_lines(sale: Sale, config: KoppelingConfig, customer: str, invoicenumber: str) -> list[dict]:
    total, priced = price(sale, config)
    lines = [{"type": "total", "dim1": config.debtors_account, "dim2": customer,
              "debitcredit": "debit" if total >= 0 else "credit", "value": _money(abs(total)),
              "description": invoicenumber[:MAX_NUMBER]}]
    for p in priced:
        line = {"type": "detail", "dim1": p.account, "dim2": config.cost_centre or None,
                "debitcredit": "credit" if p.excl >= 0 else "debit", "value": _money(abs(p.excl)),
                "description": p.line.description[:MAX_DESCRIPTION], "vatcode": p.target.vatcode,
                "vatvalue": _money(abs(p.vat))}
        if sale.icp:
            line.update(performancetype="goods", performancecountry=(sale.country or "").upper(),
                        performancevatnumber="".join(sale.customer.vat_number.split()).upper())
        lines.append(line)
    return lines


def transaction_xml(office: str, day: str, invoicenumber: str | None, currency: str, lines: list[dict],
                    journal: str = "VRK") -> str:
    """The ``<transaction>`` exactly as the koppeling posts it (kept with the item: *more info* shows it).
    A memo booking has no invoice number of its own: its lines carry it."""
    body = ""
    for i, line in enumerate(lines, start=1):
        fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in line.items() if k != "type" and v is not None)
        body += f'<line type="{line["type"]}" id="{i}">{fields}</line>'
    number = f"<invoicenumber>{escape(invoicenumber)}</invoicenumber>" if invoicenumber else ""
    return (f'<transaction destiny="temporary" raisewarning="true"><header><office>{escape(office)}</office>'
            f"<code>{journal}</code><currency>{escape(currency)}</currency><date>{day}</date>{number}</header>"
            f"<lines>{body}</lines></transaction>")


# -- invoice mode -----------------------------------------------------------------------------------------------


def _quantity_and_unit(p: Priced) -> tuple[Decimal, Decimal]:
    """Seed 003: quantity and the unit price excl. VAT; a price that does not divide to 4 decimals is sent
    as one unit of the line total, so Twinfield's line value is the shop's."""
    quantity = p.line.quantity or Decimal("1")
    unit = (p.excl / quantity).quantize(Decimal("0.0001"))
    if unit * quantity != p.excl:
        return Decimal("1"), p.excl
    return quantity, unit


def headertext(sale: Sale, config: KoppelingConfig) -> str:
    # Seed 003: "Als het factuurnummer gelijk is aan het bestelnummer: Bestelling bestelnummer".
    return f"Bestelling {sale.order_number}" if config.invoicenumber == "order" else f"Factuur {sale.invoice_number}"


def invoice_xml(sale: Sale, config: KoppelingConfig, customer: str) -> str:
    _, priced = price(sale, config)
    method = "cashondelivery" if sale.paymethod.lower().replace(" ", "") == "cashondelivery" else "bank"
    lines = ""
    for i, p in enumerate(priced, start=1):
        quantity, unit = _quantity_and_unit(p)
        icp = "<performancetype>goods</performancetype>" if sale.icp else ""
        lines += (f'<line id="{i}"><article>0</article><description>{escape(p.line.description[:MAX_DESCRIPTION])}'
                  f"</description><quantity>{format(quantity.normalize(), 'f')}</quantity><units>1</units>"
                  f"<unitspriceexcl>{format(unit.normalize(), 'f')}</unitspriceexcl><dim1>{escape(p.account)}</dim1>"
                  f"<vatcode>{escape(p.target.vatcode)}</vatcode>{icp}</line>")
    return (f"<salesinvoice><header><office>{escape(config.office)}</office><invoicetype>FACTUUR</invoicetype>"
            f"<invoicedate>{sale.day:%Y%m%d}</invoicedate><customer>{escape(customer)}</customer>"
            f"<currency>{escape(sale.currency)}</currency><status>concept</status>"
            f"<paymentmethod>{method}</paymentmethod><headertext>{escape(headertext(sale, config))}</headertext>"
            f"</header><lines>{lines}</lines></salesinvoice>")
