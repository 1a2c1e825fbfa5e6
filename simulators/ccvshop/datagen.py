"""Realistic orders for a Dutch webshop: B2C and B2B, NL and EU customers, ICP and export orders.

``generate(options, seed, now)`` gives a complete order (fields as the real API's, amounts consistent by
``totals``) and its rows, without the ids and numbers the shop assigns. Everything random comes from
``random.Random(seed)`` and a Faker reseeded from it, so one seed is one order, on every machine.

What a koppeling must cope with is here on purpose: prices incl. and excl. VAT, per-country rates (also
25.5 %), reduced rates, row discounts, coupons, shipping, payment costs, an extra payment option,
surcharges that may be negative, credit points, margin-scheme rows, VAT numbers that pass their check
digits (and, on request, ones VIES will not know), and - only when asked - a total that does not add up.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..core.clock import parse_instant
from . import totals
from .catalog import MARGIN_PRODUCTS, PAYMETHODS, PAYMETHODS_BY_ID, PRODUCTS, STATUSES, Product
from .customers import LANGUAGES, LOCALES, customer_of, faker, merged
from .money import ZERO, amount_problem, cents, dec, wire
from .resources import api_time as stamp
from .vat import NON_EU, RATES, is_eu, rates

EU_ABROAD = tuple(sorted(c for c in RATES if c != "NL"))
MAX_ROWS = 50
MAX_ROW_COUNT = 100_000  # [CHOSEN] pieces on one generated row: any real order has fewer

# The options a scenario, the admin API or a test may give; every one optional (the generator decides).
OPTIONS_SCHEMA: dict = {
    "type": "object", "additionalProperties": False, "x-noun": "order option",
    "properties": {
        "country": {"type": "string", "pattern": "^[A-Z]{2}$", "description": "delivery and billing country"},
        "b2b": {"type": "boolean", "description": "a business customer (company, KvK/VAT number)"},
        "icp": {"type": "boolean", "description": "intra-community supply: EU business with a VAT number, 0 %"},
        "international": {"type": "boolean", "description": "delivery outside the EU, 0 %"},
        "vat_included": {"type": "boolean", "description": "order_row_taxes_included: prices incl. VAT"},
        "taxes_included": {"type": "boolean"},
        "rows": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_ROWS},
                           {"type": "array", "minItems": 1, "maxItems": MAX_ROWS, "items": {
                               "type": "object", "additionalProperties": False, "required": ["price"],
                               "properties": {"product_name": {"type": "string"}, "product_number": {"type": "string"},
                                              "sub_product_number": {"type": "string"},
                                              "count": {"type": "number", "exclusiveMinimum": 0},
                                              "price": {"type": "number"}, "discount": {"type": "number"},
                                              "tax": {"type": "number", "minimum": 0}}}}],
                 "description": "how many rows, or the rows themselves"},
        "reduced_rate": {"type": "boolean", "description": "at least one row at the country's reduced rate"},
        "row_discount": {"type": "boolean"},
        "margin": {"type": "boolean", "description": "margin-scheme goods (rows at 0 %)"},
        "shipping": {"type": "number", "minimum": 0},
        "shipping_taxes_included": {"type": "boolean"},
        "shipping_tax_percentage": {"type": "number", "minimum": 0},
        "payment_costs": {"type": "number", "minimum": 0},
        "payment_option": {"type": "number", "minimum": 0, "description": "extra_payment_option_price"},
        "extra_costs": {"type": "number", "description": "a surcharge; negative is a discount"},
        "extra_costs_description": {"type": "string"},
        "credit_points": {"type": "number", "minimum": 0, "description": "credit_point_discount"},
        "coupon": {"type": "number", "minimum": 0, "description": "total_discounts"},
        "paymethod_id": {"type": "integer"},
        "paid": {"type": "boolean"},
        "transaction_id": {"type": "string"},
        "status": {"type": "integer", "minimum": 1, "maximum": 14},
        "email": {"type": "string"},
        "customer": {"type": "object", "description": "customer fields to use as given (merged into the generated "
                                                      "customer, also billingaddress/deliveryaddress)"},
        "vat_number": {"type": "string", "description": "customer.btw as given"},
        "vat_registered": {"type": "boolean", "description": "false: valid check digits, unknown to VIES"},
        "inconsistent_total": {"type": "number", "description": "added to total_price after computing it"},
        "create_date": {"type": "string"},
        "platform_sale": {"type": "boolean"},
    },
}


@dataclass
class OrderOptions:
    country: str | None = None
    b2b: bool | None = None
    icp: bool | None = None
    international: bool | None = None
    vat_included: bool | None = None
    taxes_included: bool | None = None
    rows: int | list | None = None
    reduced_rate: bool | None = None
    row_discount: bool | None = None
    margin: bool | None = None
    shipping: float | None = None
    shipping_taxes_included: bool | None = None
    shipping_tax_percentage: float | None = None
    payment_costs: float | None = None
    payment_option: float | None = None
    extra_costs: float | None = None
    extra_costs_description: str | None = None
    credit_points: float | None = None
    coupon: float | None = None
    paymethod_id: int | None = None
    paid: bool | None = None
    transaction_id: str | None = None
    status: int | None = None
    email: str | None = None
    customer: dict | None = None
    vat_number: str | None = None
    vat_registered: bool | None = None
    inconsistent_total: float | None = None
    create_date: str | None = None
    platform_sale: bool | None = None

    @classmethod
    def from_dict(cls, data: dict | None) -> "OrderOptions":
        """Options from JSON/YAML, refusing unknown names and wrong types with a message naming the field."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown order option {unknown[0]!r}; known: {', '.join(sorted(known))}")
        options = cls(**data)
        options.validate()
        return options

    def validate(self) -> None:
        for name in ("shipping", "payment_costs", "payment_option", "extra_costs", "credit_points", "coupon",
                     "inconsistent_total"):
            value = getattr(self, name)
            problem = None if value is None else amount_problem(value)
            if problem:
                raise ValueError(f"order option {name} {problem}, got {value!r}")
        for name in ("b2b", "icp", "international", "vat_included", "taxes_included", "reduced_rate",
                     "row_discount", "margin", "shipping_taxes_included", "paid", "vat_registered", "platform_sale"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"order option {name} must be true or false, got {value!r}")
        if self.country is not None:
            if not isinstance(self.country, str) or len(self.country) != 2:
                raise ValueError(f"order option country must be a two-letter code, got {self.country!r}")
            self.country = self.country.upper()
            if self.country not in LOCALES:
                raise ValueError(f"country {self.country} is not one the generator knows: {', '.join(LOCALES)}")
        if self.icp and self.international:
            raise ValueError("an order is either icp (EU) or international (outside the EU), not both")
        if self.icp and self.country and (self.country == "NL" or not is_eu(self.country)):
            raise ValueError(f"an ICP order goes to another EU country, not {self.country}")
        if self.international and self.country and is_eu(self.country):
            raise ValueError(f"an international order goes outside the EU, not to {self.country}")
        if self.paymethod_id is not None and self.paymethod_id not in PAYMETHODS_BY_ID:
            raise ValueError(f"unknown paymethod_id {self.paymethod_id}; known: {sorted(PAYMETHODS_BY_ID)}")
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status must be 1-14, got {self.status}")
        if isinstance(self.rows, int) and not isinstance(self.rows, bool) and not 1 <= self.rows <= MAX_ROWS:
            raise ValueError(f"rows must be 1-{MAX_ROWS}")
        if isinstance(self.rows, list):
            for i, row in enumerate(self.rows):
                if not isinstance(row, dict) or "price" not in row:
                    raise ValueError(f"rows[{i}] needs at least a price")
                for key in ("price", "discount"):
                    problem = amount_problem(row[key]) if key in row else None
                    if problem:
                        raise ValueError(f"rows[{i}].{key} {problem}")
                # A number within bounds: a count of 1e300 or a string would reach the amounts' arithmetic.
                count, tax = row.get("count", 1), row.get("tax", 0)
                if not _is_number(count) or not 0 < count <= MAX_ROW_COUNT:
                    raise ValueError(f"rows[{i}].count must be a number above 0, at most {MAX_ROW_COUNT}")
                if not _is_number(tax) or not 0 <= tax <= 100:
                    raise ValueError(f"rows[{i}].tax must be a percentage from 0 to 100")
        rate = self.shipping_tax_percentage
        if rate is not None and (not _is_number(rate) or not 0 <= rate <= 100):
            raise ValueError(f"order option shipping_tax_percentage must be a percentage from 0 to 100, got {rate!r}")
        if self.create_date is not None:
            parse_instant(self.create_date)
        if self.customer is not None and not isinstance(self.customer, dict):
            raise ValueError("order option customer must be an object of customer fields")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- the generator ---------------------------------------------------------------------------------------


@dataclass
class Draft:
    """An order as the shop stores it, before it has an id: the order fields and its rows."""

    order: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0
    vat_registered: bool = True  # False: customer.btw passes its check digits but VIES does not know it


def generate(options: OrderOptions, seed: int, now: datetime) -> Draft:
    """One order, deterministic for (options, seed, now)."""
    rng = random.Random(seed)
    kind = _kind(options, rng)
    country = kind["country"]
    fake = faker(LOCALES[country])
    fake.seed_instance(rng.getrandbits(64))
    b2b, icp, international = kind["b2b"], kind["icp"], kind["international"]
    margin = bool(options.margin) if options.margin is not None else (not b2b and not icp and not international
                                                                        and country == "NL" and rng.random() < 0.04)
    platform = bool(options.platform_sale)
    zero_rated = icp or international or platform
    vat_included = options.vat_included if options.vat_included is not None else not b2b
    taxes_included = options.taxes_included if options.taxes_included is not None else True
    if not taxes_included and vat_included:
        raise ValueError("taxes_included false hides the VAT: the prices must then be excl. VAT (vat_included false)")

    customer = merged(customer_of(fake, rng, country, b2b, options), options.customer or {})
    rows = _rows(options, rng, country, vat_included, zero_rated, margin)
    costs = _costs(options, rng, country, vat_included, zero_rated, rows)
    paymethod = PAYMETHODS_BY_ID[options.paymethod_id] if options.paymethod_id is not None else \
        _paymethod(rng, country, b2b)
    if options.payment_costs is None and paymethod.extra_costs_fixed:
        costs["paymethod_costs"] = paymethod.extra_costs_fixed if vat_included else \
            cents(paymethod.extra_costs_fixed / Decimal("1.21"))
    paid = options.paid if options.paid is not None else rng.random() < 0.7
    status = options.status or (rng.choice([1, 2, 5, 6, 7]) if paid else rng.choice([1, 4]))
    transaction_id = options.transaction_id
    if transaction_id is None and paid and paymethod.psp_transactions:
        transaction_id = "tr_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(10))
    created = parse_instant(options.create_date) if options.create_date else now - timedelta(
        minutes=rng.randint(0, 60 * 24 * 14))
    coupon_code = "".join(rng.choice(string.ascii_uppercase) for _ in range(6)) if costs["total_discounts"] else ""
    user_id = str(rng.randint(24_000_000, 25_000_000)) if costs["credit_point_discount"] else None
    extra_description = options.extra_costs_description
    if extra_description is None:
        extra_description = ("" if not costs["extra_costs"] else
                             ("Korting vaste klant" if costs["extra_costs"] < 0 else "Toeslag kleine bestelling"))
    order = {
        "ordernumber_prefix": None, "create_date": stamp(created),
        "deliver_method": "shipping", "deliver_date": None, "take_out_window": {"start": None, "end": None},
        "is_platform_sale": platform, "orderedinlng": LANGUAGES.get(country, "en"),
        "status": status, "is_completed": True, "paid": paid, "safety_deposit_returned": False,
        "transaction_id": transaction_id,
        "paymethod_id": paymethod.id, "paymethod": paymethod.combined_name, "paymethod_label": paymethod.label,
        "taxes_included": taxes_included, "order_row_taxes_included": vat_included,
        "shipping_taxes_included": costs.pop("shipping_taxes_included"),
        "shipping_tax_percentage": costs.pop("shipping_tax_percentage"),
        "is_intra_community_order": icp, "currency": "EUR",
        "total_weight": sum((dec(r["weight"]) * dec(r["count"]) for r in rows), ZERO),
        "extra_payment_option": "Verzekerd verzenden" if costs["extra_payment_option_price"] else "",
        "extra_payment_option_no_sentprice": False, "extra_payment_option_pay_on_pickup": False,
        "extra_costs_description": extra_description,
        "track_and_trace_code": "", "track_and_trace_carrier": None, "track_and_trace_deeplink": "",
        "reservationnumber": "", "delivery_option": None,
        "user": {"id": user_id, "discount_percentage": 0},
        "discountcoupon": {"code": coupon_code, "discount": costs["total_discounts"],
                           "type": "price" if coupon_code else "", "enddate": None, "onetimeuse": False,
                           "minimumprice": 0, "givesfreeshipping": False},
        "customer": customer, "pickup_address": None,
        **costs,
    }
    order.update(totals.compute(order, rows))
    for key in ("total_price_inc_tax", "total_price_exc_tax"):
        order.pop(key)
    if options.inconsistent_total:
        order["total_price"] = cents(order["total_price"] + dec(options.inconsistent_total))
    return Draft(_to_wire(order), [_to_wire(r) for r in rows], seed, options.vat_registered is not False)


def _kind(options: OrderOptions, rng: random.Random) -> dict:
    """Who buys and where it goes: NL consumer, NL business, EU consumer, EU business (ICP), export."""
    country, b2b, icp, international = options.country, options.b2b, options.icp, options.international
    if icp is None and international is None and country is None and b2b is None:
        roll = rng.random()
        if roll < 0.55:
            country, b2b = "NL", False
        elif roll < 0.70:
            country, b2b = "NL", True
        elif roll < 0.82:
            country, b2b = rng.choice(EU_ABROAD), False
        elif roll < 0.92:
            icp = True
        else:
            international = True
    if icp:
        country = country or rng.choice(EU_ABROAD)
        b2b = True if b2b is None else b2b
    elif international or (country is not None and not is_eu(country)):
        international = True
        country = country or rng.choice(NON_EU)
    else:
        country = country or "NL"
        if b2b is None:
            b2b = rng.random() < 0.25
        if icp is None:
            icp = False
    return {"country": country, "b2b": bool(b2b), "icp": bool(icp), "international": bool(international)}


def _rows(options: OrderOptions, rng: random.Random, country: str, vat_included: bool, zero_rated: bool,
          margin: bool) -> list[dict]:
    country_rates = rates(country) if country in RATES else None
    if isinstance(options.rows, list):
        return [_explicit_row(i, row, rng, country_rates, zero_rated or margin)
                for i, row in enumerate(options.rows)]
    count = options.rows or rng.choices([1, 2, 3, 4, 5], weights=[40, 30, 15, 10, 5])[0]
    pool = MARGIN_PRODUCTS if margin else PRODUCTS
    chosen = [rng.choice(pool) for _ in range(count)]
    if options.reduced_rate and not margin and not any(p.reduced for p in chosen):
        chosen[0] = rng.choice([p for p in PRODUCTS if p.reduced])
    rows = []
    for product in chosen:
        rate = ZERO if zero_rated or margin else _rate(product, country_rates)
        unit = product.price if vat_included else cents(product.price / Decimal("1.21"))
        discount = ZERO
        if options.row_discount or (options.row_discount is None and rng.random() < 0.15):
            discount = cents(unit * Decimal(rng.choice([5, 10, 15, 20])) / 100)
        rows.append(_row(product.name, product.number, "", product.id, rng.choice([1, 1, 1, 2, 3]), unit, discount,
                         rate, product.weight, product.package, "Marge" if margin else ""))
    return rows


def _rate(product: Product, country_rates) -> Decimal:
    if country_rates is None:
        return ZERO
    if product.reduced and country_rates.reduced is not None:
        return country_rates.reduced
    return country_rates.standard


def _explicit_row(index: int, spec: dict, rng: random.Random, country_rates, zero_rated: bool) -> dict:
    default_rate = ZERO if zero_rated or country_rates is None else country_rates.standard
    return _row(spec.get("product_name", f"Artikel {index + 1}"), spec.get("product_number", f"ART-{index + 1:03d}"),
                spec.get("sub_product_number", ""), 845754000 + index, spec.get("count", 1), dec(spec["price"]),
                dec(spec.get("discount", 0)), dec(spec["tax"]) if "tax" in spec else default_rate, Decimal("0.5"),
                "Kartonnen doos", "")


def _row(name: str, number: str, sub_number: str, product_id: int, count: Any, unit: Decimal, discount: Decimal,
         rate: Decimal, weight: Decimal, package: str, memo: str) -> dict:
    row = {"product_type": "product", "product_name": name, "product_name_google": name.replace(" ", "-"),
           "product_number": number, "sub_product_number": sub_number, "sub_sku_number": "", "sub_ean_number": "",
           "product_id": product_id, "count": count, "price": cents(unit), "product_purchase_price": 0,
           "discount": cents(discount), "custom_price": False, "tax": rate, "unit": "stuk", "weight": weight,
           "memo": memo, "package_id": 1664901, "package_name": package, "stock_location": "", "supplier": "",
           "user_discount": 0, "total_extra_option_price": 0, "attributes": [], "uploads": []}
    row.update(totals.row_amounts(unit, discount, count))
    return row


def _costs(options: OrderOptions, rng: random.Random, country: str, vat_included: bool, zero_rated: bool,
           rows: list[dict]) -> dict:
    def pick(value: Any, chance: float, choices: list[str]) -> Decimal:
        if value is not None:
            return cents(value)
        return cents(rng.choice(choices)) if rng.random() < chance else ZERO

    subtotal = sum((r["total_price"] for r in rows), ZERO)
    if options.shipping is not None:
        shipping = cents(options.shipping)
    elif country == "NL":
        shipping = ZERO if subtotal >= 50 else cents(rng.choice(["4.95", "6.95"]))
    elif is_eu(country):
        shipping = cents(rng.choice(["9.95", "12.50", "14.95"]))
    else:
        shipping = cents(rng.choice(["19.95", "24.95", "29.95"]))
    if not vat_included:
        shipping = cents(shipping / Decimal("1.21")) if options.shipping is None else shipping
    standard = rates(country).standard if country in RATES else ZERO
    shipping_rate = dec(options.shipping_tax_percentage) if options.shipping_tax_percentage is not None else \
        (ZERO if zero_rated else standard)
    extra_costs = pick(options.extra_costs, 0.1, ["2.50", "-5.00", "1.95", "-2.50"])
    credit_points = pick(options.credit_points, 0.05, ["1.00", "2.50", "5.00"])
    coupon = pick(options.coupon, 0.08, ["5.00", "7.50", "10.00"])
    # Generated reductions never take an order below a euro (given ones are the caller's business).
    if subtotal + shipping + min(extra_costs, ZERO) - credit_points - coupon < 1:
        extra_costs = extra_costs if options.extra_costs is not None or extra_costs > 0 else ZERO
        credit_points = credit_points if options.credit_points is not None else ZERO
        coupon = coupon if options.coupon is not None else ZERO
    return {
        "total_shipping": shipping,
        "shipping_taxes_included": True if options.shipping_taxes_included is None else options.shipping_taxes_included,
        "shipping_tax_percentage": shipping_rate,
        "paymethod_costs": pick(options.payment_costs, 0.0, ["0"]),
        "extra_payment_option_price": pick(options.payment_option, 0.1, ["2.50", "3.95"]),
        "extra_costs": extra_costs,
        "credit_point_discount": credit_points,
        "total_discounts": coupon,
    }


def _paymethod(rng: random.Random, country: str, b2b: bool):
    if b2b:
        return rng.choice([p for p in PAYMETHODS if p.id in (3, 6, 11)])
    if country == "BE":
        return rng.choice([p for p in PAYMETHODS if p.id in (14, 12, 3)])
    weights = {3: 10, 11: 55 if country == "NL" else 5, 12: 15, 13: 12, 14: 0, 5: 3 if country == "NL" else 0, 6: 0}
    methods = [p for p in PAYMETHODS if weights[p.id]]
    return rng.choices(methods, weights=[weights[p.id] for p in methods])[0]


def _to_wire(data: Any) -> Any:
    """Decimals to JSON numbers (590, 102.4), recursively; everything else as it is."""
    if isinstance(data, Decimal):
        return wire(data)
    if isinstance(data, dict):
        return {k: _to_wire(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_to_wire(v) for v in data]
    return data
