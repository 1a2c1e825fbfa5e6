"""The UBL rendering of a CB service invoice, and validation against the OASIS UBL 2.1 schemas.

CB writes ``cbc:UBLVersionID`` 2.0; UBL 2.1 is a compatible superset, so the 2.1 XSD validates it. Every
element of seed 002's table is written whenever the invoice has a value for it, in the order the XSD's
sequences demand (which is not always the seed's table order: AccountingContact belongs to the
SupplierParty, not its Party, and the seed's ``FinancialInstitionBranch`` is ``FinancialInstitutionBranch``).
The schema files are read from where they lie (OASIS licence: they are never copied into the project).
"""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

from lxml import etree

from ..core.safexml import XMLRefused, parse_xml
from .invoices import TAX_SCHEME, Address, InvoiceLine, Party, ServiceInvoice, TaxSubtotal

__all__ = ["NS_INVOICE", "NS_CAC", "NS_CBC", "NSMAP", "MAX_INVOICE_BYTES", "build_ubl", "load_ubl_schema",
           "validate_ubl"]

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NSMAP = {None: NS_INVOICE, "cac": NS_CAC, "cbc": NS_CBC}
# A 692-line invoice (the seed's example) is about 1.5 MB; leave room for the largest publishers.
MAX_INVOICE_BYTES = 32 * 1024 * 1024


class _Writer:
    """Appends ``cac:``/``cbc:`` children; a ``None`` value means "this optional element is absent"."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    @staticmethod
    def cac(parent: etree._Element, name: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{NS_CAC}}}{name}")

    @staticmethod
    def cbc(parent: etree._Element, name: str, value: object | None, **attrs: str) -> None:
        if value is not None:
            etree.SubElement(parent, f"{{{NS_CBC}}}{name}", attrs).text = str(value)

    def amount(self, parent: etree._Element, name: str, value: Decimal | None) -> None:
        if value is not None:
            self.cbc(parent, name, f"{value:.2f}", currencyID=self.currency)


def _number(value: Decimal) -> str:
    """21 not 21.00, 56 not 56.0: percents and quantities as the seed writes them."""
    return format(value.normalize(), "f")


def build_ubl(invoice: ServiceInvoice) -> bytes:
    """The invoice as a UBL ``Invoice`` document (UTF-8, with XML declaration)."""
    w = _Writer(invoice.currency)
    root = etree.Element(f"{{{NS_INVOICE}}}Invoice", nsmap=NSMAP)
    w.cbc(root, "UBLVersionID", "2.0")
    w.cbc(root, "ID", invoice.number)
    w.cbc(root, "CopyIndicator", "true" if invoice.copy_indicator else "false")
    w.cbc(root, "IssueDate", invoice.issue_date.isoformat())
    w.cbc(root, "InvoiceTypeCode", invoice.type_code)
    w.cbc(root, "Note", invoice.note)
    w.cbc(root, "DocumentCurrencyCode", invoice.currency)
    w.cbc(root, "LineCountNumeric", invoice.line_count)
    if invoice.order_reference:
        w.cbc(w.cac(root, "OrderReference"), "ID", invoice.order_reference)
    for reference in invoice.billing_references:
        w.cbc(w.cac(w.cac(root, "BillingReference"), "InvoiceDocumentReference"), "ID", reference)

    supplier = w.cac(root, "AccountingSupplierParty")
    _party(w, supplier, invoice.supplier, with_kvk=True)
    if invoice.supplier.telephone or invoice.supplier.email:
        contact = w.cac(supplier, "AccountingContact")
        w.cbc(contact, "Telephone", invoice.supplier.telephone)
        w.cbc(contact, "ElectronicMail", invoice.supplier.email)

    customer = w.cac(root, "AccountingCustomerParty")
    w.cbc(customer, "SupplierAssignedAccountID", invoice.relation_id)
    _party(w, customer, invoice.customer, with_kvk=False)

    for means in invoice.payment_means:
        node = w.cac(root, "PaymentMeans")
        w.cbc(node, "PaymentMeansCode", means.code)
        w.cbc(node, "PaymentDueDate", means.due_date.isoformat())
        w.cbc(node, "InstructionNote", means.instruction_note)
        account = w.cac(node, "PayeeFinancialAccount")
        w.cbc(account, "ID", means.iban)
        branch = w.cac(account, "FinancialInstitutionBranch")
        w.cbc(branch, "ID", means.bic)
        w.cbc(branch, "Name", means.bank_name)

    _tax_total(w, root, invoice.tax_amount, invoice.tax_subtotals, with_reason=True)
    totals = w.cac(root, "LegalMonetaryTotal")
    w.amount(totals, "TaxExclusiveAmount", invoice.tax_exclusive_amount)
    w.amount(totals, "PayableAmount", invoice.payable_amount)
    for line in invoice.lines:
        _line(w, root, line)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _party(w: _Writer, parent: etree._Element, party: Party, *, with_kvk: bool) -> None:
    node = w.cac(parent, "Party")
    if with_kvk and party.kvk:  # the seed has a PartyIdentification for the supplier only
        w.cbc(w.cac(node, "PartyIdentification"), "ID", party.kvk)
    w.cbc(w.cac(node, "PartyName"), "Name", party.name)
    _address(w, node, party.address)
    if party.vat_number:  # seed: the tax scheme only accompanies a VAT number
        scheme = w.cac(node, "PartyTaxScheme")
        w.cbc(scheme, "CompanyID", party.vat_number)
        w.cbc(w.cac(scheme, "TaxScheme"), "Name", TAX_SCHEME)


def _address(w: _Writer, parent: etree._Element, address: Address) -> None:
    node = w.cac(parent, "PostalAddress")
    w.cbc(node, "Postbox", address.postbox)
    w.cbc(node, "StreetName", address.street)
    w.cbc(node, "InhouseMail", address.inhouse_mail)
    w.cbc(node, "CityName", address.city)
    w.cbc(node, "PostalZone", address.postal_zone)
    country = w.cac(node, "Country")
    w.cbc(country, "IdentificationCode", address.country_code)
    w.cbc(country, "Name", address.country_name)


def _tax_total(w: _Writer, parent: etree._Element, amount: Decimal, subtotals: tuple[TaxSubtotal, ...],
               *, with_reason: bool) -> None:
    total = w.cac(parent, "TaxTotal")
    w.amount(total, "TaxAmount", amount)
    for sub in subtotals:
        node = w.cac(total, "TaxSubtotal")
        w.amount(node, "TaxableAmount", sub.taxable_amount)
        w.amount(node, "TaxAmount", sub.tax_amount)
        w.cbc(node, "Percent", _number(sub.percent))
        category = w.cac(node, "TaxCategory")
        if with_reason:  # the seed's line-level subtotal has no legal text
            w.cbc(category, "TaxExemptionReason", sub.exemption_reason)
        w.cbc(w.cac(category, "TaxScheme"), "Name", TAX_SCHEME)


def _line(w: _Writer, root: etree._Element, line: InvoiceLine) -> None:
    node = w.cac(root, "InvoiceLine")
    w.cbc(node, "ID", line.id)
    w.cbc(node, "InvoicedQuantity", _number(line.quantity))
    w.amount(node, "LineExtensionAmount", line.line_extension_amount)
    subtotal = TaxSubtotal(taxable_amount=line.line_extension_amount, tax_amount=line.tax_amount,
                           percent=line.tax_percent, category_id=line.tax_category_id)
    _tax_total(w, node, line.tax_amount, (subtotal,), with_reason=False)
    item = w.cac(node, "Item")
    for description in line.descriptions:
        w.cbc(item, "Description", description)
    w.cbc(w.cac(item, "StandardItemIdentification"), "ID", line.standard_item_id)
    category = w.cac(item, "ClassifiedTaxCategory")
    w.cbc(category, "ID", line.tax_category_id)
    w.cbc(w.cac(category, "TaxScheme"), "Name", TAX_SCHEME)
    for name, value in line.properties:
        prop = w.cac(item, "AdditionalItemProperty")
        w.cbc(prop, "Name", name)
        w.cbc(prop, "Value", value)
    # The tariff keeps CB's three decimals (seed: 1.680), unlike every other amount.
    w.cbc(w.cac(node, "Price"), "PriceAmount", f"{line.price_amount:.3f}", currencyID=w.currency)


_schemas: dict[Path, etree.XMLSchema] = {}
_schemas_lock = threading.Lock()
_validate_lock = threading.Lock()


def load_ubl_schema(schema_dir: str | Path) -> etree.XMLSchema:
    """The OASIS UBL 2.1 Invoice schema under ``schema_dir`` (``maindoc/UBL-Invoice-2.1.xsd`` + ``common/``),
    built once per directory: building takes ~70 ms, a validation ~0.1 ms."""
    path = (Path(schema_dir) / "maindoc" / "UBL-Invoice-2.1.xsd").resolve()
    with _schemas_lock:
        if path not in _schemas:
            if not path.is_file():
                raise FileNotFoundError(f"no UBL 2.1 Invoice schema at {path}")
            # The schema imports its modules by relative path; nothing may come from the network.
            parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
            _schemas[path] = etree.XMLSchema(etree.parse(str(path), parser))
        return _schemas[path]


def validate_ubl(xml: bytes, schema: etree.XMLSchema) -> list[str]:
    """Schema errors of ``xml`` as ``"line N: message"``; an empty list means valid."""
    try:
        root = parse_xml(xml, max_bytes=MAX_INVOICE_BYTES, what="UBL invoice")
    except XMLRefused as exc:
        return [f"line {exc.line}: {exc}" if exc.line else str(exc)]
    # An lxml schema keeps one error log for all its callers: two threads validating at once would mix
    # their errors. A validation takes well under a millisecond, so serialising them costs nothing.
    with _validate_lock:
        if schema.validate(root.getroottree()):
            return []
        return [f"line {error.line}: {error.message}" for error in schema.error_log]
