"""Stored data to the JSON the API answers with: keys in the real resource's order, links as full URLs.

The shop stores orders, rows and invoices without links; links depend on where the API is reached
(``base`` = ``http://127.0.0.1:8802`` or a configured public URL) and are added here. Link forms follow the
real sample (``order_339323562.json``): an order's own href and its child links end in "/", a row's
``parent``, ``product_href`` and a user's href do not; an invoice's ``order`` is a plain URL string.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from ..core.clock import format_instant

API = "/api/rest/v1"

ORDER_KEYS = (
    "href", "id", "ordernumber_prefix", "ordernumber", "ordernumber_full", "invoicenumber", "transaction_id",
    "create_date", "deliver_method", "deliver_date", "take_out_window", "is_platform_sale", "orderedinlng",
    "status", "is_completed", "paid", "safety_deposit_returned", "paymethod_id", "paymethod", "paymethod_label",
    "taxes_included", "order_row_taxes_included", "shipping_taxes_included", "shipping_tax_percentage",
    "is_intra_community_order", "total_orderrow_price", "total_shipping", "total_discounts", "total_price",
    "currency", "total_tax", "total_weight", "extra_payment_option", "extra_payment_option_price",
    "extra_payment_option_no_sentprice", "extra_payment_option_pay_on_pickup", "extra_price", "paymethod_costs",
    "credit_point_discount", "extra_costs", "extra_costs_description", "track_and_trace_code",
    "track_and_trace_carrier", "track_and_trace_deeplink", "reservationnumber", "delivery_option", "user",
    "discountcoupon", "customer", "pickup_address", "packing_slip_deeplink")
ORDER_CHILDREN = ("orderrows", "ordernotes", "ordermessages", "ordernotifications", "orderaffiliatenetworks",
                  "orderlabels", "invoices")

ROW_KEYS = (
    "href", "id", "order_id", "product_type", "product_name", "product_name_google", "product_number",
    "sub_product_number", "sub_sku_number", "sub_ean_number", "product_id", "product_href", "count", "price",
    "product_purchase_price", "discount", "custom_price", "tax", "unit", "weight", "memo", "package_id",
    "package_name", "stock_location", "supplier", "user_discount", "original_price", "selling_price",
    "price_without_discount", "price_without_discount_with_attributes", "total_price", "total_extra_option_price",
    "price_with_attributes", "total_price_with_attributes", "attributes", "uploads", "parent")

INVOICE_KEYS = (
    "href", "id", "invoicenumber_prefix", "invoicenumber", "invoicenumber_full", "ordernumber_prefix",
    "ordernumber", "ordernumber_full", "create_date", "status", "status_name", "type", "payment_link_sent",
    "taxes_included", "invoice_row_taxes_included", "is_intra_community_order", "shipping_taxes_included",
    "shipping_tax_percentage", "total_shipping", "total_discounts", "total_price_inc_tax", "total_price_exc_tax",
    "total_price", "total_tax", "currency", "extra_payment_option", "extra_payment_option_price",
    "paymethod_costs", "credit_point_discount", "extra_costs", "extra_costs_description", "external_reference",
    "deeplink", "user", "customer", "discountcoupon", "order", "invoicerows", "invoicenotifications",
    "download_link")

INVOICE_ROW_KEYS = (
    "href", "id", "invoice_id", "product_type", "product_name", "product_number", "sub_product_number",
    "sub_sku_number", "sub_ean_number", "product_id", "product_href", "count", "price", "product_purchase_price",
    "discount", "custom_price", "tax", "unit", "weight", "memo", "package_id", "package_name", "stock_location",
    "supplier", "user_discount", "original_price", "selling_price", "price_without_discount",
    "price_without_discount_with_attributes", "total_price", "total_extra_option_price", "price_with_attributes",
    "total_price_with_attributes", "attributes", "orderrow", "parent")

# [CHOSEN] statuses of an invoice as words (the schema: "1. paid. 2. unpaid. 3. reimbursed.", the filter
# takes "paid, unpaid, reimbursed") and the display names the Dutch backend would show.
INVOICE_STATUS_NAMES = {"paid": "Betaald", "unpaid": "Onbetaald", "reimbursed": "Terugbetaald"}


def api_time(moment: datetime) -> str:
    """A time as the API writes it: whole seconds, UTC, ``2022-11-17T14:40:41Z`` (the real samples)."""
    return format_instant(moment.replace(microsecond=0)).replace(".000Z", "Z")


def url(base: str, *parts: object, slash: bool = True) -> str:
    path = "/".join(str(p) for p in parts)
    return f"{base}{API}/{path}{'/' if slash else ''}"


def _ordered(data: Mapping[str, Any], keys: tuple[str, ...]) -> dict:
    return {key: data.get(key) for key in keys}


def order(data: Mapping[str, Any], base: str) -> dict:
    oid = data["id"]
    extra = {
        "href": url(base, "orders", oid),
        "packing_slip_deeplink": f"{base}/onderhoud/AdminItems/StandaloneObjects/PackingSlip.php?OrderId={oid}",
        "user": {**data["user"], "href": url(base, "users", data["user"]["id"], slash=False)
                 if data["user"].get("id") else None},
    }
    result = _ordered({**data, **extra}, ORDER_KEYS)
    for child in ORDER_CHILDREN:
        result[child] = {"href": url(base, "orders", oid, child)}
    return result


def order_row(data: Mapping[str, Any], base: str) -> dict:
    extra = {"href": url(base, "orderrows", data["id"]),
             "product_href": url(base, "products", data["product_id"], slash=False),
             "parent": {"href": url(base, "orders", data["order_id"], slash=False)}}
    return _ordered({**data, **extra}, ROW_KEYS)


def invoice(data: Mapping[str, Any], base: str) -> dict:
    iid = data["id"]
    deeplink = f"{base}/onderhoud/AdminItems/StandaloneObjects/Invoice.php?InvoiceId={iid}"
    extra = {"href": url(base, "invoices", iid), "order": url(base, "orders", data["order_id"], slash=False),
             "status_name": INVOICE_STATUS_NAMES.get(data["status"], data["status"]),
             "deeplink": deeplink, "download_link": deeplink,
             "user": {**data["user"], "href": url(base, "users", data["user"]["id"], slash=False)
                      if data["user"].get("id") else None},
             "invoicerows": {"href": url(base, "invoices", iid, "invoicerows")},
             "invoicenotifications": {"href": url(base, "invoices", iid, "invoicenotifications")}}
    return _ordered({**data, **extra}, INVOICE_KEYS)


def invoice_row(data: Mapping[str, Any], base: str) -> dict:
    extra = {"href": url(base, "invoicerows", data["id"]),
             "invoice_id": str(data["invoice_id"]),  # a string in the schema ("invoice_id string")
             "product_href": url(base, "products", data["product_id"], slash=False),
             "orderrow": {"href": url(base, "orderrows", data["orderrow_id"], slash=False)},
             "parent": {"href": url(base, "invoices", data["invoice_id"], slash=False)}}
    return _ordered({**data, **extra}, INVOICE_ROW_KEYS)


def webhook(data: Mapping[str, Any], base: str) -> dict:
    return {"href": url(base, "webhooks", data["id"]), "id": data["id"], "createdate": data["createdate"],
            "event": data["event"], "address": data["address"], "key": data["key"],
            "is_active": bool(data["is_active"]), "parent": None}


def app(data: Mapping[str, Any], base: str) -> dict:
    """[CHOSEN] the app resource: what an app's install step reads (its id) and sets (is_installed)."""
    return {"href": url(base, "apps", data["id"]), "id": data["id"], "name": data["name"],
            "is_installed": bool(data["is_installed"]), "date_installed": data.get("date_installed"),
            "appcodeblocks": {"href": url(base, "apps", data["id"], "appcodeblocks")}}
