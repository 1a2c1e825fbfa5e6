"""What the koppeling asks Twinfield beyond the thin client: look a booking, invoice or customer up before
writing it again, create customers with every field of seed 003, post a sales invoice.

Looking up is how nothing gets posted twice: after a kill or a timeout the koppeling does not know whether
Twinfield took its last write, so it asks - bookings by invoice number (browse 000, the general ledger
lines), customers by name then e-mail (Finder DIM, then a read of each candidate; Twinfield has no search by
e-mail), concept invoices by their header text (read one number after the other from the last one known). Check 3
reads the office's VAT codes (``<read><type>vat</type>``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Iterator
from xml.sax.saxutils import escape

from lxml import etree

from clients.twinfield import TwinfieldClient


def _browse_xml(office: str, journal: str, invoicenumber: str, description: str | None) -> str:
    def equal(field: str, value: str) -> str:
        return (f"<column><field>{field}</field><visible>true</visible><operator>equal</operator>"
                f"<from>{escape(value)}</from></column>")

    columns = (f"<column><field>fin.trs.head.office</field><operator>equal</operator><from>{escape(office)}</from>"
               f"</column>" + equal("fin.trs.head.code", journal) + equal("fin.trs.line.invnumber", invoicenumber)
               + "".join(f"<column><field>{f}</field><visible>true</visible></column>"
                         for f in ("fin.trs.head.number", "fin.trs.head.status", "fin.trs.line.valuesigned")))
    if description is not None:
        columns += equal("fin.trs.line.description", description)
    return f'<columns code="000">{columns}</columns>'


def find_booking(client: TwinfieldClient, office: str, journal: str, invoicenumber: str,
                 description: str | None = None) -> str | None:
    """The number of a booking in ``journal`` carrying this invoice number (and line description), or None."""
    root = client.send(_browse_xml(office, journal, invoicenumber, description), office)
    numbers = sorted({tr.findtext("key/number") or "" for tr in root.findall("tr")} - {""})
    return numbers[0] if numbers else None


def read_booking(client: TwinfieldClient, office: str, journal: str, number: str) -> etree._Element | None:
    root = client.process_xml(f"<read><type>transaction</type><office>{escape(office)}</office>"
                              f"<code>{escape(journal)}</code><number>{escape(number)}</number></read>", office)
    return root if root.get("result") == "1" else None


# -- customers ---------------------------------------------------------------------------------------------------


def customer_xml(office: str, fields: dict, addresses: list[dict]) -> str:
    def leaf(tag: str, value: str) -> str:
        return f"<{tag}>{escape(value or '')}</{tag}>"

    address_xml = ""
    for address in addresses:
        kind = address.pop("type")
        default = ' default="true"' if kind == "invoice" else ""
        address_xml += (f'<address type="{kind}"{default}>' + "".join(leaf(k, v) for k, v in address.items())
                        + "</address>")
    return (f'<dimension status="active">{leaf("office", office)}<type>DEB</type><code></code>'
            + "".join(leaf(k, fields.get(k, "")) for k in ("name", "website", "cocnumber", "vatnumber"))
            + f"<addresses>{address_xml}</addresses></dimension>")


def create_customer(client: TwinfieldClient, office: str, xml: str) -> str:
    """Create a debtor (Twinfield gives the code, within the office's mask); returns the code."""
    return client.send(xml, office).findtext("code") or ""


def find_customer(client: TwinfieldClient, office: str, name: str, email: str) -> str | None:
    """A debtor with this name whose address carries this e-mail (after a create whose answer was lost)."""
    found = client.search("DIM", name, field=2, options={"dimtype": "DEB", "office": office}, office=office)
    for code, *_ in found.rows:
        root = client.read_customer(code, office)
        emails = [(e.text or "").strip().lower() for e in root.iter("email")] if root is not None else []
        if email.lower()[:200] in emails:
            return code
    return None


# -- sales invoices ----------------------------------------------------------------------------------------------


def post_invoice(client: TwinfieldClient, office: str, xml: str) -> str:
    return client.send(xml, office).findtext("header/invoicenumber") or ""


def read_invoices(client: TwinfieldClient, office: str, after: int, limit: int = 10_000
                  ) -> Iterator[tuple[str, str, str]]:
    """(number, header text, customer) of every concept invoice numbered after ``after``: Twinfield numbers
    invoices one by one per type, so reading on until a number is missing sees every newer invoice."""
    for number in range(after + 1, after + 1 + limit):
        root = client.process_xml(f"<read><type>salesinvoice</type><office>{escape(office)}</office>"
                                  f"<code>FACTUUR</code><invoicenumber>{number}</invoicenumber></read>", office)
        if root.get("result") != "1":
            return
        yield str(number), root.findtext("header/headertext") or "", root.findtext("header/customer") or ""


# -- VAT codes ---------------------------------------------------------------------------------------------------


def read_vat_code(client: TwinfieldClient, office: str, code: str) -> dict | None:
    """A VAT code as Twinfield has it: {"type": sales|purchase, "percentages": [(yyyymmdd, Decimal)]}, or
    None when the office has no such code (``<read><type>vat</type>``)."""
    root = client.process_xml(f"<read><type>vat</type><office>{escape(office)}</office>"
                              f"<code>{escape(code)}</code></read>", office)
    if root.get("result") != "1":
        return None
    percentages = []
    for entry in root.findall("percentages/percentage"):
        try:
            percentages.append(((entry.findtext("date") or "").strip(),
                                Decimal((entry.findtext("percentage") or "").strip()).normalize()))
        except InvalidOperation:
            continue
    return {"type": (root.findtext("type") or "").strip().lower(), "percentages": percentages}
