"""What the generated shop sells and how its customers pay: products and payment methods.

All [CHOSEN]: a small Dutch webshop assortment (general goods at the standard rate, books and food at a
reduced rate) and payment methods shaped like the ``paymethods`` resource (id, psp, method, combined_name,
label, extra_costs*); ``BankTransfer`` / "Vooraf overmaken" with id 3 is the real sample order's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    id: int
    number: str
    name: str
    price: Decimal  # consumer price incl. Dutch VAT
    reduced: bool  # sold at the reduced rate (food, books)
    weight: Decimal
    package: str = "Kartonnen doos"


PRODUCTS: tuple[Product, ...] = (
    Product(845754960, "TEL-OP-BL", "OnePlus Blauw", Decimal("595.00"), False, Decimal("0.3")),
    Product(845754961, "KOF-BON-1K", "Koffiebonen Espresso 1 kg", Decimal("18.95"), True, Decimal("1.0")),
    Product(845754962, "BK-KOOK-IT", "Kookboek De Italiaanse Keuken", Decimal("34.99"), True, Decimal("1.2")),
    Product(845754963, "HT-BAMB-S", "Bamboe snijplank set", Decimal("24.50"), False, Decimal("1.5")),
    Product(845754964, "TX-PLAID-G", "Wollen plaid grijs", Decimal("69.00"), False, Decimal("1.1")),
    Product(845754965, "TH-EARL-100", "Earl Grey thee 100 zakjes", Decimal("6.49"), True, Decimal("0.2")),
    Product(845754966, "EL-KAB-USBC", "USB-C kabel 2 m", Decimal("12.99"), False, Decimal("0.1")),
    Product(845754967, "SP-YOGA-MAT", "Yogamat kurk", Decimal("49.95"), False, Decimal("2.0")),
    Product(845754968, "BK-ATLAS-NL", "Bosatlas van Nederland", Decimal("49.99"), True, Decimal("2.4")),
    Product(845754969, "CH-CHOC-PUR", "Pure chocolade 72% 6 repen", Decimal("14.70"), True, Decimal("0.6")),
    Product(845754970, "LG-WAND-LMP", "Wandlamp messing", Decimal("129.00"), False, Decimal("1.8")),
    Product(845754971, "KK-PAN-28", "Koekenpan 28 cm inductie", Decimal("44.95"), False, Decimal("1.4")),
)

# Second-hand goods a shop may sell under the margin scheme (no VAT shown on the row). [CHOSEN]
MARGIN_PRODUCTS: tuple[Product, ...] = (
    Product(845754990, "GB-FIETS-01", "Gebruikte stadsfiets", Decimal("245.00"), False, Decimal("18.0")),
    Product(845754991, "GB-CAMERA-02", "Gebruikte systeemcamera", Decimal("389.00"), False, Decimal("0.9")),
)


@dataclass(frozen=True)
class PayMethod:
    id: int
    psp: str
    method: str
    combined_name: str
    label: str
    extra_costs_fixed: Decimal = Decimal("0")
    extra_costs_percentage: Decimal = Decimal("0")
    psp_transactions: bool = True  # a PSP hands out transaction ids

    def as_resource(self) -> dict:
        from .money import wire

        return {"id": self.id, "psp": self.psp, "method": self.method, "combined_name": self.combined_name,
                "label": self.label, "extra_costs": bool(self.extra_costs_fixed or self.extra_costs_percentage),
                "extra_costs_fixed": wire(self.extra_costs_fixed),
                "extra_costs_percentage": wire(self.extra_costs_percentage),
                "apppsp": None, "apppsppaymethod": None}


PAYMETHODS: tuple[PayMethod, ...] = (
    PayMethod(3, "BankTransfer", "BankTransfer", "BankTransfer", "Vooraf overmaken", psp_transactions=False),
    PayMethod(11, "Mollie", "iDEAL", "Mollie iDEAL", "iDEAL"),
    PayMethod(12, "Mollie", "creditcard", "Mollie creditcard", "Creditcard"),
    PayMethod(13, "PayPal", "PayPal", "PayPal", "PayPal", extra_costs_fixed=Decimal("0.35")),
    PayMethod(14, "Mollie", "bancontact", "Mollie bancontact", "Bancontact"),
    PayMethod(5, "CashOnDelivery", "CashOnDelivery", "CashOnDelivery", "Rembours",
              extra_costs_fixed=Decimal("6.95"), psp_transactions=False),
    PayMethod(6, "Invoice", "Invoice", "Invoice", "Op rekening", psp_transactions=False),
)

PAYMETHODS_BY_ID = {p.id: p for p in PAYMETHODS}

# Order statuses of the schema ("1. New 2. In process ... 14. Reserved").
STATUSES = {1: "New", 2: "In process", 3: "Wait for manufacturer", 4: "Wait for payment", 5: "Sent",
            6: "Delivered", 7: "Completed", 8: "Cancelled", 9: "Wait for supplier", 10: "Is being packaged",
            11: "Ready to be collected", 12: "Is being assembled", 13: "Backorder", 14: "Reserved"}
