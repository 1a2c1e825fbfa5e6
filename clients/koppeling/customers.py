"""Customers: found by e-mail, created once as a Twinfield debtor (dimension DEB), never modified.

The field mapping is seed 003's: name (company, else first and last name), KvK as ``cocnumber``, the VAT
number, the billing address (contact = first and last name, street with house number and suffix, address
line 2, postcode, city, country, telephone, e-mail of at most 200 characters) and the delivery address.
[CHOSEN] Twinfield's address fields: ``field2`` holds street and house number, ``field3`` address line 2;
the delivery address is the ``postal`` address; a name longer than Twinfield's 80 characters is cut.

The VAT number ("[vatnumber] - deze wordt gecontroleerd op correctheid") is checked before a debtor is made
from it: an ICP order's by VIES (check 2, which refuses the order), any other's by its format and check digits
(python-stdnum). [CHOSEN] An invalid number of a non-ICP order is left off the debtor and noted with the
order, the order is still posted: the seed's checks that stop an order name the VAT number for ICP orders
only, and a domestic or consumer sale is booked the same with or without it - but a debtor is never modified,
so a wrong number written once would stay.

The e-mail -> code map is the koppeling's own (Twinfield cannot search by e-mail). A creation is an intent
first (``creating``); after a kill or a lost answer the next attempt looks the debtor up by name and
e-mail before creating it again - by the name stored with the intent.
"""

from __future__ import annotations

from typing import Callable

from stdnum.eu import vat as eu_vat

from clients.ccvshop import Address, Customer
from clients.twinfield import TwinfieldClient, TwinfieldUnavailable

from . import ledger
from .booking import CheckFailed
from .store import KoppelingStore

MAX_NAME = 80
MAX_EMAIL = 200  # seed 003: "niet langer dan 200 karakters"


def customer_key(customer: Customer) -> str:
    """What customers are matched on: the e-mail; [CHOSEN] without one, the name."""
    return customer.email.strip().lower() or f"(no e-mail) {display_name(customer).lower()}"


def display_name(customer: Customer) -> str:
    billing = customer.billing
    person = " ".join(p for p in (billing.first_name, billing.last_name) if p).strip() or billing.full_name
    return (billing.company or person or customer.email or "Webwinkelklant").strip()[:MAX_NAME]


def _address(kind: str, address: Address, email: str) -> dict:
    street = " ".join(str(p) for p in (address.street or address.address_line_1, address.housenumber or "",
                                       address.housenumber_suffix) if p).strip()
    person = " ".join(p for p in (address.first_name, address.last_name) if p).strip() or address.full_name
    return {"type": kind, "name": (address.company or person)[:MAX_NAME], "contact": person,
            "country": address.country_code or "", "city": address.city, "postcode": address.zipcode,
            "field2": street, "field3": address.address_line_2, "telephone": address.telephone,
            "email": email[:MAX_EMAIL]}


def debtor_vat_number(customer: Customer, vies_checked: bool) -> tuple[str, str | None]:
    """The VAT number to write to a new debtor, and a note when the customer's is left off.
    ``vies_checked``: VIES found it valid (ICP orders), which decides over the format check."""
    given = customer.vat_number.strip()
    if not given:
        return "", None
    if vies_checked:
        return "".join(ch for ch in given.upper() if ch.isalnum()), None
    country = (customer.billing.country_code or "").upper()
    prefix = "EL" if country == "GR" else country
    # Dutch customers often leave the NL off: tried with the billing country's prefix as well.
    for candidate in (given, prefix + given):
        if eu_vat.is_valid(candidate):
            return eu_vat.compact(candidate), None
    return "", f"VAT number {given!r} is not a valid EU VAT number (format or check digits): left off the debtor"


def customer_request(office: str, customer: Customer, name: str | None = None, vat_number: str = "") -> str:
    """The ``<dimension>`` the koppeling creates for a shop customer (``name``: the one its intent holds;
    ``vat_number``: as ``debtor_vat_number`` checked it)."""
    fields = {"name": name or display_name(customer), "cocnumber": customer.kvk, "vatnumber": vat_number}
    addresses = [_address("invoice", customer.billing, customer.email)]
    if not customer.delivery.is_empty and customer.delivery != customer.billing:
        addresses.append(_address("postal", customer.delivery, ""))
    return ledger.customer_xml(office, fields, addresses)


class Customers:
    def __init__(self, store: KoppelingStore, client: TwinfieldClient, office: str, now: Callable[[], str],
                 crash: Callable[[str], None]) -> None:
        self.store = store
        self.client = client
        self.office = office
        self.now = now
        self.crash = crash

    def code_for(self, customer: Customer, vat_number: str = "") -> str:
        """The debtor code of this customer, created in Twinfield the first time (never updated after) with
        ``vat_number`` - the customer's VAT number once checked (``debtor_vat_number``).

        Only the caller whose intent row it is creates the debtor: the one whose INSERT made the row, or, for a
        creation whose outcome was never learned, the one whose compare-and-set took it over. Any other caller
        (another process) uses the code once it is there, or leaves the order for the next run."""
        key = customer_key(customer)
        known = self.store.customer(key)
        if known and known["state"] == "created":
            return known["code"]
        if known is None:
            name = display_name(customer)
            if not self.store.customer_intent(key, name, self.now()):
                return self._theirs(key)
        else:
            # An earlier creation whose outcome we never learned: look for it - by the name it was created
            # with, which this order's customer may spell otherwise - before creating it again.
            name = known["name"]
            found = ledger.find_customer(self.client, self.office, name, customer.email)
            if found:
                self.store.customer_created(key, found)
                return found
            if not self.store.claim_customer(known):
                return self._theirs(key)
        self.crash("before_customer_created")
        try:
            code = ledger.create_customer(self.client, self.office,
                                          customer_request(self.office, customer, name, vat_number))
        except TwinfieldUnavailable:
            found = ledger.find_customer(self.client, self.office, name, customer.email)
            if not found:
                raise
            code = found
        self.crash("after_customer_created")
        self.store.customer_created(key, code)
        return code

    def _theirs(self, key: str) -> str:
        known = self.store.customer(key)
        if known and known["state"] == "created":
            return known["code"]
        raise CheckFailed("customer", "another run of the koppeling is creating this customer; posted at the next "
                                      "run", retry=True)
