"""CB's profile of UBL: what seed 002 demands beyond what the OASIS schema already checks.

The schema allows almost everything to be optional or repeated; CB's table narrows that (exactly one
supplier, at most one TaxTotal, ...). The table below is that seed table as data, so a reader can put
the two side by side; ``check_cb_profile`` applies it and a few rules the seed states in words.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from lxml import etree

from ..core.safexml import XMLRefused, parse_xml
from .ubl import MAX_INVOICE_BYTES, NS_CAC, NS_CBC, NS_INVOICE

__all__ = ["Occurs", "CB_CARDINALITIES", "check_cb_profile"]

_NS = {"cac": NS_CAC, "cbc": NS_CBC, "inv": NS_INVOICE}


class Occurs(NamedTuple):
    """``path`` occurs ``min``..``max`` times (``None`` = unbounded) in each element ``context`` selects
    (``""`` = the Invoice itself). Paths are XPath relative to the context, with the cac/cbc prefixes."""

    context: str
    path: str
    min: int
    max: int | None
    description: str


_SUP = "cac:AccountingSupplierParty"
_CUS = "cac:AccountingCustomerParty"
_LINE = "cac:InvoiceLine"
_O = Occurs
CB_CARDINALITIES: tuple[Occurs, ...] = (
    _O("", "cbc:UBLVersionID", 0, 1, "UBL versienummer"),
    _O("", "cbc:ID", 1, 1, "factuurnummer"),
    _O("", "cbc:CopyIndicator", 0, 1, "kopie indicator"),
    _O("", "cbc:IssueDate", 1, 1, "factuurdatum"),
    _O("", "cbc:InvoiceTypeCode", 0, 1, "factuurtype"),
    _O("", "cbc:Note", 0, None, "periode"),
    _O("", "cbc:DocumentCurrencyCode", 0, 1, "valuta"),
    _O("", "cbc:LineCountNumeric", 0, 1, "aantal factuurregels"),
    _O("", "cac:OrderReference", 0, 1, "orderreferentie"),
    _O("", "cac:BillingReference", 0, None, "document referentie"),
    _O("", _SUP, 1, 1, "leverancier"),
    _O("", _CUS, 1, 1, "afnemer"),
    _O("", "cac:PaymentMeans", 0, None, "betalingsgegevens"),
    _O("", "cac:TaxTotal", 0, 1, "BTW totalen"),
    _O("", "cac:LegalMonetaryTotal", 1, 1, "factuurtotaal"),
    _O("", _LINE, 1, None, "factuurregel"),
    _O("cac:OrderReference", "cbc:ID", 1, 1, "PO nummer"),
    _O("cac:BillingReference", "cac:InvoiceDocumentReference/cbc:ID", 1, 1, "PDF referentie"),
    _O(_SUP, "cac:Party/cac:PartyIdentification/cbc:ID", 1, 1, "KvK nummer"),
    _O(_SUP, "cac:Party/cac:PartyName/cbc:Name", 1, 1, "naam"),
    _O(_SUP, "cac:Party/cac:PostalAddress", 1, 1, "postadres"),
    _O(_SUP, "cac:Party/cac:PartyTaxScheme", 0, 1, "BTW schema"),
    _O(_SUP, "cac:AccountingContact", 0, 1, "contactgegevens"),
    *(_O(f"{_SUP}/cac:Party/cac:PostalAddress", path, 0, 1, text) for path, text in (
        ("cbc:Postbox", "postbus"), ("cbc:CityName", "plaats"), ("cbc:PostalZone", "postcode"),
        ("cac:Country/cbc:IdentificationCode", "landcode"), ("cac:Country/cbc:Name", "land"))),
    _O(f"{_SUP}/cac:Party/cac:PartyTaxScheme", "cbc:CompanyID", 0, 1, "BTW nummer"),
    _O(f"{_SUP}/cac:Party/cac:PartyTaxScheme", "cac:TaxScheme/cbc:Name", 1, 1, "BTW schema naam"),
    _O(f"{_SUP}/cac:AccountingContact", "cbc:Telephone", 0, 1, "telefoonnummer"),
    _O(f"{_SUP}/cac:AccountingContact", "cbc:ElectronicMail", 0, 1, "email"),
    _O(_CUS, "cbc:SupplierAssignedAccountID", 1, 1, "relatie ID afnemer"),
    _O(_CUS, "cac:Party/cac:PartyName/cbc:Name", 1, 1, "afnemernaam"),
    _O(_CUS, "cac:Party/cac:PostalAddress", 0, 1, "factuuradres"),
    _O(_CUS, "cac:Party/cac:PartyTaxScheme", 0, 1, "BTW schema afnemer"),
    *(_O(f"{_CUS}/cac:Party/cac:PostalAddress", path, 0, 1, text) for path, text in (
        ("cbc:StreetName", "adres"), ("cbc:InhouseMail", "ter attentie van"), ("cbc:CityName", "plaats"),
        ("cbc:PostalZone", "postcode"), ("cac:Country/cbc:IdentificationCode", "landcode"),
        ("cac:Country/cbc:Name", "land"))),
    _O(f"{_CUS}/cac:Party/cac:PartyTaxScheme", "cbc:CompanyID", 0, 1, "BTW nummer afnemer"),
    _O(f"{_CUS}/cac:Party/cac:PartyTaxScheme", "cac:TaxScheme/cbc:Name", 1, 1, "BTW schema naam"),
    _O("cac:PaymentMeans", "cbc:PaymentMeansCode", 1, 1, "code betaalwijze"),
    _O("cac:PaymentMeans", "cbc:PaymentDueDate", 0, 1, "vervaldatum"),
    _O("cac:PaymentMeans", "cbc:InstructionNote", 0, None, "omschrijving betaalwijze"),
    _O("cac:PaymentMeans", "cac:PayeeFinancialAccount", 0, 1, "bankgegevens facturerende partij"),
    _O("cac:PaymentMeans/cac:PayeeFinancialAccount", "cbc:ID", 0, 1, "IBAN"),
    _O("cac:PaymentMeans/cac:PayeeFinancialAccount", "cac:FinancialInstitutionBranch/cbc:ID", 0, 1, "BIC"),
    _O("cac:PaymentMeans/cac:PayeeFinancialAccount", "cac:FinancialInstitutionBranch/cbc:Name", 0, 1,
       "naam bank"),
    _O("cac:TaxTotal", "cbc:TaxAmount", 0, 1, "totaal BTW bedrag"),
    _O("cac:TaxTotal", "cac:TaxSubtotal", 0, None, "totalen per BTW percentage"),
    *(_O(context, path, low, high, text)
      for context in ("cac:TaxTotal/cac:TaxSubtotal", f"{_LINE}/cac:TaxTotal/cac:TaxSubtotal")
      for path, low, high, text in (
          ("cbc:TaxableAmount", 0, 1, "BTW grondslag"), ("cbc:TaxAmount", 1, 1, "BTW bedrag"),
          ("cbc:Percent", 0, 1, "BTW percentage"), ("cac:TaxCategory/cac:TaxScheme/cbc:Name", 1, 1,
                                                    "BTW schema naam"))),
    _O("cac:TaxTotal/cac:TaxSubtotal", "cac:TaxCategory/cbc:TaxExemptionReason", 0, 1, "wettekst"),
    _O("cac:LegalMonetaryTotal", "cbc:TaxExclusiveAmount", 0, 1, "totaal excl. BTW"),
    _O("cac:LegalMonetaryTotal", "cbc:PayableAmount", 1, 1, "totaal incl. BTW"),
    _O(_LINE, "cbc:ID", 1, 1, "identificatie van de factuurregel"),
    _O(_LINE, "cbc:InvoicedQuantity", 0, 1, "aantal"),
    _O(_LINE, "cbc:LineExtensionAmount", 1, 1, "netto regelbedrag excl. BTW"),
    _O(_LINE, "cac:TaxTotal", 0, None, "BTW totalen factuurregel"),
    _O(_LINE, "cac:Item", 1, 1, "gefactureerde item"),
    _O(_LINE, "cac:Price", 0, 1, "tarief"),
    _O(f"{_LINE}/cac:TaxTotal", "cbc:TaxAmount", 0, 1, "totaal BTW regelbedrag"),
    _O(f"{_LINE}/cac:TaxTotal", "cac:TaxSubtotal", 0, None, "BTW regeltotalen per BTW percentage"),
    _O(f"{_LINE}/cac:Item", "cbc:Description", 0, None, "omschrijving"),
    _O(f"{_LINE}/cac:Item", "cac:StandardItemIdentification/cbc:ID", 1, 1, "identificatie"),
    _O(f"{_LINE}/cac:Item", "cac:ClassifiedTaxCategory", 0, 1, "BTW classificatie"),
    _O(f"{_LINE}/cac:Item/cac:ClassifiedTaxCategory", "cbc:ID", 0, 1, "BTW categorie"),
    _O(f"{_LINE}/cac:Item/cac:ClassifiedTaxCategory", "cac:TaxScheme/cbc:Name", 1, 1, "BTW schema naam"),
    _O(f"{_LINE}/cac:Item/cac:AdditionalItemProperty", "cbc:Name", 1, 1, "naam extra element"),
    _O(f"{_LINE}/cac:Item/cac:AdditionalItemProperty", "cbc:Value", 1, 1, "waarde extra element"),
    _O(f"{_LINE}/cac:Price", "cbc:PriceAmount", 0, 1, "tarief"),
)

INVOICE_TYPE_CODES = ("D", "C")  # debet, credit
PAYMENT_MEANS_CODES = ("AI", "ZV")  # automatische incasso, zelf te voldoen / te verrekenen


def check_cb_profile(xml: bytes) -> list[str]:
    """Every way ``xml`` departs from CB's profile, one English sentence each; empty = conforms."""
    try:
        root = parse_xml(xml, max_bytes=MAX_INVOICE_BYTES, what="UBL invoice")
    except XMLRefused as exc:
        return [str(exc)]
    if root.tag != f"{{{NS_INVOICE}}}Invoice":
        return [f"the root element is {root.tag}, not the UBL Invoice ({{{NS_INVOICE}}}Invoice)"]
    return _cardinality_errors(root) + _rule_errors(root)


def _cardinality_errors(root: etree._Element) -> list[str]:
    errors = []
    for rule in CB_CARDINALITIES:
        contexts = root.xpath(rule.context, namespaces=_NS) if rule.context else [root]
        for context in contexts:
            found = len(context.xpath(rule.path, namespaces=_NS))
            if found < rule.min or (rule.max is not None and found > rule.max):
                where = f"{_path_of(context)}/" if rule.context else ""
                errors.append(f"{where}{rule.path} must occur {_times(rule)}, found {found} "
                              f"({rule.description})")
    return errors


def _path_of(element: etree._Element) -> str:
    """``cac:InvoiceLine[3]/cac:Item``: where ``element`` is, with a position wherever a name repeats."""
    prefixes = {NS_CAC: "cac", NS_CBC: "cbc"}
    steps = []
    while element.getparent() is not None:
        qname = etree.QName(element)
        name = f"{prefixes.get(qname.namespace, '*')}:{qname.localname}"
        same = [sibling for sibling in element.getparent() if sibling.tag == element.tag]
        steps.append(f"{name}[{same.index(element) + 1}]" if len(same) > 1 else name)
        element = element.getparent()
    return "/".join(reversed(steps))


def _times(rule: Occurs) -> str:
    if rule.min == rule.max == 1:
        return "exactly once"
    if rule.max is None:
        return f"at least {'once' if rule.min == 1 else f'{rule.min} times'}"
    if rule.min == 0:
        return "at most once" if rule.max == 1 else f"at most {rule.max} times"
    return f"between {rule.min} and {rule.max} times"


def _rule_errors(root: etree._Element) -> list[str]:
    errors = []
    for value in _texts(root, "cbc:CopyIndicator"):
        if value != "false":
            errors.append(f"cbc:CopyIndicator must always be false, found {value!r}")
    for value in _texts(root, "cbc:InvoiceTypeCode"):
        if value not in INVOICE_TYPE_CODES:
            errors.append(f"cbc:InvoiceTypeCode must be D (debet) or C (credit), found {value!r}")
    for value in _texts(root, "cac:PaymentMeans/cbc:PaymentMeansCode"):
        if value not in PAYMENT_MEANS_CODES:
            errors.append(f"cac:PaymentMeans/cbc:PaymentMeansCode must be AI or ZV, found {value!r}")
    for country in root.xpath(f"{_CUS}/cac:Party/cac:PostalAddress/cac:Country", namespaces=_NS):
        if _texts(country, "cbc:IdentificationCode") == ["NL"] and _texts(country, "cbc:Name"):
            errors.append("the customer's cac:Country/cbc:Name is only given when the country is not NL, "
                          f"found {_texts(country, 'cbc:Name')[0]!r} for NL")
    for scheme in root.xpath(f"{_CUS}/cac:Party/cac:PartyTaxScheme", namespaces=_NS):
        if not _texts(scheme, "cbc:CompanyID"):
            errors.append(f"{_CUS}/cac:Party/cac:PartyTaxScheme is only given with a VAT number "
                          "(cbc:CompanyID)")
    currency = _texts(root, "cbc:DocumentCurrencyCode")
    for node in root.xpath(".//*[@currencyID]"):
        if currency and node.get("currencyID") != currency[0]:
            errors.append(f"line {node.sourceline}: currencyID {node.get('currencyID')!r} differs from "
                          f"cbc:DocumentCurrencyCode {currency[0]!r}")
    return errors + _sum_errors(root)


def _sum_errors(root: etree._Element) -> list[str]:
    """The totals add up. Checked only where each total occurs once: a doubled total is reported above."""
    try:
        excl = _amounts(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")
        payable = _amounts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")
        tax = _amounts(root, "cac:TaxTotal/cbc:TaxAmount")
        subtotals = _amounts(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount")
        lines = _amounts(root, f"{_LINE}/cbc:LineExtensionAmount")
    except ValueError as exc:
        return [str(exc)]
    errors = []
    tax_total = tax[0] if len(tax) == 1 else (Decimal(0) if not tax else None)
    if len(excl) == 1 and len(payable) == 1 and tax_total is not None and payable[0] != excl[0] + tax_total:
        errors.append(f"cbc:PayableAmount {payable[0]} must equal cbc:TaxExclusiveAmount {excl[0]} + "
                      f"cac:TaxTotal/cbc:TaxAmount {tax_total} = {excl[0] + tax_total}")
    if len(excl) == 1 and lines and excl[0] != sum(lines):
        errors.append(f"cbc:TaxExclusiveAmount {excl[0]} must equal the sum of the lines' "
                      f"cbc:LineExtensionAmount {sum(lines)}")
    if len(tax) == 1 and subtotals and tax[0] != sum(subtotals):
        errors.append(f"cac:TaxTotal/cbc:TaxAmount {tax[0]} must equal the sum of its subtotals "
                      f"{sum(subtotals)}")
    count = _texts(root, "cbc:LineCountNumeric")
    found = len(root.xpath(_LINE, namespaces=_NS))
    if len(count) == 1 and count[0] != str(found):
        errors.append(f"cbc:LineCountNumeric is {count[0]} but the invoice has {found} cac:InvoiceLine")
    return errors


def _texts(node: etree._Element, path: str) -> list[str]:
    return [(element.text or "").strip() for element in node.xpath(path, namespaces=_NS)]


def _amounts(root: etree._Element, path: str) -> list[Decimal]:
    values = []
    for element in root.xpath(path, namespaces=_NS):
        try:
            values.append(Decimal((element.text or "").strip()))
        except InvalidOperation:
            raise ValueError(f"line {element.sourceline}: {path} {element.text!r} is not an amount") from None
    return values
