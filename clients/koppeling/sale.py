"""A shop order or invoice as the koppeling sees it: a ``Sale`` with lines, each with its VAT rate.

This is seed 003's field mapping ("Uitwerking veldniveau bestellingen / facturen"), free of any wire:

* rows: VAT % = ``tax`` (x100 when below 1), name ``product_name``, code ``sub_product_number`` else
  ``product_number``, quantity ``count``; the row amount is ``total_price`` (row discounts applied);
* amounts incl. or excl. VAT per ``order_row_taxes_included`` (``invoice_row_taxes_included``), rows,
  shipping, payment costs and surcharges alike;
* **shipping** "Verzendkosten": 0 % for ICP and international orders, else ``shipping_tax_percentage``
  ([CHOSEN] 0 % too when ``shipping_taxes_included`` is false: the shop then left the shipping out of its VAT);
* **payment costs** "Betaalkosten" = ``paymethod_costs`` + ``extra_payment_option_price``: orders 0 % for ICP,
  international and margin sales, else the highest rate of the delivery country; invoices the shipping's %;
* **surcharges**, at most two lines: ``extra_costs`` ("Extra {extra_costs_description}" or "Toeslag") and
  ``credit_point_discount`` (subtracted; [CHOSEN] named "Toeslag" as the seed names every surcharge line);
  0 % for ICP and international, else the highest row rate;
* [CHOSEN] the order-level coupon ``total_discounts`` (the seed is silent, yet the shop subtracts it from the
  total) becomes a line "Korting" at the highest row rate, so the booking balances.

[CHOSEN] An order is *international* when its delivery country is outside the EU (SPEC §7); a *margin sale*
is a domestic or EU order whose rows all carry 0 %.

The booking date ("Bestel- en boekdatum [create_date]") is the day in the Netherlands: CCV gives
``create_date`` in UTC ("2022-11-07T21:51:00Z"), and an order placed at 00:30 on 1 January in Amsterdam is
23:30 on 31 December in UTC - it belongs to the new year's first period, not to the old year's last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from clients.ccvshop import Customer, Invoice, Order, Row

from .vatrates import is_eu

ZERO = Decimal("0")
CENT = Decimal("0.01")
SHOP_TIME = ZoneInfo("Europe/Amsterdam")  # CCV Shop is a Dutch shop: its days are Dutch days


def shop_day(moment: datetime | None) -> date | None:
    """The Dutch calendar day of a CCV instant (UTC on the wire; a time without a zone is taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(SHOP_TIME).date()


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class SaleLine:
    kind: str  # turnover | shipping | payment | surcharge | discount
    description: str
    amount: Decimal  # the line total in the sale's basis (incl. or excl. VAT), signed
    rate: Decimal  # VAT percentage
    quantity: Decimal = Decimal("1")
    code: str = ""  # product code

    def split(self, incl: bool) -> tuple[Decimal, Decimal]:
        """(value excl. VAT, VAT) of this line, VAT rounded half up per line."""
        if incl:
            vat = cents(self.amount * self.rate / (100 + self.rate)) if self.rate else ZERO
            return self.amount - vat, vat
        return self.amount, cents(self.amount * self.rate / 100) if self.rate else ZERO


@dataclass
class Sale:
    source: str  # order | invoice
    id: int  # the shop's id of the order or invoice
    number: str  # ordernumber_full or invoicenumber_full
    order_id: int
    order_number: str
    invoice_number: str  # invoicenumber_full (an order's: only when asked for, empty until it is invoiced)
    day: date
    currency: str
    incl: bool  # line amounts include VAT
    taxes_included: bool
    total: Decimal  # total_price
    total_tax: Decimal
    country: str | None  # delivery country
    icp: bool
    international: bool
    margin: bool
    credit: bool
    paid: bool
    paymethod_id: int | None
    paymethod: str
    transaction_id: str
    customer: Customer
    lines: list[SaleLine] = field(default_factory=list)

    @property
    def zero_rated(self) -> bool:
        return self.icp or self.international


def _row_lines(rows: list[Row]) -> list[SaleLine]:
    return [SaleLine("turnover", row.product_name or row.code or "Artikel", row.total_price, row.vat_percentage,
                     row.count, row.code) for row in rows]


def _surcharge_lines(extra_costs: Decimal, description: str, credit_points: Decimal, coupon: Decimal,
                     rate: Decimal) -> list[SaleLine]:
    lines = []
    if extra_costs:
        lines.append(SaleLine("surcharge", f"Extra {description}" if description else "Toeslag", extra_costs, rate))
    if credit_points:
        lines.append(SaleLine("surcharge", "Toeslag", -credit_points, rate))
    if coupon:
        lines.append(SaleLine("discount", "Korting", -coupon, rate))
    return lines


def _flags(customer: Customer, icp: bool, rows: list[SaleLine]) -> tuple[str | None, bool, bool]:
    country = customer.delivery_country
    international = bool(country) and not is_eu(country) and not icp
    margin = not icp and not international and bool(rows) and all(line.rate == 0 for line in rows)
    return country, international, margin


def sale_from_order(order: Order, rows: list[Row], highest_country_rate: Decimal, invoice_number: str = "") -> Sale:
    """An order as a sale. ``highest_country_rate``: the highest rate configured for the delivery country;
    ``invoice_number``: the full number of the order's invoice as the shop shows it (``invoicenumber_full``,
    with its prefix), empty when it was not asked for or the order is not invoiced yet."""
    turnover = _row_lines(rows)
    country, international, margin = _flags(order.customer, order.is_intra_community_order, turnover)
    zero = order.is_intra_community_order or international
    highest_row = max((line.rate for line in turnover), default=ZERO)
    shipping_rate = ZERO if zero or not order.shipping_taxes_included else order.shipping_tax_percentage
    payment_rate = ZERO if zero or margin else highest_country_rate
    extra_rate = ZERO if zero else highest_row
    extras = [SaleLine("shipping", "Verzendkosten", order.total_shipping, shipping_rate),
              SaleLine("payment", "Betaalkosten", order.paymethod_costs + order.extra_payment_option_price,
                       payment_rate)]
    extras += _surcharge_lines(order.extra_costs, order.extra_costs_description, order.credit_point_discount,
                               order.total_discounts, extra_rate)
    lines = turnover + [line for line in extras if line.amount]  # [CHOSEN] no 0.00 lines, as in invoice mode
    number = order.ordernumber_full or str(order.ordernumber or order.id)
    return Sale("order", order.id, number, order.id, number, invoice_number, shop_day(order.create_date) or date.min,
                order.currency, order.order_row_taxes_included, order.taxes_included, order.total_price,
                order.total_tax, country, order.is_intra_community_order, international, margin, False, order.paid,
                order.paymethod_id, order.paymethod, order.transaction_id or "", order.customer, lines)


def sale_from_invoice(invoice: Invoice, rows: list[Row], order: Order) -> Sale:
    """An invoice (debit or credit) as a sale; payment method and transaction come from its order."""
    raw = invoice.raw
    turnover = _row_lines(rows)
    customer = invoice.customer if invoice.customer.email or not order else order.customer
    country, international, margin = _flags(customer, invoice.is_intra_community_order, turnover)
    zero = invoice.is_intra_community_order or international
    highest_row = max((line.rate for line in turnover), default=ZERO)
    shipping_included = bool(raw.get("shipping_taxes_included", True))
    shipping_pct = Decimal(str(raw.get("shipping_tax_percentage") or 0))
    shipping_rate = ZERO if zero or not shipping_included else shipping_pct
    extra_rate = ZERO if zero else highest_row
    lines = list(turnover)
    # Seed 003, invoices: the shipping, payment-cost and surcharge lines only when not zero; payment costs
    # carry the shipping's VAT percentage (an invoice has none of its own for them).
    extras = [SaleLine("shipping", "Verzendkosten", invoice.total_shipping, shipping_rate),
              SaleLine("payment", "Betaalkosten",
                       invoice.paymethod_costs + Decimal(str(raw.get("extra_payment_option_price") or 0)),
                       ZERO if zero else shipping_pct)]
    extras += _surcharge_lines(invoice.extra_costs, raw.get("extra_costs_description") or "",
                               Decimal(str(raw.get("credit_point_discount") or 0)),
                               Decimal(str(raw.get("total_discounts") or 0)), extra_rate)
    lines += [line for line in extras if line.amount]
    number = invoice.invoicenumber_full or str(invoice.invoicenumber or invoice.id)
    order_number = invoice.ordernumber_full or (order.ordernumber_full if order else "") or ""
    return Sale("invoice", invoice.id, number, invoice.order_id or 0, order_number, number,
                shop_day(invoice.create_date) or date.min, raw.get("currency") or "EUR",
                invoice.invoice_row_taxes_included, invoice.taxes_included, invoice.total_price, invoice.total_tax,
                country, invoice.is_intra_community_order, international, margin, invoice.is_credit,
                invoice.status == "paid", order.paymethod_id if order else None, order.paymethod if order else "",
                (order.transaction_id if order else "") or "", customer, lines)
