"""Typed views of CCV Shop resources: the fields a koppeling uses, amounts as exact ``Decimal``.

Each view keeps the full JSON in ``raw``. Field meanings: the official schema; the conventions of the
koppeling (seed 003): a row's VAT % is ``tax`` (multiplied by 100 when below 1), its code is
``sub_product_number`` or else ``product_number``, its discount ``(price_without_discount - selling_price) *
count``; an invoice's order is the id at the end of its ``order`` URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping


def amount(value: Any) -> Decimal:
    """A JSON number as an exact decimal (0.1 stays 0.1); None becomes 0."""
    if value is None:
        return Decimal("0")
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def instant(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def id_from_url(url: str | None) -> int | None:
    """``.../orders/339323562`` or ``.../orders/339323562/`` -> 339323562."""
    if not url:
        return None
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class Address:
    first_name: str
    last_name: str
    full_name: str
    company: str
    street: str
    housenumber: int | None
    housenumber_suffix: str
    address_line_1: str
    address_line_2: str
    zipcode: str
    city: str
    country: str
    country_code: str | None
    telephone: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "Address":
        data = data or {}
        return cls(*(data.get(name) or ("" if name not in ("housenumber", "country_code") else None)
                     for name in cls.__dataclass_fields__))

    @property
    def is_empty(self) -> bool:
        return not (self.street or self.address_line_1 or self.city or self.country_code)


@dataclass(frozen=True)
class Customer:
    email: str
    customertype: str
    vat_number: str  # ``btw`` in the API
    kvk: str
    billing: Address
    delivery: Address

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "Customer":
        data = data or {}
        return cls(data.get("email") or "", data.get("customertype") or "", data.get("btw") or "",
                   data.get("kvk") or "", Address.from_json(data.get("billingaddress")),
                   Address.from_json(data.get("deliveryaddress")))

    @property
    def delivery_country(self) -> str | None:
        """The delivery address's country, or the billing address's when no delivery address is given."""
        return (self.billing if self.delivery.is_empty else self.delivery).country_code


@dataclass(frozen=True)
class Order:
    id: int
    ordernumber: int | None
    ordernumber_full: str | None
    invoicenumber: int | None
    create_date: datetime | None
    status: int | None
    paid: bool
    transaction_id: str | None
    paymethod_id: int | None
    paymethod: str
    currency: str
    taxes_included: bool
    order_row_taxes_included: bool
    shipping_taxes_included: bool
    shipping_tax_percentage: Decimal
    is_intra_community_order: bool
    is_platform_sale: bool
    total_orderrow_price: Decimal
    total_shipping: Decimal
    total_discounts: Decimal
    total_price: Decimal
    total_tax: Decimal
    paymethod_costs: Decimal
    extra_payment_option_price: Decimal
    credit_point_discount: Decimal
    extra_costs: Decimal
    extra_costs_description: str
    customer: Customer
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Order":
        return cls(
            id=int(data["id"]), ordernumber=data.get("ordernumber"), ordernumber_full=data.get("ordernumber_full"),
            invoicenumber=data.get("invoicenumber"), create_date=instant(data.get("create_date")),
            status=data.get("status"), paid=bool(data.get("paid")), transaction_id=data.get("transaction_id"),
            paymethod_id=data.get("paymethod_id"), paymethod=data.get("paymethod") or "",
            currency=data.get("currency") or "EUR", taxes_included=bool(data.get("taxes_included")),
            order_row_taxes_included=bool(data.get("order_row_taxes_included")),
            shipping_taxes_included=bool(data.get("shipping_taxes_included")),
            shipping_tax_percentage=amount(data.get("shipping_tax_percentage")),
            is_intra_community_order=bool(data.get("is_intra_community_order")),
            is_platform_sale=bool(data.get("is_platform_sale")),
            total_orderrow_price=amount(data.get("total_orderrow_price")),
            total_shipping=amount(data.get("total_shipping")), total_discounts=amount(data.get("total_discounts")),
            total_price=amount(data.get("total_price")), total_tax=amount(data.get("total_tax")),
            paymethod_costs=amount(data.get("paymethod_costs")),
            extra_payment_option_price=amount(data.get("extra_payment_option_price")),
            credit_point_discount=amount(data.get("credit_point_discount")),
            extra_costs=amount(data.get("extra_costs")), extra_costs_description=data.get("extra_costs_description") or "",
            customer=Customer.from_json(data.get("customer")), raw=dict(data))


@dataclass(frozen=True)
class Row:
    """An order row or an invoice row (the same fields that matter)."""

    id: int
    product_name: str
    product_number: str
    sub_product_number: str
    count: Decimal
    price: Decimal
    discount: Decimal
    selling_price: Decimal
    price_without_discount: Decimal
    total_price: Decimal
    tax: Decimal
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Row":
        return cls(int(data["id"]), data.get("product_name") or "", data.get("product_number") or "",
                   data.get("sub_product_number") or "", amount(data.get("count")), amount(data.get("price")),
                   amount(data.get("discount")), amount(data.get("selling_price")),
                   amount(data.get("price_without_discount")), amount(data.get("total_price")),
                   amount(data.get("tax")), dict(data))

    @property
    def vat_percentage(self) -> Decimal:
        """``tax``, multiplied by 100 when it is below 1 (seed 003: some shops give 0.21 for 21 %)."""
        return self.tax * 100 if 0 < self.tax < 1 else self.tax

    @property
    def code(self) -> str:
        return self.sub_product_number or self.product_number

    @property
    def discount_total(self) -> Decimal:
        return (self.price_without_discount - self.selling_price) * self.count


@dataclass(frozen=True)
class Invoice:
    id: int
    invoicenumber: int | None
    invoicenumber_full: str
    ordernumber_full: str
    order_id: int | None
    create_date: datetime | None
    status: str
    type: str
    taxes_included: bool
    invoice_row_taxes_included: bool
    is_intra_community_order: bool
    total_price: Decimal
    total_tax: Decimal
    total_shipping: Decimal
    paymethod_costs: Decimal
    extra_costs: Decimal
    customer: Customer
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Invoice":
        return cls(int(data["id"]), data.get("invoicenumber"), data.get("invoicenumber_full") or "",
                   data.get("ordernumber_full") or "", id_from_url(data.get("order")),
                   instant(data.get("create_date")), data.get("status") or "", data.get("type") or "",
                   bool(data.get("taxes_included")), bool(data.get("invoice_row_taxes_included")),
                   bool(data.get("is_intra_community_order")), amount(data.get("total_price")),
                   amount(data.get("total_tax")), amount(data.get("total_shipping")),
                   amount(data.get("paymethod_costs")), amount(data.get("extra_costs")),
                   Customer.from_json(data.get("customer")), dict(data))

    @property
    def is_credit(self) -> bool:
        return self.type == "credit"
