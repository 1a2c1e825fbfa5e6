"""Payments: a memo booking of two lines per paid order (every invoice), then matched with the sale.

Seed 003: an order's payment is posted only when the order is paid, an invoice's always; only after the
order/invoice itself was posted; registered so it is never posted twice. The memo booking (journal MEMO):

Dated the payment date (the order's or invoice's ``create_date``, its day in the Netherlands), in the order's
currency.

* the payment line: dim1 the payment method's suspense account, debit, description
  ``{transaction_id} betaling`` - without a transaction id (a bank transfer has none) the number the sale is
  booked under, as the seed does for invoices ("[transaction_id] als die is ingevuld, anders
  [invoice_number]") -, invoicenumber the order number (its last 40 characters);
* the sales line: dim1 the debtors account, dim2 the customer, credit, description the order number (its
  first 40 characters), the same invoicenumber.

The sale is found first among the customer's open items: by amount and order number (invoice number); none
found - no memo booking, an error. Afterwards the sale's total line and the memo's sales line are matched
(afletteren). A credit invoice's refund swaps debit and credit.

Never twice: the payment is an intent (``posting``, with its request) before the memo is sent; a payment
left ``posting`` is looked up (journal MEMO, invoice number and description) before it is sent again, and a
payment left ``posted`` is matched only while the sale is still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Callable

from clients.ccvshop import CCVShopClient
from clients.twinfield import TwinfieldClient, TwinfieldError

from . import booking, ledger
from .config import KoppelingConfig
from .posting import MALFORMED, TRANSIENT
from .sale import shop_day
from .store import KoppelingStore

MEMO_LINE = "2"  # the memo's sales line (line 1 is the payment)
SALE_LINE = "1"  # the concept booking's total line


@dataclass
class Payments:
    config: KoppelingConfig
    store: KoppelingStore
    shop: CCVShopClient
    twinfield: TwinfieldClient
    now: Callable[[], str]
    crash: Callable[[str], None]

    def run(self) -> dict[str, int]:
        """One payment run over every posted order/invoice whose payment is not matched yet."""
        counts = {"posted": 0, "matched": 0, "errors": 0, "waiting": 0}
        if not self.config.payment_posting or self.config.mode != "concept":
            return counts
        for item in self.store.items("posted"):
            payment = self.store.payment(item["kind"], item["source_id"])
            if payment and payment["state"] in ("matched", "error"):
                continue
            try:
                outcome = self.one(item, payment)
            except (*TRANSIENT, TwinfieldError):
                # The shop or Twinfield could not be reached, or refused a look-up: nothing known changed, the
                # next run goes on from the stored state (a payment left 'posting' is looked up first).
                outcome = "waiting"
            except MALFORMED as exc:
                outcome = self._error(item, f"the shop's payment could not be read ({type(exc).__name__}: {exc})",
                                      Decimal(item["total"] or "0"))
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def one(self, item: dict, payment: dict | None) -> str:
        kind, source_id = item["kind"], item["source_id"]
        state = payment["state"] if payment else None
        if state is None:
            amount, transaction_id, paid, day, currency = self._from_shop(item)
            if kind == "order" and not paid:
                return "waiting"
            target = self.config.paymethod(item["paymethod_id"]).suspense
            if not target:
                return self._error(item, f"payment method {item['paymethod_id']} has no suspense account configured",
                                   amount)
            sale = self._open_sale(item, amount)
            if sale is None:
                return self._error(item, f"no open sale {item['invoicenumber']} of {amount:.2f} for customer "
                                         f"{item['customer']} in Twinfield: no memo booking", amount)
            request = self._memo_xml(item, amount, transaction_id, target, day, currency)
            if not self.store.payment_intent(kind, source_id, self.now(), state="posting", amount=f"{amount:.2f}",
                                             detail={"request": request, "sale": sale,
                                                     "description": _description(transaction_id)}):
                return "waiting"  # another process registered this payment first: it is theirs
            self.crash("after_payment_intent")
            payment = self.store.payment(kind, source_id)
            state = "posting"
        if state == "posting":
            if not self._post_memo(item, payment):
                return "errors"
            payment = self.store.payment(kind, source_id)
            state = "posted"
        return self._match(item, payment)

    # -- the steps -------------------------------------------------------------------------------------------------

    def _from_shop(self, item: dict) -> tuple[Decimal, str, bool, str, str]:
        """Amount, transaction id, paid status, payment date (yyyymmdd) and currency, read fresh from the shop.
        Seed 003's payment fields: "Betaaldatum [create_date]", "Amount [total_price]" - of the order (invoice)
        the payment belongs to."""
        if item["kind"] == "order":
            order = self.shop.order(item["source_id"])
            # Without a transaction id the memo says "{number} betaling", not " betaling": the seed's rule for
            # invoices, with the number this order is booked under.
            transaction = order.transaction_id or item["invoicenumber"] or item["number"]
            return order.total_price, transaction, order.paid, _day(order.create_date), order.currency or "EUR"
        invoice = self.shop.invoice(item["source_id"])
        order = self.shop.order(invoice.order_id) if invoice.order_id else None
        # Seed 003: the transaction id when there is one, else the invoice number.
        transaction = (order.transaction_id if order else "") or invoice.invoicenumber_full
        return invoice.total_price, transaction, True, _day(invoice.create_date), \
            invoice.raw.get("currency") or (order.currency if order else "") or "EUR"

    def _open_sale(self, item: dict, amount: Decimal) -> dict | None:
        items = self.twinfield.open_items(customer=item["customer"],
                                          invoicenumber=booking.invoice_ref(item["invoicenumber"] or ""),
                                          office=self.config.office)
        for open_item in items:
            if open_item["code"] == "VRK" and open_item["number"] == item["tw_number"] and \
                    Decimal(open_item["open"] or "0") == amount:
                return open_item
        return None

    def _memo_xml(self, item: dict, amount: Decimal, transaction_id: str, suspense: str, day: str,
                  currency: str) -> str:
        number = item["invoicenumber"] or ""  # stored in full: cut here, each field its own way
        pay_side, sale_side = ("debit", "credit") if amount >= 0 else ("credit", "debit")
        value = f"{abs(amount):.2f}"
        lines = [{"type": "detail", "dim1": suspense, "debitcredit": pay_side, "value": value,
                  "description": _description(transaction_id), "invoicenumber": booking.invoice_ref(number)},
                 {"type": "detail", "dim1": self.config.debtors_account, "dim2": item["customer"],
                  "debitcredit": sale_side, "value": value, "description": booking.description_ref(number),
                  "invoicenumber": booking.invoice_ref(number)}]
        # Dated the payment date (seed 003: "Betaaldatum [create_date]"); [CHOSEN] the run's day when the shop
        # gives none. The currency is the order's.
        return booking.transaction_xml(self.config.office, day or self.now()[:10].replace("-", ""), None, currency,
                                       lines, journal="MEMO")

    def _post_memo(self, item: dict, payment: dict) -> bool:
        kind, source_id = item["kind"], item["source_id"]
        description = payment["detail"]["description"]
        reference = booking.invoice_ref(item["invoicenumber"] or "")
        number = ledger.find_booking(self.twinfield, self.config.office, "MEMO", reference, description)
        if not number:
            try:
                root = self.twinfield.send(payment["detail"]["request"], self.config.office)
            except TwinfieldError as exc:
                self.store.set_payment(kind, source_id, self.now(), state="error",
                                       reason=f"Twinfield refused the memo booking: {exc}",
                                       detail={**payment["detail"], "messages": [str(m) for m in exc.messages]})
                return False
            except TRANSIENT:
                number = ledger.find_booking(self.twinfield, self.config.office, "MEMO", reference, description)
                if not number:
                    raise  # stays 'posting': the next run looks again, then sends
            else:
                self.crash("after_memo_sent")
                number = root.findtext("header/number") or ""
        self.store.set_payment(kind, source_id, self.now(), state="posted", memo_number=number)
        return True

    def _match(self, item: dict, payment: dict) -> str:
        kind, source_id = item["kind"], item["source_id"]
        sale = payment["detail"]["sale"]
        still_open = {(i["code"], i["number"]) for i in self.twinfield.open_items(
            customer=item["customer"], invoicenumber=booking.invoice_ref(item["invoicenumber"] or ""),
            office=self.config.office)}
        if ("MEMO", payment["memo_number"]) in still_open and ("VRK", sale["number"]) in still_open:
            try:
                self.twinfield.match([("VRK", sale["number"], sale["line"] or SALE_LINE),
                                      ("MEMO", payment["memo_number"], MEMO_LINE)], office=self.config.office)
            except TwinfieldError as exc:
                self.store.set_payment(kind, source_id, self.now(), state="error",
                                       reason=f"the memo booking is posted, matching failed: {exc}")
                return "errors"
            self.crash("after_match")
        self.store.set_payment(kind, source_id, self.now(), state="matched")
        return "matched"

    def _error(self, item: dict, reason: str, amount: Decimal) -> str:
        self.store.set_payment(item["kind"], item["source_id"], self.now(), state="error", reason=reason,
                               amount=f"{amount:.2f}")
        return "errors"


def _day(moment: datetime | None) -> str:
    day = shop_day(moment)
    return f"{day:%Y%m%d}" if day else ""


def _description(transaction_id: str) -> str:
    return f"{transaction_id} betaling"[:booking.MAX_NUMBER]
