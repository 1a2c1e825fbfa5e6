"""Reading CB's UBL service invoices on the client side: objects, and validation against UBL 2.1."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from lxml import etree

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS = {"cbc": CBC, "cac": CAC, "inv": INVOICE}
MAX_INVOICE_BYTES = 20 * 1024 * 1024


@dataclass
class InvoiceLine:
    id: str
    description: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass
class Invoice:
    number: str
    issue_date: date
    type_code: str
    relation_id: str
    customer_name: str
    currency: str
    tax_exclusive: Decimal
    tax_total: Decimal
    payable: Decimal
    iban: str | None
    due_date: date | None
    lines: list[InvoiceLine] = field(default_factory=list)

    @property
    def is_credit(self) -> bool:
        return self.type_code == "C"


class InvalidInvoice(ValueError):
    """The file is not a UBL invoice this client can accept; ``problems`` says why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]))
        self.problems = problems


@lru_cache(maxsize=2)
def _schema(schema_dir: str) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(Path(schema_dir) / "maindoc" / "UBL-Invoice-2.1.xsd"), parser))


def parse_invoice(xml: bytes, schema_dir: str | Path | None = None) -> Invoice:
    """The invoice as an object; with ``schema_dir`` (the OASIS UBL 2.1 folder) also validated."""
    if len(xml) > MAX_INVOICE_BYTES:
        raise InvalidInvoice([f"the invoice is {len(xml)} bytes; at most {MAX_INVOICE_BYTES} are read"])
    if b"<!DOCTYPE" in xml[:4096].upper() or b"<!ENTITY" in xml.upper():
        raise InvalidInvoice(["document type declarations and entities are not accepted"])
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidInvoice([f"not well-formed XML: {exc}"]) from None
    if schema_dir is not None:
        schema = _schema(str(schema_dir))
        if not schema.validate(root):
            raise InvalidInvoice([f"line {e.line}: {e.message}" for e in schema.error_log])
    if root.tag != f"{{{INVOICE}}}Invoice":
        raise InvalidInvoice([f"the root element is {root.tag}, not a UBL Invoice"])

    def text(path: str, node: etree._Element = root) -> str | None:
        found = node.find(path, NS)
        return found.text.strip() if found is not None and found.text else None

    lines = [InvoiceLine(id=text("cbc:ID", line) or "", description=text("cac:Item/cbc:Description", line) or "",
                         amount=Decimal(text("cbc:LineExtensionAmount", line) or "0"),
                         quantity=Decimal(q) if (q := text("cbc:InvoicedQuantity", line)) else None)
             for line in root.findall("cac:InvoiceLine", NS)]
    due = text("cac:PaymentMeans/cbc:PaymentDueDate")
    return Invoice(
        number=text("cbc:ID") or "",
        issue_date=date.fromisoformat(text("cbc:IssueDate") or "1970-01-01"),
        type_code=text("cbc:InvoiceTypeCode") or "D",
        relation_id=text("cac:AccountingCustomerParty/cbc:SupplierAssignedAccountID") or "",
        customer_name=text("cac:AccountingCustomerParty/cac:Party/cac:PartyName/cbc:Name") or "",
        currency=text("cbc:DocumentCurrencyCode") or "EUR",
        tax_exclusive=Decimal(text("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount") or "0"),
        tax_total=Decimal(text("cac:TaxTotal/cbc:TaxAmount") or "0"),
        payable=Decimal(text("cac:LegalMonetaryTotal/cbc:PayableAmount") or "0"),
        iban=text("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"),
        due_date=date.fromisoformat(due) if due else None,
        lines=lines,
    )
