"""Posting one shop order or invoice: the four checks, the customer, the booking - never twice.

``Poster.post(item)`` reads the order (or invoice) fresh from the shop, runs seed 003's checks in its order
(total, ICP VAT number with VIES, VAT codes, not posted before), finds or creates the customer, records the
exact request as an intent, and only then sends it. What Twinfield answers decides the item's state:
``posted`` with the booking (or invoice) number, or ``error`` with the check or Twinfield's messages.

When the answer never came (a timeout, a dropped connection, a kill) the item stays ``posting``; ``settle``
looks the booking up in Twinfield - found: it is ours, ``posted``; not found: posted again.

[CHOSEN] VIES unavailable is not the order's fault: the order goes on the Errors list with ``retry`` set and
every next run checks it again on its own; an invalid number (or INVALID_INPUT) is a rejection that waits for
*process again*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from clients.ccvshop import CCVShopClient, CCVShopError
from clients.twinfield import TwinfieldClient, TwinfieldError, TwinfieldFault, TwinfieldUnavailable

from . import booking, ledger
from .booking import CheckFailed
from .config import KoppelingConfig
from .customers import Customers
from .sale import Sale, sale_from_invoice, sale_from_order
from .store import KoppelingStore
from .vies import ViesClient, ViesUnavailable

DUPLICATE = "komt reeds voor"  # Twinfield: "Factuurnummer 5869 komt reeds voor."


@dataclass
class Poster:
    config: KoppelingConfig
    store: KoppelingStore
    shop: CCVShopClient
    twinfield: TwinfieldClient
    vies: ViesClient
    customers: Customers
    now: Callable[[], str]
    crash: Callable[[str], None]

    # -- reading the shop --------------------------------------------------------------------------------------

    def sale(self, kind: str, source_id: int) -> Sale:
        if kind == "order":
            order = self.shop.order(source_id)
            rates = self.config.rates(order.customer.delivery_country)
            return sale_from_order(order, self.shop.order_rows(source_id), rates[0] if rates else booking.ZERO)
        invoice = self.shop.invoice(source_id)
        order = self.shop.order(invoice.order_id) if invoice.order_id else None
        return sale_from_invoice(invoice, self.shop.invoice_rows(source_id), order)

    def invoicenumber(self, sale: Sale) -> str:
        # Seed 003: the order number, or on request the invoice number (an invoice's own number as source).
        chosen = sale.invoice_number if self.config.invoicenumber == "invoice" else sale.order_number
        return (chosen or sale.number)[-booking.MAX_NUMBER:]

    # -- one item ------------------------------------------------------------------------------------------------

    def post(self, item: dict) -> None:
        kind, source_id = item["kind"], item["source_id"]
        try:
            sale = self.sale(kind, source_id)
        except CCVShopError as exc:
            self._error(item, "shop", f"the shop did not give the {kind}: {exc}", retry=True)
            return
        invoicenumber = self.invoicenumber(sale)
        summary = _summary(sale, invoicenumber)
        self.store.set_item(kind, source_id, self.now(), invoicenumber=invoicenumber, email=sale.customer.email,
                            total=f"{sale.total:.2f}", paid=int(sale.paid), paymethod_id=sale.paymethod_id,
                            transaction_id=sale.transaction_id, order_id=sale.order_id,
                            detail={"sale": summary})
        try:
            self._checks(item, sale, invoicenumber)
            debtor = self._debtor(sale)
            request = self._request(sale, debtor, invoicenumber)
        except CheckFailed as failed:
            self._error(item, failed.check, failed.reason, retry=failed.retry, sale=summary)
            return
        except TwinfieldError as exc:
            self._error(item, "customer", f"Twinfield refused the customer: {exc}", sale=summary,
                        messages=[str(m) for m in exc.messages])
            return
        except (TwinfieldUnavailable, TwinfieldFault) as exc:
            self._error(item, "twinfield", f"Twinfield could not be reached: {exc}", retry=True, sale=summary)
            return
        self.store.set_item(kind, source_id, self.now(), state="posting", customer=debtor, check_name=None,
                            reason=None, retry=0, tw_kind=self._tw_kind(), attempts=item.get("attempts", 0) + 1,
                            detail={"sale": summary, "request": request})
        self.crash("after_intent")
        self._send(item, sale, request, debtor, invoicenumber, summary)

    def _checks(self, item: dict, sale: Sale, invoicenumber: str) -> None:
        booking.check_total(sale)
        if sale.icp:
            self._check_vat_number(sale)
        booking.price(sale, self.config)  # check 3 (VAT codes), and a rounding difference over 5 cents
        if self.config.mode == "concept" and item["state"] != "posting":
            found = ledger.find_booking(self.twinfield, self.config.office, "VRK", invoicenumber)
            if found:
                raise CheckFailed("posted", f"already posted: Twinfield has VRK {found} with invoice number "
                                            f"{invoicenumber}")

    def _check_vat_number(self, sale: Sale) -> None:
        number = sale.customer.vat_number.strip()
        if not number:
            raise CheckFailed("vies", "an ICP order without a VAT number")
        try:
            answer = self.vies.check(number)
        except ViesUnavailable as exc:
            raise CheckFailed("vies", f"VIES could not check {number} now ({exc}); checked again at the next run",
                              retry=True) from None
        if not answer.valid:
            why = "is not a VAT number of its country (INVALID_INPUT)" if answer.fault else "is not valid"
            raise CheckFailed("vies", f"VIES: VAT number {answer.number} {why}")

    def _debtor(self, sale: Sale) -> str:
        fixed = None if self.config.payment_posting else self.config.paymethod(sale.paymethod_id).debtor
        return fixed or self.customers.code_for(sale.customer)

    def _tw_kind(self) -> str:
        return "transaction" if self.config.mode == "concept" else "invoice"

    def _request(self, sale: Sale, debtor: str, invoicenumber: str) -> str:
        if self.config.mode == "invoice":
            return booking.invoice_xml(sale, self.config, debtor)
        lines = booking.booking_lines(sale, self.config, debtor, invoicenumber)
        return booking.transaction_xml(self.config.office, f"{sale.day:%Y%m%d}", invoicenumber, sale.currency, lines)

    def _send(self, item: dict, sale: Sale, request: str, debtor: str, invoicenumber: str, summary: dict) -> None:
        kind, source_id = item["kind"], item["source_id"]
        try:
            root = self.twinfield.send(request, self.config.office)
        except TwinfieldError as exc:
            texts = [str(m) for m in exc.messages]
            if any(DUPLICATE in m.msg for m in exc.messages) and self._settle_one(kind, source_id, invoicenumber,
                                                                                  sale, debtor):
                return
            self._error(item, "twinfield", f"Twinfield refused the {self._tw_kind()}: {exc}", sale=summary,
                        request=request, messages=texts)
            return
        except (TwinfieldUnavailable, TwinfieldFault) as exc:
            # No answer: it may be booked. Look now; when that fails too, the next run looks again.
            try:
                if self._settle_one(kind, source_id, invoicenumber, sale, debtor):
                    return
            except (TwinfieldUnavailable, TwinfieldFault):
                return  # stays 'posting'
            self._error(item, "twinfield", f"Twinfield did not answer ({exc}) and did not book it; posted again "
                                           f"at the next run", retry=True, sale=summary, request=request)
            return
        self.crash("after_booking_sent")
        number = root.findtext("header/number") if self.config.mode == "concept" else \
            root.findtext("header/invoicenumber")
        self._posted(kind, source_id, number or "")

    # -- settling what a kill or a timeout left open --------------------------------------------------------------

    def settle(self, item: dict) -> bool:
        """An item left ``posting``: True when Twinfield has it (it is then ``posted``)."""
        sale = None
        if self.config.mode == "invoice":
            sale = self.sale(item["kind"], item["source_id"])
        return self._settle_one(item["kind"], item["source_id"], item["invoicenumber"] or "", sale,
                                item["customer"] or "")

    def _settle_one(self, kind: str, source_id: int, invoicenumber: str, sale: Sale | None, debtor: str) -> bool:
        if self.config.mode == "concept":
            number = ledger.find_booking(self.twinfield, self.config.office, "VRK", invoicenumber)
        else:
            after = int(self.store.meta("last_invoice") or 0)
            number = ledger.find_invoice(self.twinfield, self.config.office,
                                         booking.headertext(sale, self.config), debtor, after) if sale else None
        if number:
            self._posted(kind, source_id, number)
        return bool(number)

    def _posted(self, kind: str, source_id: int, number: str) -> None:
        self.store.set_item(kind, source_id, self.now(), state="posted", tw_number=number, check_name=None,
                            reason=None, retry=0)
        if self.config.mode == "invoice" and number.isdigit():
            last = int(self.store.meta("last_invoice") or 0)
            self.store.set_meta("last_invoice", str(max(last, int(number))))

    def _error(self, item: dict, check: str, reason: str, retry: bool = False, **detail: Any) -> None:
        self.store.set_item(item["kind"], item["source_id"], self.now(), state="error", check_name=check,
                            reason=reason, retry=int(retry), detail=detail)


def _summary(sale: Sale, invoicenumber: str) -> dict:
    return {"number": sale.number, "invoicenumber": invoicenumber, "total": f"{sale.total:.2f}",
            "country": sale.country, "icp": sale.icp, "international": sale.international, "credit": sale.credit,
            "email": sale.customer.email, "vat_number": sale.customer.vat_number,
            "lines": [{"kind": ln.kind, "description": ln.description, "amount": f"{ln.amount:.2f}",
                       "rate": str(ln.rate)} for ln in sale.lines]}
