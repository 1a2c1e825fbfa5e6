"""The CB service invoice as data: realistic, internally consistent, deterministic."""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import date
from decimal import Decimal

import pytest
from stdnum import iban
from stdnum.be import vat as be_vat
from stdnum.nl import btw

from simulators.cbftp.invoices import (EXEMPTION_ARTICLE_44, SUPPLIER, InvoiceLine, generate_invoice, money,
                                       totals_for)

ISSUE = date(2017, 10, 9)  # the seed's example date
SEEDS = range(50)


def make(seed: int, **kwargs) -> object:
    kwargs.setdefault("relation_id", "7000123")
    kwargs.setdefault("issue_date", ISSUE)
    return generate_invoice(random.Random(seed), **kwargs)


def two_decimals(value: Decimal) -> bool:
    return value == value.quantize(Decimal("0.01")) and value.as_tuple().exponent == -2


def test_same_seed_same_invoice_other_seed_other_invoice():
    assert make(7) == make(7)
    assert make(7) != make(8)


def test_the_supplier_is_centraal_boekhuis_as_in_the_seed():
    assert SUPPLIER.name == "Centraal Boekhuis B.V."
    assert SUPPLIER.kvk == "11011108"
    assert SUPPLIER.vat_number == "NL001482403B01" and btw.is_valid(SUPPLIER.vat_number)
    address = SUPPLIER.address
    assert (address.postbox, address.postal_zone, address.city) == ("125", "4100 AC", "Culemborg")
    assert (address.country_code, address.country_name) == ("NL", "Nederland")
    means = make(1).payment_means[0]
    assert (means.iban, means.bic, means.bank_name) == ("NL14RABO0153558563", "RABONL2U", "Rabobank")
    assert iban.is_valid(means.iban)


@pytest.mark.parametrize("seed", SEEDS)
def test_identifiers_pass_their_check_digits(seed):
    invoice = make(seed)
    customer = invoice.customer
    assert iban.is_valid(customer.iban), customer.iban
    if customer.address.country_code == "NL":
        assert customer.iban.startswith("NL")
        assert re.fullmatch(r"[1-9]\d{7}", customer.kvk), customer.kvk  # stdnum has no KvK module: 8 digits
        if customer.vat_number:
            assert re.fullmatch(r"NL\d{9}B\d{2}", customer.vat_number)
            assert btw.is_valid(customer.vat_number), customer.vat_number
    else:
        assert be_vat.is_valid(customer.vat_number), customer.vat_number
    assert re.fullmatch(r"\d{7}", invoice.relation_id)
    assert re.fullmatch(r"K\d{7}", invoice.number)


@pytest.mark.parametrize("seed", SEEDS)
def test_totals_are_consistent_with_the_lines(seed):
    invoice = make(seed)
    for line in invoice.lines:
        assert line.line_extension_amount == money(line.quantity * line.price_amount)
        assert two_decimals(line.line_extension_amount) and two_decimals(line.tax_amount)
    assert invoice.tax_exclusive_amount == sum(line.line_extension_amount for line in invoice.lines)
    assert invoice.tax_amount == sum(sub.tax_amount for sub in invoice.tax_subtotals)
    assert invoice.tax_amount == sum(line.tax_amount for line in invoice.lines)
    assert sum(sub.taxable_amount for sub in invoice.tax_subtotals) == invoice.tax_exclusive_amount
    assert invoice.payable_amount == invoice.tax_exclusive_amount + invoice.tax_amount
    for amount in (invoice.tax_amount, invoice.tax_exclusive_amount, invoice.payable_amount):
        assert two_decimals(amount)
    assert len({sub.percent for sub in invoice.tax_subtotals}) == len(invoice.tax_subtotals)
    assert invoice.line_count == len(invoice.lines)


def test_the_seeds_example_line_adds_up_the_same_way():
    # Seed 002: VR7 - 4, 56 x 1.680 = 94.08, VAT 21 % = 19.76.
    line = InvoiceLine(id="VR7 - 4", quantity=Decimal(56), price_amount=Decimal("1.680"),
                       line_extension_amount=money(Decimal(56) * Decimal("1.680")), tax_percent=Decimal(21),
                       tax_category_id="H", descriptions=("Zending aangeslotene BE (<0,5 kg), zending",),
                       standard_item_id="VR7 - 4")
    assert (line.line_extension_amount, line.tax_amount) == (Decimal("94.08"), Decimal("19.76"))
    totals = totals_for([line, line])
    assert totals["payable_amount"] == Decimal("227.68")


def test_rates_21_and_9_at_home_0_with_the_legal_text_abroad():
    seen: set[tuple[str, Decimal]] = set()
    for seed in SEEDS:
        invoice = make(seed)
        country = invoice.customer.address.country_code
        for sub in invoice.tax_subtotals:
            seen.add((country, sub.percent))
            if sub.percent == 0:
                assert sub.exemption_reason == EXEMPTION_ARTICLE_44
            else:
                assert sub.exemption_reason is None
        if country != "NL":
            assert invoice.customer.address.country_name == "België"
        else:
            assert invoice.customer.address.country_name is None
    assert seen == {("NL", Decimal(21)), ("NL", Decimal(9)), ("BE", Decimal(0))}


@pytest.mark.parametrize("issue, start, end", [
    (date(2017, 10, 9), date(2017, 9, 1), date(2017, 9, 30)),
    (date(2024, 3, 1), date(2024, 2, 1), date(2024, 2, 29)),
    (date(2026, 1, 15), date(2025, 12, 1), date(2025, 12, 31)),
])
def test_the_period_is_the_month_before_the_issue_date(issue, start, end):
    invoice = make(3, issue_date=issue)
    assert (invoice.period_start, invoice.period_end) == (start, end)
    assert invoice.note == f"Periode: {start:%d-%m-%Y} t/m {end:%d-%m-%Y}"
    assert invoice.payment_means[0].due_date > issue


def test_the_seeds_period_note_and_file_names():
    invoice = make(1, number="K1734987")
    assert invoice.note == "Periode: 01-09-2017 t/m 30-09-2017"
    assert invoice.billing_references == ("K1734987.pdf",)
    assert invoice.file_stem == "7000123_K1734987"


def test_arguments_are_honoured():
    invoice = make(4, number="K1700001", customer_name="XYZ, Uitgeverij", lines=25)
    assert invoice.number == "K1700001"
    assert invoice.customer.name == "XYZ, Uitgeverij"
    assert len(invoice.lines) == 25 == invoice.line_count
    assert len({line.id for line in invoice.lines}) == 25
    with pytest.raises(ValueError, match="at least one line"):
        make(4, lines=0)


def test_a_credit_invoice_has_type_c_and_a_settlement_note():
    assert make(5).type_code == "D"
    credit = make(5, credit=True)
    assert credit.type_code == "C"
    assert credit.payable_amount > 0  # [CHOSEN] the type code carries the direction, amounts stay positive
    assert credit.payment_means[0].instruction_note in ("Verrekening via automatische incasso",
                                                        "Verrekening met afdracht")


@pytest.mark.parametrize("seed", range(10))
def test_lines_carry_cbs_extra_elements(seed):
    for line in make(seed).lines:
        names = [name for name, _ in line.properties]
        assert names[:4] == ["Bijlage identificatie", "Bijlage naam", "Factuurrubriekregel", "Bijlagerubriek"]
        specification = [value for name, value in line.properties if name == "Bijlage specificatie"]
        assert len(specification) >= 2 and specification[0].startswith("DATUM")
        assert line.id.startswith(dict(line.properties)["Bijlage identificatie"] + " - ")
        assert line.standard_item_id == line.id
        # each dated row "dd-mm-yyyy count [weight]" falls in the period; the counts add up to the quantity
        counts = 0
        for row in specification[1:]:
            day, count, *_ = row.split()
            assert "09-2017" in day
            counts += int(count)
        assert counts == line.quantity


def test_e_book_services_carry_the_eboekhuis_mail_address():
    for seed in SEEDS:
        invoice = make(seed)
        has_ebooks = any(line.id.startswith("EB4") for line in invoice.lines)
        assert (invoice.supplier.email == "ebooks@cb.nl") == has_ebooks


def test_with_lines_recomputes_the_totals():
    invoice = make(6)
    fewer = invoice.with_lines(invoice.lines[:1])
    assert fewer.tax_exclusive_amount == invoice.lines[0].line_extension_amount
    assert fewer.payable_amount == fewer.tax_exclusive_amount + invoice.lines[0].tax_amount
    stale = dataclasses.replace(invoice, lines=invoice.lines[:1])  # a fault scenario keeps stale totals
    assert stale.payable_amount == invoice.payable_amount


def test_fixing_one_argument_leaves_the_rest_of_the_invoice_as_the_seed_made_it():
    plain = make(12)
    named = make(12, number="K1700042", customer_name="XYZ, Uitgeverij")
    assert named.customer.address == plain.customer.address
    assert named.lines == plain.lines
    assert named.order_reference == plain.order_reference
