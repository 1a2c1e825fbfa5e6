"""The UBL invoice: valid against OASIS UBL 2.1, complete against seed 002, checked by CB's profile."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from simulators.cbftp.invoices import generate_invoice
from simulators.cbftp.profile import CB_CARDINALITIES, check_cb_profile
from simulators.cbftp.ubl import NS_CAC, NS_CBC, NS_INVOICE, build_ubl, load_ubl_schema, validate_ubl

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
UBL_DIR = SHARED / "reference" / "ubl-2.1"
NS = {"cac": NS_CAC, "cbc": NS_CBC, "inv": NS_INVOICE}
SEEDS = range(50)

# Seed 002's table, every row as an absolute path (restated here, not imported, so a slip in
# profile.py cannot hide itself). The first group occurs in every invoice CB sends.
ALWAYS = [
    "cbc:UBLVersionID", "cbc:ID", "cbc:CopyIndicator", "cbc:IssueDate", "cbc:InvoiceTypeCode", "cbc:Note",
    "cbc:DocumentCurrencyCode", "cbc:LineCountNumeric",
    "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",
    "cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID",
    "cac:AccountingSupplierParty/cac:Party/cac:PartyName/cbc:Name",
    "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:Postbox",
    "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:CityName",
    "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:PostalZone",
    "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode",
    "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:Name",
    "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
    "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cac:TaxScheme/cbc:Name",
    "cac:AccountingSupplierParty/cac:AccountingContact/cbc:Telephone",
    "cac:AccountingCustomerParty/cbc:SupplierAssignedAccountID",
    "cac:AccountingCustomerParty/cac:Party/cac:PartyName/cbc:Name",
    "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:StreetName",
    "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:CityName",
    "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:PostalZone",
    "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode",
    "cac:PaymentMeans/cbc:PaymentMeansCode", "cac:PaymentMeans/cbc:PaymentDueDate",
    "cac:PaymentMeans/cbc:InstructionNote", "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID",
    "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID",
    "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:Name",
    "cac:TaxTotal/cbc:TaxAmount", "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount",
    "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", "cac:TaxTotal/cac:TaxSubtotal/cbc:Percent",
    "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cac:TaxScheme/cbc:Name",
    "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", "cac:LegalMonetaryTotal/cbc:PayableAmount",
    "cac:InvoiceLine/cbc:ID", "cac:InvoiceLine/cbc:InvoicedQuantity",
    "cac:InvoiceLine/cbc:LineExtensionAmount", "cac:InvoiceLine/cac:TaxTotal/cbc:TaxAmount",
    "cac:InvoiceLine/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount",
    "cac:InvoiceLine/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount",
    "cac:InvoiceLine/cac:TaxTotal/cac:TaxSubtotal/cbc:Percent",
    "cac:InvoiceLine/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cac:TaxScheme/cbc:Name",
    "cac:InvoiceLine/cac:Item/cbc:Description",
    "cac:InvoiceLine/cac:Item/cac:StandardItemIdentification/cbc:ID",
    "cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:ID",
    "cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cac:TaxScheme/cbc:Name",
    "cac:InvoiceLine/cac:Item/cac:AdditionalItemProperty/cbc:Name",
    "cac:InvoiceLine/cac:Item/cac:AdditionalItemProperty/cbc:Value",
    "cac:InvoiceLine/cac:Price/cbc:PriceAmount",
]
# Rows the seed fills only when they apply: a PO number, e-book services (eBoekhuis), an attention
# line, a customer abroad (country name, 0 % with its legal text), a customer with a VAT number.
SOMETIMES = [
    "cac:OrderReference/cbc:ID",
    "cac:AccountingSupplierParty/cac:AccountingContact/cbc:ElectronicMail",
    "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:InhouseMail",
    "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cac:Country/cbc:Name",
    "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
    "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cac:TaxScheme/cbc:Name",
    "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason",
]
CB_EXTRA_ELEMENTS = ["Bijlage identificatie", "Bijlage naam", "Factuurrubriekregel", "Bijlagerubriek",
                     "Bijlage specificatie"]


def make_xml(seed: int, **kwargs) -> bytes:
    kwargs.setdefault("relation_id", "7000123")
    kwargs.setdefault("issue_date", date(2017, 10, 9))
    return build_ubl(generate_invoice(random.Random(seed), **kwargs))


def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


@pytest.fixture(scope="module")
def schema():
    if not (UBL_DIR / "maindoc" / "UBL-Invoice-2.1.xsd").is_file():
        pytest.skip(f"the OASIS UBL 2.1 schemas are not at {UBL_DIR} (the shared reference folder is absent)")
    return load_ubl_schema(UBL_DIR)


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_invoices_are_valid_against_the_oasis_schema(schema, seed):
    assert validate_ubl(make_xml(seed, credit=seed % 7 == 0), schema) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_invoices_follow_cbs_profile(seed):
    assert check_cb_profile(make_xml(seed, credit=seed % 7 == 0)) == []


def test_every_element_of_the_seeds_table_is_generated():
    missing_always: dict[str, list[int]] = {}
    seen_sometimes: set[str] = set()
    for seed in SEEDS:
        root = tree(make_xml(seed))
        for path in ALWAYS:
            if not root.xpath(path, namespaces=NS):
                missing_always.setdefault(path, []).append(seed)
        seen_sometimes.update(path for path in SOMETIMES if root.xpath(path, namespaces=NS))
        names = set(root.xpath("cac:InvoiceLine/cac:Item/cac:AdditionalItemProperty/cbc:Name/text()",
                               namespaces=NS))
        assert names == set(CB_EXTRA_ELEMENTS)
    assert missing_always == {}
    assert sorted(set(SOMETIMES) - seen_sometimes) == []


def test_every_path_of_the_profile_table_is_exercised_by_generated_invoices():
    roots = [tree(make_xml(seed)) for seed in SEEDS]
    unused = []
    for rule in CB_CARDINALITIES:
        path = f"{rule.context}/{rule.path}" if rule.context else rule.path
        if not any(root.xpath(path, namespaces=NS) for root in roots):
            unused.append(path)
    assert unused == []


def test_the_header_matches_the_seed():
    root = tree(make_xml(1, number="K1734987"))

    def text(path):
        return root.xpath(f"string({path})", namespaces=NS)
    assert root.tag == f"{{{NS_INVOICE}}}Invoice"
    assert text("cbc:UBLVersionID") == "2.0"
    assert text("cbc:CopyIndicator") == "false"
    assert text("cbc:IssueDate") == "2017-10-09"
    assert text("cbc:Note") == "Periode: 01-09-2017 t/m 30-09-2017"
    assert text("cbc:DocumentCurrencyCode") == "EUR"
    assert text("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == "K1734987.pdf"
    assert text("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") == "NL001482403B01"
    assert text("cac:AccountingCustomerParty/cbc:SupplierAssignedAccountID") == "7000123"
    # the seed's misspelling "FinancialInstitionBranch" is not what the schema (or we) write
    assert b"FinancialInstitutionBranch" in make_xml(1) and b"FinancialInstitionBranch" not in make_xml(1)
    for amount in root.xpath("//cbc:TaxAmount | //cbc:PayableAmount", namespaces=NS):
        assert amount.get("currencyID") == "EUR"
        assert Decimal(amount.text).as_tuple().exponent == -2


def test_the_same_seed_gives_the_same_bytes():
    assert make_xml(11) == make_xml(11)
    assert make_xml(11) != make_xml(12)


def test_a_credit_invoice_has_type_code_c():
    assert tree(make_xml(3)).findtext(f"{{{NS_CBC}}}InvoiceTypeCode") == "D"
    assert tree(make_xml(3, credit=True)).findtext(f"{{{NS_CBC}}}InvoiceTypeCode") == "C"


# --- the profile check catches each deliberate violation -----------------------------------------------

def mutate(xml: bytes, change) -> bytes:
    root = tree(xml)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def first(root, path):
    return root.xpath(path, namespaces=NS)[0]


def nl_and_be_invoices() -> tuple[bytes, bytes]:
    found = {}
    for seed in SEEDS:
        xml = make_xml(seed)
        code = tree(xml).xpath("string(cac:AccountingCustomerParty//cac:Country/cbc:IdentificationCode)",
                               namespaces=NS)
        found.setdefault(code, xml)
    return found["NL"], found["BE"]


def test_missing_supplier_is_reported():
    xml = mutate(make_xml(2), lambda r: r.remove(first(r, "cac:AccountingSupplierParty")))
    assert "cac:AccountingSupplierParty must occur exactly once, found 0" in "\n".join(check_cb_profile(xml))


def test_copy_indicator_true_is_reported():
    xml = mutate(make_xml(2), lambda r: setattr(first(r, "cbc:CopyIndicator"), "text", "true"))
    assert check_cb_profile(xml) == ["cbc:CopyIndicator must always be false, found 'true'"]


def test_two_legal_monetary_totals_are_reported():
    def double(root):
        total = first(root, "cac:LegalMonetaryTotal")
        total.addnext(etree.fromstring(etree.tostring(total)))
    errors = check_cb_profile(mutate(make_xml(2), double))
    assert any("cac:LegalMonetaryTotal must occur exactly once, found 2" in e for e in errors), errors


def test_a_wrong_payable_amount_is_reported():
    def off_by_a_cent(root):
        payable = first(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")
        payable.text = str(Decimal(payable.text) + Decimal("0.01"))
    errors = check_cb_profile(mutate(make_xml(2), off_by_a_cent))
    assert len(errors) == 1 and "PayableAmount" in errors[0] and "must equal" in errors[0], errors


def test_a_country_name_for_a_dutch_customer_is_reported():
    nl, be = nl_and_be_invoices()
    assert check_cb_profile(be) == []  # abroad the name belongs there

    def add_name(root):
        country = first(root, "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cac:Country")
        etree.SubElement(country, f"{{{NS_CBC}}}Name").text = "Nederland"
    errors = check_cb_profile(mutate(nl, add_name))
    assert len(errors) == 1 and "only given when the country is not NL" in errors[0], errors


def test_other_rules_of_the_profile():
    xml = make_xml(2)
    wrong_type = mutate(xml, lambda r: setattr(first(r, "cbc:InvoiceTypeCode"), "text", "380"))
    assert check_cb_profile(wrong_type) == [
        "cbc:InvoiceTypeCode must be D (debet) or C (credit), found '380'"]
    no_item_id = mutate(xml, lambda r: first(r, "cac:InvoiceLine/cac:Item").remove(
        first(r, "cac:InvoiceLine/cac:Item/cac:StandardItemIdentification")))
    assert any(e.startswith("cac:InvoiceLine[1]/cac:Item/cac:StandardItemIdentification/cbc:ID must occur "
                            "exactly once, found 0") for e in check_cb_profile(no_item_id))
    wrong_count = mutate(xml, lambda r: setattr(first(r, "cbc:LineCountNumeric"), "text", "692"))
    assert any("LineCountNumeric" in e for e in check_cb_profile(wrong_count))
    not_an_invoice = b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>'
    assert "not the UBL Invoice" in check_cb_profile(not_an_invoice)[0]


def test_unsafe_or_broken_input_is_refused_not_parsed(schema):
    xxe = (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
           b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&e;</Invoice>')
    for errors in (validate_ubl(xxe, schema), check_cb_profile(xxe)):
        assert len(errors) == 1 and "DOCTYPE" in errors[0]
    assert "not well-formed" in validate_ubl(b"<Invoice>", schema)[0]


def test_schema_errors_name_their_line(schema):
    def swap(root):  # IssueDate before ID: out of the schema's order
        root.insert(1, first(root, "cbc:IssueDate"))
    errors = validate_ubl(mutate(make_xml(2), swap), schema)
    assert errors and errors[0].startswith("line ") and "IssueDate" in errors[0], errors


def test_the_schema_is_built_once_per_directory(schema):
    assert load_ubl_schema(UBL_DIR) is schema
    assert load_ubl_schema(str(UBL_DIR / "maindoc" / "..")) is schema
    with pytest.raises(FileNotFoundError):
        load_ubl_schema(UBL_DIR / "nowhere")


def test_validation_time_per_invoice_is_reported_not_asserted(schema):
    invoices = [make_xml(seed) for seed in range(20)]
    start = time.perf_counter()
    for xml in invoices:
        validate_ubl(xml, schema)
    per_invoice = (time.perf_counter() - start) / len(invoices)
    # Information for `pytest -s`; machines differ too much for a timed assertion.
    print(f"\nUBL validation with a prebuilt schema: {per_invoice * 1000:.2f} ms per invoice")


def test_threads_sharing_one_schema_get_their_own_errors(schema):
    good = make_xml(4)
    bad = mutate(make_xml(4), lambda r: r.insert(1, first(r, "cbc:IssueDate")))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda xml: validate_ubl(xml, schema), [good, bad] * 200))
    assert all(result == [] for result in results[::2])
    assert all(result and "IssueDate" in result[0] for result in results[1::2])
