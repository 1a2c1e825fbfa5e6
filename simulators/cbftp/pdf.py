"""The readable PDF twin of a CB service invoice (``{RelatieID}_{number}.pdf``, seed 002).

Drawn with ``simulators.core.pdf`` in the core font Helvetica, so nothing is embedded and the file stays
small. Core fonts speak WinAnsi (Windows-1252), which has the Dutch letters and €; other characters are
transliterated by the writer (``Ł`` → ``L``) rather than crashing on a customer name. The creation date is
the invoice's issue date, never the wall clock: the same invoice always gives the same bytes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from ..core.pdf import (HELVETICA, HELVETICA_BOLD, HELVETICA_OBLIQUE, DocumentInfo, Flow, Page, PdfDocument,
                        wrap_text)
from .invoices import Party, PaymentMeans, ServiceInvoice

__all__ = ["render_pdf", "format_amount", "to_latin1"]

_REPLACEMENTS = {"€": "EUR", "–": "-", "—": "-", "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"', "„": '"',
                 "…": "...", "•": "-", "Œ": "OE", "œ": "oe", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
                 "ı": "i", "\u00a0": " "}

# The page, in mm: 20 mm margins; content stops 22 mm above the bottom, where the footer lives.
_LEFT, _TOP, _RIGHT = 20.0, 20.0, 190.0
_WIDTH = _RIGHT - _LEFT
_CONTENT_BOTTOM = 297.0 - 22.0
_FOOTER_Y = 297.0 - 15.0
_PAD = 1.0  # text sits 1 mm inside its box, so neighbouring columns never touch
_COLUMN_X = 120.0  # the title, the invoice facts
_ADDRESS_Y = 52.0  # where a window envelope shows the address

# The lines table: (heading, width mm, alignment); row text 8 pt on 4.2 mm lines, 0.8 mm above and below.
_LINE_COLUMNS = (("Regel", 22, "left"), ("Omschrijving", 70, "left"), ("Aantal", 18, "right"),
                 ("Tarief", 18, "right"), ("Bedrag", 26, "right"), ("BTW", 16, "right"))
_TABLE_SIZE, _TABLE_LEADING, _TABLE_PAD_Y = 8, 4.2, 0.8
_HEADING_GREY = 225 / 255


def to_latin1(text: str) -> str:
    """``text`` in Latin-1: as is where it is Latin-1, accents dropped elsewhere, else ``?``. (The PDF
    itself uses the wider WinAnsi set, ``simulators.core.pdf.to_winansi``, which keeps € and “quotes”.)"""
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
        elif char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


def format_amount(amount: Decimal) -> str:
    """Dutch notation, as on CB's paper invoices: 96620.82 → ``96.620,82``."""
    return f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _day(value: date) -> str:
    return f"{value:%d-%m-%Y}"


def render_pdf(invoice: ServiceInvoice) -> bytes:
    """An A4 PDF of ``invoice`` showing everything its UBL carries."""
    title = "Creditfactuur" if invoice.type_code == "C" else "Factuur"
    issued = invoice.issue_date
    document = PdfDocument(DocumentInfo(
        title=f"{title} {invoice.number}", author=invoice.supplier.name, creator="koppelsim cbftp",
        creation_date=datetime(issued.year, issued.month, issued.day, tzinfo=timezone.utc)))
    flow = Flow(document, top=_TOP, bottom=_CONTENT_BOTTOM)
    flow.y = _header(flow.page, invoice, title)
    _lines_table(flow, invoice)
    _totals_and_payment(flow, invoice)
    for number, page in enumerate(document.pages, start=1):
        _footer(page, invoice, number, len(document.pages))
    return document.to_bytes()


def _address_lines(party: Party) -> list[str]:
    a = party.address
    lines = [a.inhouse_mail or "", a.street or "", f"Postbus {a.postbox}" if a.postbox else "",
             f"{a.postal_zone}  {a.city}", a.country_name or ""]
    return [line for line in lines if line]


def _header(page: Page, invoice: ServiceInvoice, title: str) -> float:
    """Supplier top left, the title top right, the customer in the envelope window with the invoice's
    facts beside it; answers where the lines table starts."""
    supplier = invoice.supplier
    page.cell(_LEFT, _TOP, 100, 7, supplier.name, font=HELVETICA_BOLD, size=14)
    contact = " - ".join(c for c in (f"Tel. {supplier.telephone}" if supplier.telephone else "",
                                     supplier.email or "") if c)
    y = _TOP + 7
    for line in (*_address_lines(supplier), contact, f"KvK {supplier.kvk}", f"BTW {supplier.vat_number}"):
        if line:
            page.cell(_LEFT, y, 100, 3.8, line, size=8)
            y += 3.8
    page.cell(_COLUMN_X, _TOP, _RIGHT - _COLUMN_X, 9, title.upper(), font=HELVETICA_BOLD, size=18,
              align="right")

    customer = invoice.customer
    page.cell(_LEFT, _ADDRESS_Y, 90, 5, customer.name, font=HELVETICA_BOLD, size=10)
    customer_bottom = _ADDRESS_Y + 5
    for line in _address_lines(customer):
        page.cell(_LEFT, customer_bottom, 90, 5, line, size=10)
        customer_bottom += 5

    facts = [("Relatienummer", invoice.relation_id), ("Factuurnummer", invoice.number),
             ("Factuurdatum", _day(invoice.issue_date)), ("Periode", invoice.note.removeprefix("Periode: "))]
    if invoice.payment_means:
        facts.append(("Vervaldatum", _day(invoice.payment_means[0].due_date)))
    if invoice.order_reference:
        facts.append(("Uw ordernummer", invoice.order_reference))
    if customer.vat_number:
        facts.append(("Uw BTW-nummer", customer.vat_number))
    y = _ADDRESS_Y
    for label, value in facts:
        page.cell(_COLUMN_X, y, 30, 5, label, size=9)
        page.cell(_COLUMN_X + 30, y, 40, 5, value, font=HELVETICA_BOLD, size=9)
        y += 5
    return max(y, customer_bottom, 80) + 8


@dataclass(frozen=True)
class _Row:
    cells: tuple[list[str], ...]  # each cell's wrapped lines

    @property
    def height(self) -> float:
        return max(len(lines) for lines in self.cells) * _TABLE_LEADING + 2 * _TABLE_PAD_Y


def _table_row(values: tuple[str, ...], font: str) -> _Row:
    return _Row(tuple(wrap_text(value, width - 2 * _PAD, font, _TABLE_SIZE)
                      for value, (_, width, _) in zip(values, _LINE_COLUMNS)))


def _draw_row(page: Page, y: float, row: _Row, font: str) -> None:
    """Each cell's lines centred in the row's height, as a short cell beside a long description is."""
    x = _LEFT
    for lines, (_, width, align) in zip(row.cells, _LINE_COLUMNS):
        top = y + (row.height - len(lines) * _TABLE_LEADING) / 2
        for index, line in enumerate(lines):
            page.cell(x, top + index * _TABLE_LEADING, width, _TABLE_LEADING, line, font=font,
                      size=_TABLE_SIZE, align=align, padding=_PAD)
        x += width


def _draw_heading(page: Page, y: float) -> float:
    heading = _table_row(tuple(name for name, _, _ in _LINE_COLUMNS), HELVETICA_BOLD)
    page.rect(_LEFT, y, _WIDTH, heading.height, fill=_HEADING_GREY, stroke=None)
    _draw_row(page, y, heading, HELVETICA_BOLD)
    return y + heading.height


def _lines_table(flow: Flow, invoice: ServiceInvoice) -> None:
    """One row per invoice line under a grey heading, a rule under each row; a row that does not fit
    goes to the next page, under the heading again."""
    flow.y = _draw_heading(flow.page, flow.y)
    flow.on_new_page = lambda page: _draw_heading(page, _TOP)
    for line in invoice.lines:
        section = dict(line.properties).get("Factuurrubriekregel")
        description = "\n".join([*line.descriptions, *([" ".join(section.split())] if section else [])])
        tariff = f"{line.price_amount:.3f}".replace(".", ",")
        row = _table_row((line.id, description, f"{line.quantity.normalize():f}", tariff,
                          format_amount(line.line_extension_amount), f"{line.tax_percent.normalize():f}%"),
                         HELVETICA)
        page = flow.reserve(row.height)
        _draw_row(page, flow.y, row, HELVETICA)
        flow.y += row.height
        page.line(_LEFT, flow.y, _RIGHT, flow.y)
    flow.on_new_page = None


def _totals_and_payment(flow: Flow, invoice: ServiceInvoice) -> None:
    """The totals, any exemption text and the payment instruction, kept together: rather a new page than
    a total cut in half."""
    rows = [("Totaal excl. BTW", invoice.tax_exclusive_amount, False)]
    for sub in invoice.tax_subtotals:
        rows.append((f"BTW {sub.percent.normalize():f}% over {format_amount(sub.taxable_amount)}",
                     sub.tax_amount, False))
    label = "Te ontvangen" if invoice.type_code == "C" else "Te betalen"
    rows.append((f"{label} incl. BTW", invoice.payable_amount, True))
    reasons = [sub.exemption_reason for sub in invoice.tax_subtotals if sub.exemption_reason]
    payments = [_payment_text(invoice, means) for means in invoice.payment_means]
    inner = _WIDTH - 2 * _PAD
    height = (5 * len(rows)
              + sum(4 * len(wrap_text(reason, inner, HELVETICA_OBLIQUE, 8)) for reason in reasons)
              + 4 + sum(4.6 * len(wrap_text(text, inner, HELVETICA, 9)) for text in payments))
    flow.y += 4
    page = flow.reserve(height)
    for text, amount, bold in rows:
        font = HELVETICA_BOLD if bold else HELVETICA
        page.cell(100, flow.y, 60, 5, text, font=font, size=9)
        page.cell(160, flow.y, 30, 5, f"{invoice.currency} {format_amount(amount)}", font=font, size=9,
                  align="right")
        flow.y += 5
    for reason in reasons:
        flow.y = page.paragraph(_LEFT + _PAD, flow.y, inner, reason, font=HELVETICA_OBLIQUE, size=8,
                                leading=4, align="justify")
    flow.y += 4
    for text in payments:
        flow.y = page.paragraph(_LEFT + _PAD, flow.y, inner, text, size=9, leading=4.6, align="justify")


def _payment_text(invoice: ServiceInvoice, means: PaymentMeans) -> str:
    amount = f"{invoice.currency} {format_amount(invoice.payable_amount)}"
    bank = f"IBAN {means.iban} (BIC {means.bic}, {means.bank_name}) ten name van {invoice.supplier.name}"
    own = f" {invoice.customer.iban}" if invoice.customer.iban else ""
    if invoice.type_code == "C":  # how it is settled is the instruction note's to say
        text = (f"{means.instruction_note}: het bedrag van {amount} wordt met u verrekend. "
                f"Onze rekening: {bank}")
    elif means.code == "AI":
        text = (f"{means.instruction_note}: het totaalbedrag van {amount} wordt omstreeks "
                f"{_day(means.due_date)} automatisch afgeschreven van uw rekening{own}. Incassant: {bank}")
    else:
        text = (f"{means.instruction_note}: gelieve het totaalbedrag van {amount} "
                f"vóór {_day(means.due_date)} over te maken op {bank}, onder vermelding van "
                f"factuurnummer {invoice.number} en relatienummer {invoice.relation_id}")
    return text.rstrip(".") + "."


def _footer(page: Page, invoice: ServiceInvoice, number: int, count: int) -> None:
    supplier = invoice.supplier
    account = invoice.payment_means[0].iban if invoice.payment_means else ""
    parts = [supplier.name, f"KvK {supplier.kvk}" if supplier.kvk else "",
             f"BTW {supplier.vat_number}" if supplier.vat_number else "",
             f"IBAN {account}" if account else "",
             f"Factuur {invoice.number} - pagina {number}/{count}"]
    page.cell(_LEFT, _FOOTER_Y, _WIDTH, 4, " - ".join(p for p in parts if p), size=7, align="center")
