"""The readable PDF twin of the invoice: real, readable back, deterministic, robust to Dutch names."""

from __future__ import annotations

import io
import random
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from pypdf import PdfReader

from simulators.cbftp.invoices import generate_invoice
from simulators.cbftp.pdf import format_amount, render_pdf, to_latin1


def make(seed: int, **kwargs):
    kwargs.setdefault("relation_id", "7000123")
    kwargs.setdefault("issue_date", date(2017, 10, 9))
    return generate_invoice(random.Random(seed), **kwargs)


def read(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("seed", range(8))
def test_the_pdf_shows_number_relation_amount_and_iban(seed):
    invoice = make(seed, credit=seed % 4 == 3)
    pdf = render_pdf(invoice)
    assert pdf.startswith(b"%PDF-")
    reader, text = read(pdf)
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4
    assert invoice.number in text
    assert invoice.relation_id in text
    assert format_amount(invoice.payable_amount) in text
    assert "NL14RABO0153558563" in text
    assert invoice.note.removeprefix("Periode: ") in text
    assert "KvK 11011108" in text and "NL001482403B01" in text
    for line in invoice.lines:
        assert line.id in text and format_amount(line.line_extension_amount) in text
    for sub in invoice.tax_subtotals:
        assert format_amount(sub.tax_amount) in text
    assert ("CREDITFACTUUR" if invoice.type_code == "C" else "FACTUUR") in text


def test_same_invoice_same_bytes_and_the_creation_date_is_the_issue_date():
    invoice = make(5)
    assert render_pdf(invoice) == render_pdf(make(5))
    reader, _ = read(render_pdf(invoice))
    assert reader.metadata.creation_date == datetime(2017, 10, 9, tzinfo=timezone.utc)
    assert render_pdf(make(5, issue_date=date(2017, 11, 9))) != render_pdf(invoice)


def test_dutch_and_other_characters_do_not_crash_it():
    invoice = make(2, customer_name="Uitgeverij Zoë & Ünal – Łódź “Książki” €")
    _, text = read(render_pdf(invoice))
    # WinAnsi has the en dash, curly quotes and €; only Ł, ź and ą lose what it lacks.
    assert "Uitgeverij Zoë & Ünal – Lódz “Ksiazki” €" in text


def test_transliteration_keeps_latin1_and_replaces_the_rest():
    assert to_latin1("Financiële administratie, café, Müller") == "Financiële administratie, café, Müller"
    assert to_latin1("Łódź – ĳs … 5 €") == "Lódz - ijs ... 5 EUR"  # ó is Latin-1 and stays
    assert to_latin1("日本") == "??"


@pytest.mark.parametrize("amount, text", [("0", "0,00"), ("94.08", "94,08"), ("96620.82", "96.620,82"),
                                          ("1234567.5", "1.234.567,50")])
def test_amounts_use_dutch_notation(amount, text):
    assert format_amount(Decimal(amount)) == text


def test_a_long_invoice_runs_over_pages_and_ends_with_its_total():
    invoice = make(9, lines=60)
    reader, _ = read(render_pdf(invoice))
    assert len(reader.pages) > 1
    last = reader.pages[-1].extract_text()
    assert format_amount(invoice.payable_amount) in last
    assert f"pagina {len(reader.pages)}/{len(reader.pages)}" in last


def test_a_customer_abroad_sees_the_country_and_the_legal_text():
    invoice = next(inv for inv in (make(seed) for seed in range(50))
                   if inv.customer.address.country_code != "NL")
    _, text = read(render_pdf(invoice))
    assert "België" in text
    assert "article 44 of the EC VAT directive" in text
