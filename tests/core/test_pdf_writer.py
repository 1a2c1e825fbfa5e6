"""The small PDF writer: a file every reader opens, text that reads back (Dutch letters and €), widths
true to the fonts so right-aligned amounts line up, wrapping, page breaks, the same bytes every time."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader

from simulators.core.pdf import (A4, FONTS, HELVETICA, HELVETICA_BOLD, HELVETICA_OBLIQUE, DocumentInfo, Flow,
                                 PdfDocument, string_width, to_winansi, wrap_text)

PT_PER_MM = 72 / 25.4
DUTCH = "Financiële administratie, café, Müller, naïef, Zoë – “aanhalingstekens” € 1.234,50"
PAYMENT = ("Door u over te maken: gelieve het totaalbedrag van EUR 2.074,35 vóór 15-11-2017 over te maken op "
           "IBAN NL14RABO0153558563 (BIC RABONL2U, Rabobank) ten name van Centraal Boekhuis B.V., onder "
           "vermelding van factuurnummer K1776826 en relatienummer 7000123.")
ISSUED = datetime(2017, 10, 9, tzinfo=timezone.utc)


def sample(title: str = "Factuur Zoë € 1", creation_date: datetime | None = ISSUED) -> bytes:
    document = PdfDocument(DocumentInfo(title=title, author="Centraal Boekhuis B.V.", creator="tests",
                                        creation_date=creation_date))
    page = document.add_page()
    page.text(20, 30, DUTCH)
    page.rect(20, 40, 170, 6, fill=0.88, stroke=None)
    page.cell(20, 40, 170, 6, "Bedrag", font=HELVETICA_BOLD, size=8, align="right")
    page.line(20, 46, 190, 46)
    page.cell(20, 50, 170, 5, "EUR 2.074,35", font=HELVETICA_BOLD, size=9, align="right")
    page.cell(20, 60, 170, 5, "in het midden", align="center")
    page.paragraph(21, 70, 168, PAYMENT, size=9, leading=4.6, align="justify")
    document.add_page().text(20, 30, "tweede pagina", font=HELVETICA_OBLIQUE)
    return document.to_bytes()


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf), strict=True)


def text_runs(pdf: bytes, page: int = 0) -> list[tuple[str, float, float, float]]:
    """(text, x, y, size) of each text run on a page, from pypdf's visitor, in points."""
    runs = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            runs.append((text, tm[4] + cm[4], tm[5] + cm[5], font_size))

    reader(pdf).pages[page].extract_text(visitor_text=visit)
    return runs


def run_of(pdf: bytes, text: str) -> tuple[str, float, float, float]:
    return next(run for run in text_runs(pdf) if run[0].strip() == text)


# -- structure ----------------------------------------------------------------------------------------

def test_any_reader_opens_it_a4_pages_and_the_document_information():
    pdf = sample()
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    document = reader(pdf)
    assert len(document.pages) == 2
    assert float(document.pages[0].mediabox.width) == pytest.approx(595.28, abs=0.01)
    assert float(document.pages[0].mediabox.height) == pytest.approx(841.89, abs=0.01)
    assert document.metadata.title == "Factuur Zoë € 1"  # not transliterated: UTF-16 in the info
    assert document.metadata.author == "Centraal Boekhuis B.V."
    assert document.metadata.creator == "tests"
    assert document.metadata.creation_date == ISSUED


def test_the_cross_reference_table_points_at_every_object():
    pdf = sample()
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf).group(1))
    assert pdf[startxref:].startswith(b"xref\n0 ")
    count = int(re.match(rb"xref\n0 (\d+)\n", pdf[startxref:]).group(1))
    table = pdf[startxref:].split(b"\n", 2)[2]
    entries = [table[i * 20:(i + 1) * 20] for i in range(count)]
    assert entries[0] == b"0000000000 65535 f\r\n"
    for number, entry in enumerate(entries[1:], start=1):
        assert re.fullmatch(rb"\d{10} 00000 n\r\n", entry)
        assert pdf[int(entry[:10]):].startswith(b"%d 0 obj\n" % number)
    assert re.search(rb"/Size %d\b" % count, pdf)


def test_only_the_fonts_used_are_declared_all_as_winansi_core_fonts():
    pdf = sample()
    for font in FONTS:
        assert b"/BaseFont /" + font.encode() in pdf
    assert pdf.count(b"/Encoding /WinAnsiEncoding") == 3
    plain = PdfDocument()
    plain.add_page().text(10, 10, "alleen Helvetica")
    assert plain.to_bytes().count(b"/Type /Font") == 1


def test_content_streams_are_flate_compressed():
    pdf = sample()
    streams = re.findall(rb"<< /Length (\d+) /Filter /FlateDecode >>\nstream\n", pdf)
    assert len(streams) == 2
    start = pdf.index(b"stream\n") + len(b"stream\n")
    content = zlib.decompress(pdf[start:start + int(streams[0])])
    assert b" Tj ET" in content and b" re f Q" in content


def test_a_document_without_pages_is_refused():
    with pytest.raises(ValueError):
        PdfDocument().to_bytes()


# -- text and characters --------------------------------------------------------------------------------

def test_dutch_letters_euro_and_curly_quotes_read_back():
    text = reader(sample()).pages[0].extract_text()
    assert DUTCH in text
    assert "tweede pagina" in reader(sample()).pages[1].extract_text()


def test_the_euro_is_winansi_code_128_not_eur():
    document = PdfDocument()
    document.add_page().text(10, 10, "€")
    pdf = document.to_bytes()
    start = pdf.index(b"stream\n") + len(b"stream\n")
    content = zlib.decompress(pdf[start:pdf.index(b"\nendstream")])
    assert b"(\x80) Tj" in content


@pytest.mark.parametrize("given, shown", [
    ("Financiële café Müller naïef", "Financiële café Müller naïef"),
    ("€ – — “ ” ‘ ’ „ … • Œ œ Š ž Ÿ ™", "€ – — “ ” ‘ ’ „ … • Œ œ Š ž Ÿ ™"),  # all WinAnsi, kept
    ("Łódź Książki", "Lódz Ksiazki"),  # accents WinAnsi lacks are dropped, ó stays
    ("ĳs ﬁets", "ijs fiets"),  # ligatures spelled out
    ("tab\there\nnewline", "tab here newline"),
    ("日本 \x00", "?? ?"),
])
def test_text_outside_winansi_is_transliterated(given, shown):
    assert to_winansi(given) == shown
    to_winansi(given).encode("cp1252")  # always encodable


def test_special_characters_in_strings_are_escaped():
    document = PdfDocument()
    document.add_page().text(10, 10, r"a (b) \ c")
    assert r"a (b) \ c" in reader(document.to_bytes()).pages[0].extract_text()


# -- widths and alignment -------------------------------------------------------------------------------

def test_widths_are_helvetica_s_afm_widths():
    # H 722, e 556, l 222, l 222, o 556 (Helvetica.afm) = 2278/1000 em; at 10 pt that is 22.78 pt
    assert string_width("Hello", HELVETICA, 10) == pytest.approx(22.78 / PT_PER_MM)
    # Helvetica-Bold: E 667, U 722, R 722, space 278, € 556
    assert string_width("EUR €", HELVETICA_BOLD, 10) == pytest.approx(29.45 / PT_PER_MM)
    assert string_width("Hello", HELVETICA_OBLIQUE, 10) == string_width("Hello", HELVETICA, 10)
    assert string_width("ë") == string_width("e")  # accented letters are as wide as their base


def test_every_winansi_width_matches_pypdf_s_copy_of_the_adobe_afm_files():
    metrics = pytest.importorskip("pypdf._codecs.core_font_metrics",
                                  reason="pypdf moved its core font metrics").CORE_FONT_METRICS
    for font in FONTS:
        widths = metrics[font].character_widths
        for code in [*range(32, 127), *range(128, 256)]:
            try:
                char = bytes([code]).decode("cp1252")
            except UnicodeDecodeError:
                continue  # the five codes WinAnsi leaves unused
            if char in widths and char != "'":  # pypdf keys ' by StandardEncoding's quoteright
                assert string_width(char, font, 1000) * PT_PER_MM == pytest.approx(widths[char]), (font, char)


def test_a_right_aligned_amount_ends_at_the_right_margin():
    pdf = sample()
    _, x, _, size = run_of(pdf, "EUR 2.074,35")
    end = x + string_width("EUR 2.074,35", HELVETICA_BOLD, size) * PT_PER_MM
    assert end == pytest.approx(189 * PT_PER_MM, abs=0.02)  # 190 mm margin, 1 mm padding
    _, x, _, size = run_of(pdf, "Bedrag")
    assert x + string_width("Bedrag", HELVETICA_BOLD, size) * PT_PER_MM == pytest.approx(189 * PT_PER_MM,
                                                                                         abs=0.02)


def test_centred_text_is_centred_and_y_counts_from_the_top():
    pdf = sample()
    _, x, y, size = run_of(pdf, "in het midden")
    middle = x + string_width("in het midden", HELVETICA, size) * PT_PER_MM / 2
    assert middle == pytest.approx(105 * PT_PER_MM, abs=0.02)
    _, _, y, _ = run_of(pdf, DUTCH)
    assert y == pytest.approx((A4[1] - 30) * PT_PER_MM, abs=0.01)  # baseline 30 mm from the top


def test_justified_lines_fill_the_width_but_the_last_line_does_not():
    pdf = sample()
    start = pdf.index(b"stream\n") + len(b"stream\n")
    content = zlib.decompress(pdf[start:pdf.index(b"\nendstream")])
    lines = wrap_text(PAYMENT, 168, HELVETICA, 9)
    assert len(lines) == 3
    assert content.count(b" Tw ") == len(lines) - 1
    text = reader(pdf).pages[0].extract_text()
    assert "factuurnummer K1776826 en relatienummer 7000123." in text


# -- wrapping ------------------------------------------------------------------------------------------------

def test_wrapping_keeps_every_word_and_every_line_within_the_width():
    lines = wrap_text(PAYMENT, 60, HELVETICA, 9)
    assert len(lines) > 3
    assert all(string_width(line, HELVETICA, 9) <= 60 for line in lines)
    assert " ".join(lines).split() == PAYMENT.split()
    # greedy: the next word would not have fitted on the line before
    for line, following in zip(lines, lines[1:]):
        assert string_width(f"{line} {following.split()[0]}", HELVETICA, 9) > 60


def test_wrapping_honours_newlines_and_breaks_a_word_too_long_for_a_line():
    assert wrap_text("één\n\ntwee", 100) == ["één", "", "twee"]
    long_word = "NL14RABO0153558563" * 3
    lines = wrap_text(long_word, 30, HELVETICA, 9)
    assert "".join(lines) == long_word and len(lines) > 1
    assert all(string_width(line, HELVETICA, 9) <= 30 for line in lines)
    assert wrap_text("", 50) == [""]


# -- pages and determinism ---------------------------------------------------------------------------------

def test_a_flow_runs_over_pages_keeps_blocks_together_and_repeats_a_heading():
    document = PdfDocument()
    headings = []

    def heading(page):
        headings.append(page)
        page.cell(20, 20, 170, 6, "Kop", font=HELVETICA_BOLD)
        return 26

    flow = Flow(document, top=20, bottom=275, on_new_page=heading)
    for number in range(60):
        page = flow.reserve(10)
        assert flow.y + 10 <= 275  # the whole block fits where it goes
        page.cell(20, flow.y, 170, 10, f"blok {number}")
        flow.y += 10
    assert len(document.pages) == 3 and headings == document.pages[1:]
    pdf = document.to_bytes()
    assert len(reader(pdf).pages) == 3
    assert reader(pdf).pages[2].extract_text().startswith("Kop")
    assert "blok 59" in reader(pdf).pages[2].extract_text()


def test_a_block_taller_than_a_page_does_not_add_pages_for_ever():
    document = PdfDocument()
    flow = Flow(document, top=20, bottom=275)
    flow.reserve(400)
    flow.y += 400
    flow.reserve(400)
    assert len(document.pages) == 2


def test_the_same_input_gives_the_same_bytes_and_nothing_reads_the_clock():
    assert sample() == sample()
    assert sample(creation_date=ISSUED + timedelta(days=1)) != sample()
    assert sample(title="Factuur 2") != sample()
    assert b"/CreationDate" not in sample(creation_date=None)
    amsterdam = timezone(timedelta(hours=2))
    assert b"(D:20171009120000+02'00')" in sample(creation_date=datetime(2017, 10, 9, 12, tzinfo=amsterdam))


# -- rendered by a real reader --------------------------------------------------------------------------

PDFTOPPM = shutil.which("pdftoppm")


def render_grey(pdf: bytes, tmp_path, dpi: int) -> tuple[int, int, bytes]:
    """The first page as an 8-bit grey image (PGM, parsed by hand: no imaging library needed)."""
    (tmp_path / "page.pdf").write_bytes(pdf)
    subprocess.run([PDFTOPPM, "-gray", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "page.pdf"), str(tmp_path / "page")], check=True, timeout=60)
    data = (tmp_path / "page.pgm").read_bytes()
    magic, width, height, maximum, pixels = data.split(maxsplit=4)
    assert magic == b"P5" and maximum == b"255"
    return int(width), int(height), pixels


@pytest.mark.skipif(PDFTOPPM is None,
                    reason="pdftoppm is not installed (Debian: apt-get install poppler-utils)")
def test_poppler_renders_the_page_with_the_ink_inside_the_margins(tmp_path):
    dpi = 100
    width, height, pixels = render_grey(sample(), tmp_path, dpi)
    assert width == pytest.approx(210 / 25.4 * dpi, abs=1)
    assert height == pytest.approx(297 / 25.4 * dpi, abs=1)
    mm = 25.4 / dpi
    dark = re.compile(rb"[\x00-\x7f]")  # darker than mid-grey: ink, not the light grey box

    def ink_span(top_mm: float, bottom_mm: float) -> tuple[float, float] | None:
        """Leftmost and rightmost ink (mm) between two heights on the page."""
        found = []
        for y in range(int(top_mm / mm), min(height, int(bottom_mm / mm))):
            row = pixels[y * width:(y + 1) * width]
            if first := dark.search(row):
                found += [first.start(), width - 1 - dark.search(row[::-1]).start()]
        return (min(found) * mm, max(found) * mm) if found else None

    everything = ink_span(0, 297)
    assert everything, "nothing was drawn"
    assert everything[0] >= 19.5 and everything[1] <= 190.5  # all within the margins
    assert 186 <= ink_span(50, 55)[1] <= 190  # the right-aligned amount ends at the right margin
    grey_box = [pixels[int(43 / mm) * width + int(x / mm)] for x in (25, 100, 150)]  # inside the grey box
    assert all(180 < value < 245 for value in grey_box)
