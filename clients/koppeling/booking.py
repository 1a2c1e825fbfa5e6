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
from decimal import ROUND_HALF_UP, Decimal
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

    def __init__(self, check: str, reason: str, retry: bool = False, messages: list[str] | None = None) -> None:
        super().__init__(reason)
        self.check = check
        self.reason = reason
        self.retry = retry  # True: nothing is wrong with the order, the check could not be done now
        self.messages = messages or []  # Twinfield's texts, when Twinfield's answer made the check fail


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


# -- numbers ------------------------------------------------------------------------------------------------------


def own_number(sale: Sale, config: KoppelingConfig) -> str:
    """The number a sale is booked under, in full. Seed 003: an order's number, on request its invoice number;
    an invoice (debit or credit) has its own - "Factuurnummer en referentie [invoicenumber_full]" - so with
    ``source: invoices`` the booking always carries the invoice's number, whatever ``invoicenumber`` says.

    With ``invoicenumber: invoice`` an order not invoiced yet has no number to be booked under: empty, and the
    order waits (``Poster``). Its order number instead would be another order's invoice number soon."""
    if sale.source == "invoice":
        return sale.number
    if config.invoicenumber == "invoice":
        return sale.invoice_number
    return sale.order_number or sale.number


def invoice_ref(number: str) -> str:
    """Twinfield's invoice number field: the LAST 40 characters (seed 003: "om de factuurnummers uniek te
    houden")."""
    return number[-MAX_NUMBER:]


def description_ref(number: str) -> str:
    """A number as a line description: the FIRST 40 characters (seed 003)."""
    return number[:MAX_NUMBER]


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


def amounts_include_vat(sale: Sale) -> bool:
    """Whether the line amounts hold their VAT. [CHOSEN] With ``taxes_included: false`` the shop hid the VAT
    ("all taxes will be hidden"): ``total_tax`` is 0 and the customer paid ``total_price``, the plain sum of
    the lines. The rows still carry their rate, so the VAT is taken to be inside what was paid (as Dutch law
    reads a price that does not mention VAT): the booking's total is ``total_price``, as in every variant, and
    the payment finds it."""
    return sale.incl or not sale.taxes_included


def price(sale: Sale, config: KoppelingConfig) -> tuple[Decimal, list[Priced]]:
    """The booking total (always the shop's ``total_price``) and every line excl. VAT with its VAT, the
    rounding difference absorbed."""
    incl = amounts_include_vat(sale)
    priced = [Priced(line, target, *line.split(incl)) for line, target in check_vat_codes(sale, config)]
    computed = sum((p.excl + p.vat for p in priced), ZERO)
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
              "description": description_ref(invoicenumber)}]
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


UNIT_PRICE = Decimal("0.0000000001")  # ten decimals: quantity x unit rounds back to the line value


def _invoice_excl(p: Priced) -> Decimal:
    """The line value excl. VAT to send: Twinfield computes an invoice line's VAT itself (excl x rate, half
    up), so of the values within a cent of ours the one whose VAT makes the shop's line amount is taken."""
    wanted = p.excl + p.vat
    for excl in (p.excl, p.excl - Decimal("0.01"), p.excl + Decimal("0.01")):
        if excl + (excl * p.line.rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == wanted:
            return excl
    return p.excl


def _quantity_and_unit(p: Priced) -> tuple[Decimal, Decimal]:
    """Seed 003: quantity [count] and the unit price excl. VAT. A unit price that does not divide evenly is
    sent with ten decimals; Twinfield's quantity x unit price, rounded to cents, is then the line value."""
    quantity = p.line.quantity if p.line.quantity and p.line.quantity > 0 else Decimal("1")
    excl = _invoice_excl(p)
    unit = excl / quantity
    if unit != unit.quantize(UNIT_PRICE):
        unit = unit.quantize(UNIT_PRICE, rounding=ROUND_HALF_UP)
    return quantity, unit


def headertext(sale: Sale, config: KoppelingConfig) -> str:
    # Seed 003: "Als het factuurnummer gelijk is aan het bestelnummer: Bestelling bestelnummer" - the numbers
    # compared, whichever the booking carries ([CHOSEN] "Factuur {number}" when they differ).
    number = own_number(sale, config)
    if number == sale.order_number:
        return f"Bestelling {sale.order_number}"
    return f"Factuur {number}"


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
