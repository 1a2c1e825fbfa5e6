"""How an order's amounts hang together: row prices, costs, VAT and the total.

CCV does not publish its formula; this is ours, [CHOSEN] and checked by ``problems`` (the data generator's
tests run it over many seeds). Field meanings are the official schema's (jacobdekeizer/ccvshop-client
models, generated from demo.ccvshop.nl/API/Docs):

* ``order_row_taxes_included`` - "If order row prices contain taxes ... an inc. VAT order and an ex. VAT
  order". Every amount of the order (rows, shipping, costs, discounts) is in that *basis* [CHOSEN; the seed's
  koppeling reads shipping, payment costs and surcharges with the same flag].
* a row: ``selling_price = price - discount`` (per unit), ``total_price = selling_price * count``; the
  seed's discount of a row is ``(price_without_discount - selling_price) * count``.
* ``total_orderrow_price`` = the sum of the rows' ``total_price`` (row discounts already applied).
* ``total_discounts`` = the order-level discount (a coupon), on top of row discounts [CHOSEN].
* ``extra_costs`` may be negative ("can be used as a discount less than zero"); ``credit_point_discount``
  is subtracted.
* subtotal = rows + total_shipping + paymethod_costs + extra_payment_option_price + extra_costs
  - credit_point_discount - total_discounts.
* VAT per line, rounded half-up to cents, then summed [CHOSEN]: each row at its ``tax``; shipping at
  ``shipping_tax_percentage`` when ``shipping_taxes_included`` ("If shippingcosts are included in the total
  tax amount"), else untaxed; payment costs and the surcharge/discount line at the highest row rate
  [CHOSEN]. In an incl. basis a line's VAT is amount * r / (100 + r), in an excl. basis amount * r / 100.
* ``taxes_included`` - "If taxes are calculated in the total price. If false, all taxes will be hidden":
  true: ``total_price`` = subtotal (incl. basis) or subtotal + VAT (excl. basis); false: ``total_tax`` is 0
  and ``total_price`` = subtotal [CHOSEN].
* ``extra_price`` (deprecated) = paymethod_costs - credit_point_discount (its schema text).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

from .money import ZERO, cents, dec

COST_FIELDS = ("total_shipping", "paymethod_costs", "extra_payment_option_price", "extra_costs",
               "credit_point_discount", "total_discounts")


@dataclass(frozen=True)
class Line:
    """One amount that carries VAT: a row, the shipping, the payment costs, the surcharges."""

    kind: str
    amount: Decimal
    rate: Decimal


def row_amounts(price: Any, discount: Any, count: Any) -> dict[str, Decimal]:
    """The derived amounts of an order row (per unit and total) from price, discount and count."""
    price, discount, count = dec(price), dec(discount), dec(count)
    selling = cents(price - discount)
    return {"selling_price": selling, "original_price": selling, "price_with_attributes": selling,
            "price_without_discount": cents(price), "price_without_discount_with_attributes": cents(price),
            "total_price": cents(selling * count), "total_price_with_attributes": cents(selling * count)}


def line_vat(amount: Decimal, rate: Decimal, incl: bool) -> Decimal:
    if rate == ZERO or amount == ZERO:
        return ZERO
    return cents(amount * rate / (100 + rate)) if incl else cents(amount * rate / 100)


def lines(order: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> list[Line]:
    """The VAT-carrying lines of an order (or invoice), in the order's own basis."""
    rows = list(rows)
    result = [Line("row", dec(r["total_price"]), dec(r["tax"])) for r in rows]
    highest = max((dec(r["tax"]) for r in rows), default=ZERO)
    shipping_rate = dec(order["shipping_tax_percentage"]) if order["shipping_taxes_included"] else ZERO
    result.append(Line("shipping", dec(order["total_shipping"]), shipping_rate))
    result.append(Line("payment", dec(order["paymethod_costs"]) + dec(order["extra_payment_option_price"]),
                       highest))
    surcharge = dec(order["extra_costs"]) - dec(order["credit_point_discount"]) - dec(order["total_discounts"])
    result.append(Line("surcharge", surcharge, highest))
    return result


def subtotal(order: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> Decimal:
    total_rows = sum((dec(r["total_price"]) for r in rows), ZERO)
    return cents(total_rows + dec(order["total_shipping"]) + dec(order["paymethod_costs"])
                 + dec(order["extra_payment_option_price"]) + dec(order["extra_costs"])
                 - dec(order["credit_point_discount"]) - dec(order["total_discounts"]))


def compute(order: Mapping[str, Any], rows: Iterable[Mapping[str, Any]], incl_key: str = "order_row_taxes_included"
            ) -> dict[str, Decimal]:
    """The totals an order (or, with ``incl_key="invoice_row_taxes_included"``, an invoice) must carry."""
    rows = list(rows)
    incl = bool(order[incl_key])
    tax = sum((line_vat(line.amount, line.rate, incl) for line in lines(order, rows)), ZERO)
    if not order["taxes_included"]:
        tax = ZERO
    sub = subtotal(order, rows)
    total = sub if incl or not order["taxes_included"] else sub + tax
    return {
        "total_orderrow_price": cents(sum((dec(r["total_price"]) for r in rows), ZERO)),
        "total_tax": cents(tax),
        "total_price": cents(total),
        "extra_price": cents(dec(order["paymethod_costs"]) - dec(order["credit_point_discount"])),
        "total_price_inc_tax": cents(total),
        "total_price_exc_tax": cents(total - tax),
    }


def problems(order: Mapping[str, Any], rows: Iterable[Mapping[str, Any]],
             incl_key: str = "order_row_taxes_included") -> list[str]:
    """Why an order's stored amounts differ from what ``compute`` gives (empty: consistent)."""
    rows = list(rows)
    found = []
    for row in rows:
        expected = row_amounts(row["price"], row["discount"], row["count"])
        for key in ("selling_price", "total_price"):
            if dec(row[key]) != expected[key]:
                found.append(f"row {row.get('id')}: {key} {row[key]} != {expected[key]}")
    for key, value in compute(order, rows, incl_key).items():
        if key in order and dec(order[key]) != value:
            found.append(f"{key} {order[key]} != {value}")
    return found
