"""Posting one shop order or invoice: the four checks, the customer, the booking - never twice.

``Poster.post(item)`` first *claims* the item (a compare-and-set to ``posting`` in the state file: of two
processes only one gets it), reads the order (or invoice) fresh from the shop, runs seed 003's checks in its
order (total, ICP VAT number with VIES, VAT codes - configured *and* present in Twinfield as a sales code
with the row's percentage -, not posted before), finds or creates the customer, records the exact request
as an intent, and only then sends it. What Twinfield answers decides the item's state: ``posted`` with the
booking (or invoice) number, or ``error`` with the check or Twinfield's messages.

When the answer never came (a timeout, a dropped connection, a 504, a kill) the item stays ``posting``:
Twinfield may still commit it late. The Errors tab shows it as *unknown, will look again*; every next run
looks the booking up first (``settle``) - found: it is ours, ``posted``; not found: posted again.

That memory is the item's ``sent_request``, written with the intent and kept whatever happens next - a shop,
VAT-code or VIES read that fails, a look-up that cannot reach Twinfield, a restart - until Twinfield itself
refuses a request (then nothing of it was booked). An item with a sent request is looked up at every run,
whatever its state, and check 4 takes a booking it finds for it as the koppeling's own, never as someone
else's.

With ``invoicenumber: invoice`` an order the shop has not invoiced yet waits on the Errors list (check
``invoicenumber``, ``retry``: looked at again every run): the seed books it under its invoice number, which
does not exist yet - nothing is wrong with the order, it is early.

[CHOSEN] VIES unavailable is not the order's fault: the order goes on the Errors list with ``retry`` set and
every next run checks it again on its own; an invalid number (or INVALID_INPUT) is a rejection that waits for
*process again*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

import requests

from clients.ccvshop import CCVShopClient, CCVShopError, Order, SignatureError
from clients.twinfield import OAuthError, TwinfieldClient, TwinfieldError, TwinfieldFault, TwinfieldUnavailable

from . import booking, ledger
from .booking import CheckFailed
from .config import KoppelingConfig
from .customers import Customers, debtor_vat_number
from .sale import Sale, sale_from_invoice, sale_from_order
from .store import KoppelingStore
from .vies import ViesClient, ViesUnavailable

DUPLICATE = "komt reeds voor"  # Twinfield: "Factuurnummer 5869 komt reeds voor."
UNKNOWN = "unknown"  # the check name of an item whose outcome Twinfield never told: looked at again
WWF = "WWF_"  # seed 003: fixed debtors are the Twinfield debtors with this in their name

# Nothing wrong with the order: the shop or Twinfield could not be reached (or refused the connection).
TRANSIENT = (CCVShopError, SignatureError, requests.RequestException, TwinfieldUnavailable, TwinfieldFault,
             OAuthError)
# The shop's data could not be read (a malformed amount, a missing field): this order only.
MALFORMED = (ValueError, TypeError, KeyError, InvalidOperation, ArithmeticError)


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
    # What Twinfield told this run: VAT codes and fixed debtors are read once per run (``begin_run``).
    _vat_codes: dict[str, dict | None] = field(default_factory=dict)
    _debtors: dict[str, str | None] = field(default_factory=dict)
    # Concept invoices by header text (invoice mode), read on from the last number seen by this process.
    _invoices: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _invoices_read: int = 0

    def begin_run(self) -> None:
        self._vat_codes.clear()
        self._debtors.clear()

    # -- reading the shop --------------------------------------------------------------------------------------

    def sale(self, kind: str, source_id: int) -> Sale:
        if kind == "order":
            order = self.shop.order(source_id)
            rates = self.config.rates(order.customer.delivery_country)
            return sale_from_order(order, self.shop.order_rows(source_id), rates[0] if rates else booking.ZERO,
                                   self._invoice_number(order))
        invoice = self.shop.invoice(source_id)
        order = self.shop.order(invoice.order_id) if invoice.order_id else None
        return sale_from_invoice(invoice, self.shop.invoice_rows(source_id), order)

    def _invoice_number(self, order: Order) -> str:
        """With ``invoicenumber: invoice``: the order's invoice number in full, as the shop shows it on the
        invoice (``invoicenumber_full``: with the shop's prefix, which the order's bare ``invoicenumber``
        lacks); empty while the order has none."""
        if self.config.invoicenumber != "invoice" or order.invoicenumber is None:
            return ""
        for invoice in self.shop.order_invoices(order.id):
            if invoice.invoicenumber == order.invoicenumber and not invoice.is_credit:
                return invoice.invoicenumber_full or str(invoice.invoicenumber)
        return ""

    def invoicenumber(self, sale: Sale) -> str:
        """The full number the booking carries (cut only where it is written: see ``booking.invoice_ref``)."""
        return booking.own_number(sale, self.config)

    # -- one item ------------------------------------------------------------------------------------------------

    def post(self, item: dict) -> None:
        kind, source_id = item["kind"], item["source_id"]
        sent_before = was_sent(item)
        if not self.store.claim_item(item, self.now()):
            return  # another process took it between our read and now: it is theirs
        try:
            sale = self.sale(kind, source_id)
        except TRANSIENT as exc:
            self._error(item, "shop", f"the shop did not give the {kind}: {exc}", retry=True)
            return
        except MALFORMED as exc:
            self._error(item, "shop", f"the shop's {kind} could not be read ({type(exc).__name__}: {exc}); "
                                      f"process it again when the shop has corrected it")
            return
        invoicenumber = self.invoicenumber(sale)
        summary = _summary(sale, invoicenumber)
        self.store.set_item(kind, source_id, self.now(), invoicenumber=invoicenumber, email=sale.customer.email,
                            total=f"{sale.total:.2f}", paid=int(sale.paid), paymethod_id=sale.paymethod_id,
                            transaction_id=sale.transaction_id, order_id=sale.order_id,
                            detail={"sale": summary})
        try:
            if self._checks(item, sale, invoicenumber, sent_before):
                return  # check 4 found our own earlier booking: posted
            debtor = self._debtor(sale, summary)
            request = self._request(sale, debtor, invoicenumber)
        except CheckFailed as failed:
            self._error(item, failed.check, failed.reason, retry=failed.retry, sale=summary,
                        messages=failed.messages)
            return
        except TwinfieldError as exc:
            self._error(item, "customer", f"Twinfield refused the customer: {exc}", sale=summary,
                        messages=[str(m) for m in exc.messages])
            return
        except TRANSIENT as exc:
            self._error(item, "twinfield", f"Twinfield could not be reached: {exc}", retry=True, sale=summary)
            return
        self.store.set_item(kind, source_id, self.now(), state="posting", customer=debtor, check_name=None,
                            reason=None, retry=0, tw_kind=self._tw_kind(), sent_request=request,
                            detail={"sale": summary, "request": request})
        self.crash("after_intent")
        self._send(item, sale, request, debtor, invoicenumber, summary)

    def _checks(self, item: dict, sale: Sale, invoicenumber: str, sent_before: bool) -> bool:
        """Seed 003's four checks; True when check 4 finds the booking this koppeling sent before."""
        if not invoicenumber:
            raise CheckFailed("invoicenumber", "not posted yet: the order has no invoice in the shop, and with "
                                               "invoicenumber: invoice it is booked under its invoice number; "
                                               "looked at again at every run", retry=True)
        booking.check_total(sale)
        if sale.icp:
            self._check_vat_number(sale)
        _, priced = booking.price(sale, self.config)  # check 3 (configured), and rounding over 5 cents
        self._check_vat_codes_in_twinfield(sale, priced)
        try:
            found = self._find(sale, invoicenumber, None)
        except TwinfieldError as exc:
            raise CheckFailed("posted", f"check 4 (not posted before): Twinfield refused the look-up: {exc}",
                              messages=[str(m) for m in exc.messages]) from None
        if not found:
            return False
        if sent_before and (self.config.mode == "concept" or found[1] == (item.get("customer") or "")):
            self._posted(item["kind"], item["source_id"], found[0])  # a late commit of our own earlier send
            return True
        what = f"VRK {found[0]} with invoice number {booking.invoice_ref(invoicenumber)}" \
            if self.config.mode == "concept" else f"invoice {found[0]} \"{booking.headertext(sale, self.config)}\""
        raise CheckFailed("posted", f"already posted: Twinfield has {what}")

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

    def _check_vat_codes_in_twinfield(self, sale: Sale, priced: list[booking.Priced]) -> None:
        """Check 3, in Twinfield: each line's code exists, is a sales code and has the line's percentage on
        the booking date (seed 003: "een overeenkomstige BTW code in Twinfield bestaat")."""
        problems: list[str] = []
        for p in priced:
            code = p.target.vatcode
            vat = self._vat_code(code)
            line = f"{booking.LINE_NAMES[p.line.kind]} {p.line.description[:35]!r}"
            if vat is None:
                problems.append(f"VAT code {code} does not exist in Twinfield ({line})")
            elif vat["type"] != "sales":
                problems.append(f"VAT code {code} is a {vat['type'] or '?'} code in Twinfield, not a sales code "
                                f"({line})")
            else:
                percentage = _in_force(vat["percentages"], sale.day)
                if percentage is None or percentage != p.line.rate:
                    has = "no percentage" if percentage is None else f"{format(percentage.normalize(), 'f')}%"
                    problems.append(f"VAT code {code} has {has} on {sale.day:%Y-%m-%d} in Twinfield, the line "
                                    f"has {booking.rate_key(p.line.rate)}% ({line})")
        if problems:
            raise CheckFailed("vatcode", "; ".join(dict.fromkeys(problems)))

    def _vat_code(self, code: str) -> dict | None:
        if code not in self._vat_codes:
            self._vat_codes[code] = ledger.read_vat_code(self.twinfield, self.config.office, code)
        return self._vat_codes[code]

    def _debtor(self, sale: Sale, summary: dict) -> str:
        """The debtor code: a fixed WWF_ debtor, or the customer's (created the first time, with its VAT number
        once checked; a number left off is noted in ``summary``, which Reporting shows)."""
        fixed = None if self.config.payment_posting else self.config.paymethod(sale.paymethod_id).debtor
        if not fixed:
            vat_number, note = debtor_vat_number(sale.customer, vies_checked=sale.icp)
            if note:
                summary["notes"] = [note]
            return self.customers.code_for(sale.customer, vat_number)
        if fixed not in self._debtors:
            self._debtors[fixed] = self._fixed_debtor_problem(fixed, sale.paymethod_id)
        if self._debtors[fixed]:
            raise CheckFailed("debtor", self._debtors[fixed] or "")
        return fixed

    def _fixed_debtor_problem(self, code: str, paymethod_id: int | None) -> str | None:
        root = self.twinfield.read_customer(code, self.config.office)
        where = f"payment method {paymethod_id} is mapped to fixed debtor {code}"
        if root is None:
            return f"{where}, which does not exist in Twinfield (office {self.config.office})"
        name = root.findtext("name") or ""
        if WWF not in name:
            return f"{where}, whose name {name!r} does not contain {WWF} (seed 003: only WWF_ debtors are fixed " \
                   f"debtors)"
        return None

    def _tw_kind(self) -> str:
        return "transaction" if self.config.mode == "concept" else "invoice"

    def _request(self, sale: Sale, debtor: str, invoicenumber: str) -> str:
        if self.config.mode == "invoice":
            return booking.invoice_xml(sale, self.config, debtor)
        lines = booking.booking_lines(sale, self.config, debtor, invoicenumber)
        return booking.transaction_xml(self.config.office, f"{sale.day:%Y%m%d}", booking.invoice_ref(invoicenumber),
                                       sale.currency, lines)

    def _send(self, item: dict, sale: Sale, request: str, debtor: str, invoicenumber: str, summary: dict) -> None:
        kind, source_id = item["kind"], item["source_id"]
        try:
            root = self.twinfield.send(request, self.config.office)
        except TwinfieldError as exc:
            texts = [str(m) for m in exc.messages]
            if any(DUPLICATE in m.msg for m in exc.messages) and self._settle_one(kind, source_id, invoicenumber,
                                                                                  sale, debtor):
                return
            # A refusal is an answer: this request was not booked, so a booking found later is not ours.
            self.store.set_item(kind, source_id, self.now(), sent_request=None)
            self._error(item, "twinfield", f"Twinfield refused the {self._tw_kind()}: {exc}", sale=summary,
                        request=request, messages=texts)
            return
        except TRANSIENT as exc:
            # No answer: it may be booked, now or a little later. Look now; not there (yet): it stays
            # 'posting', shown as unknown, and every next run looks again before sending it again.
            try:
                if self._settle_one(kind, source_id, invoicenumber, sale, debtor):
                    return
            except (*TRANSIENT, TwinfieldError):
                pass
            self.store.set_item(kind, source_id, self.now(), check_name=UNKNOWN, retry=1,
                                reason=f"Twinfield did not answer ({exc}): unknown whether it was booked, will look "
                                       f"again at the next run")
            return
        self.crash("after_booking_sent")
        number = root.findtext("header/number") if self.config.mode == "concept" else \
            root.findtext("header/invoicenumber")
        self._posted(kind, source_id, number or "")
        if self.config.mode == "invoice" and number:
            self._invoices.setdefault(booking.headertext(sale, self.config), []).append((number, debtor))

    # -- settling what a kill or a timeout left open --------------------------------------------------------------

    def settle(self, item: dict) -> bool:
        """An item whose request was sent (``was_sent``), answer unknown: True when Twinfield has it (it is
        then ``posted``)."""
        if not item["invoicenumber"]:
            return False  # it died before the number was known: nothing was sent
        sale = None
        if self.config.mode == "invoice":
            sale = self.sale(item["kind"], item["source_id"])
        return self._settle_one(item["kind"], item["source_id"], item["invoicenumber"], sale,
                                item["customer"] or "")

    def _settle_one(self, kind: str, source_id: int, invoicenumber: str, sale: Sale | None, debtor: str) -> bool:
        found = self._find(sale, invoicenumber, debtor)
        if found:
            self._posted(kind, source_id, found[0])
        return bool(found)

    def _find(self, sale: Sale | None, invoicenumber: str, debtor: str | None) -> tuple[str, str] | None:
        """Twinfield's booking (concept) or concept invoice for this item: (number, customer), or None.
        Keyed on the item's own number: the invoice number (last 40 characters) or the header text."""
        if self.config.mode == "concept":
            number = ledger.find_booking(self.twinfield, self.config.office, "VRK", booking.invoice_ref(invoicenumber))
            return (number, "") if number else None
        if sale is None:
            return None
        for number, _text, customer in ledger.read_invoices(self.twinfield, self.config.office, self._invoices_read):
            self._invoices.setdefault(_text, []).append((number, customer))
            self._invoices_read = max(self._invoices_read, int(number))
        candidates = self._invoices.get(booking.headertext(sale, self.config), [])
        if debtor is not None:
            candidates = [c for c in candidates if c[1] == debtor]
        return candidates[0] if candidates else None

    def _posted(self, kind: str, source_id: int, number: str) -> None:
        self.store.set_item(kind, source_id, self.now(), state="posted", tw_number=number, check_name=None,
                            reason=None, retry=0)

    def _error(self, item: dict, check: str, reason: str, retry: bool = False, **detail: Any) -> None:
        self.store.set_item(item["kind"], item["source_id"], self.now(), state="error", check_name=check,
                            reason=reason, retry=int(retry), detail=detail)


def was_sent(item: dict) -> bool:
    """Whether a request for this item went to Twinfield without a refusal coming back: a booking Twinfield has
    for it may be the koppeling's own."""
    return item["state"] != "posted" and bool(item.get("sent_request"))


def _in_force(percentages: list[tuple[str, Decimal]], day: date) -> Decimal | None:
    current = None
    for since, percentage in sorted(percentages):
        if since <= f"{day:%Y%m%d}":
            current = percentage
    return current


def _summary(sale: Sale, invoicenumber: str) -> dict:
    return {"number": sale.number, "invoicenumber": invoicenumber, "total": f"{sale.total:.2f}",
            "country": sale.country, "icp": sale.icp, "international": sale.international, "credit": sale.credit,
            "email": sale.customer.email, "vat_number": sale.customer.vat_number,
            "lines": [{"kind": ln.kind, "description": ln.description, "amount": f"{ln.amount:.2f}",
                       "rate": str(ln.rate)} for ln in sale.lines]}
