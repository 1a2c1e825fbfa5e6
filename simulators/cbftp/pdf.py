"""The readable PDF twin of a CB service invoice (``{RelatieID}_{number}.pdf``, seed 002).

Only the PDF core font Helvetica is used, so nothing is embedded and the file stays small; core fonts
speak Latin-1, so text outside it is transliterated first (``ő`` → ``o``, ``€`` → ``EUR``) rather than
crashing on a customer name. The creation date is the invoice's issue date, never the wall clock: the
same invoice always gives the same bytes.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timezone
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from .invoices import Party, ServiceInvoice

__all__ = ["render_pdf", "format_amount", "to_latin1"]

_REPLACEMENTS = {"€": "EUR", "–": "-", "—": "-", "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"', "„": '"',
                 "…": "...", "•": "-", "Œ": "OE", "œ": "oe", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
                 "ı": "i", "\u00a0": " "}
_MARGIN = 20
_LINE_COLUMNS = (("Regel", 22, "LEFT"), ("Omschrijving", 70, "LEFT"), ("Aantal", 18, "RIGHT"),
                 ("Tarief", 18, "RIGHT"), ("Bedrag", 26, "RIGHT"), ("BTW", 16, "RIGHT"))


def to_latin1(text: str) -> str:
    """``text`` in characters the core fonts have: Latin-1 as is, accents dropped elsewhere, else ``?``."""
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


class _InvoicePDF(FPDF):
    def __init__(self, invoice: ServiceInvoice) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.invoice = invoice
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=22)

    def text_cell(self, width: float, text: str, *, align: str = "L", bold: bool = False, size: float = 9,
                  height: float = 4.6) -> None:
        """One line, then to the next line at the current left edge."""
        self.set_font("helvetica", "B" if bold else "", size)
        x = self.get_x()
        self.cell(width, height, to_latin1(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_x(x)

    def footer(self) -> None:
        supplier = self.invoice.supplier
        account = self.invoice.payment_means[0].iban if self.invoice.payment_means else ""
        self.set_y(-15)
        self.set_font("helvetica", "", 7)
        parts = [supplier.name, f"KvK {supplier.kvk}" if supplier.kvk else "",
                 f"BTW {supplier.vat_number}" if supplier.vat_number else "",
                 f"IBAN {account}" if account else "",
                 f"Factuur {self.invoice.number} - pagina {self.page_no()}/{{nb}}"]
        self.cell(0, 4, to_latin1(" - ".join(p for p in parts if p)), align="C")


def render_pdf(invoice: ServiceInvoice) -> bytes:
    """An A4 PDF of ``invoice`` showing everything its UBL carries."""
    pdf = _InvoicePDF(invoice)
    pdf.set_creation_date(datetime(invoice.issue_date.year, invoice.issue_date.month, invoice.issue_date.day,
                                   tzinfo=timezone.utc))
    title = "Creditfactuur" if invoice.type_code == "C" else "Factuur"
    pdf.set_title(to_latin1(f"{title} {invoice.number}"))
    pdf.set_author(to_latin1(invoice.supplier.name))
    pdf.set_creator("koppelsim cbftp")
    pdf.add_page()
    _header(pdf, invoice, title)
    _lines_table(pdf, invoice)
    _totals(pdf, invoice)
    _payment(pdf, invoice)
    return bytes(pdf.output())


def _address_lines(party: Party) -> list[str]:
    a = party.address
    lines = [a.inhouse_mail or "", a.street or "", f"Postbus {a.postbox}" if a.postbox else "",
             f"{a.postal_zone}  {a.city}", a.country_name or ""]
    return [line for line in lines if line]


def _header(pdf: _InvoicePDF, invoice: ServiceInvoice, title: str) -> None:
    supplier = invoice.supplier
    pdf.set_xy(_MARGIN, _MARGIN)
    pdf.text_cell(100, supplier.name, bold=True, size=14, height=7)
    for line in _address_lines(supplier):
        pdf.text_cell(100, line, size=8, height=3.8)
    contact = [f"Tel. {supplier.telephone}" if supplier.telephone else "", supplier.email or ""]
    for line in (" - ".join(c for c in contact if c), f"KvK {supplier.kvk}", f"BTW {supplier.vat_number}"):
        if line:
            pdf.text_cell(100, line, size=8, height=3.8)
    pdf.set_xy(120, _MARGIN)
    pdf.text_cell(70, title.upper(), align="R", bold=True, size=18, height=9)

    pdf.set_xy(_MARGIN, 52)  # where a window envelope shows the address
    pdf.text_cell(90, invoice.customer.name, bold=True, size=10, height=5)
    for line in _address_lines(invoice.customer):
        pdf.text_cell(90, line, size=10, height=5)

    facts = [("Relatienummer", invoice.relation_id), ("Factuurnummer", invoice.number),
             ("Factuurdatum", _day(invoice.issue_date)), ("Periode", invoice.note.removeprefix("Periode: "))]
    if invoice.payment_means:
        facts.append(("Vervaldatum", _day(invoice.payment_means[0].due_date)))
    if invoice.order_reference:
        facts.append(("Uw ordernummer", invoice.order_reference))
    if invoice.customer.vat_number:
        facts.append(("Uw BTW-nummer", invoice.customer.vat_number))
    pdf.set_xy(120, 52)
    for label, value in facts:
        pdf.set_x(120)
        pdf.set_font("helvetica", "", 9)
        pdf.cell(30, 5, to_latin1(label))
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(40, 5, to_latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), 80) + 8)


def _lines_table(pdf: _InvoicePDF, invoice: ServiceInvoice) -> None:
    pdf.set_font("helvetica", "", 8)
    with pdf.table(col_widths=tuple(width for _, width, _ in _LINE_COLUMNS),
                   text_align=tuple(align for _, _, align in _LINE_COLUMNS), line_height=4.2,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(225, 225, 225)),
                   borders_layout="HORIZONTAL_LINES", width=170, align="LEFT", padding=(0.8, 1)) as table:
        heading = table.row()
        for name, _, _ in _LINE_COLUMNS:
            heading.cell(name)
        for line in invoice.lines:
            section = dict(line.properties).get("Factuurrubriekregel")
            text = "\n".join([*line.descriptions, *([" ".join(section.split())] if section else [])])
            row = table.row()
            tariff = f"{line.price_amount:.3f}".replace(".", ",")
            for value in (line.id, text, f"{line.quantity.normalize():f}", tariff,
                          format_amount(line.line_extension_amount), f"{line.tax_percent.normalize():f}%"):
                row.cell(to_latin1(value))


def _totals(pdf: _InvoicePDF, invoice: ServiceInvoice) -> None:
    pdf.ln(4)
    rows = [("Totaal excl. BTW", invoice.tax_exclusive_amount, False)]
    for sub in invoice.tax_subtotals:
        rows.append((f"BTW {sub.percent.normalize():f}% over {format_amount(sub.taxable_amount)}",
                     sub.tax_amount, False))
    label = "Te ontvangen" if invoice.type_code == "C" else "Te betalen"
    rows.append((f"{label} incl. BTW", invoice.payable_amount, True))
    # Totals and the payment text belong together: rather a new page than a total cut in half.
    reasons = sum(1 for sub in invoice.tax_subtotals if sub.exemption_reason)
    if pdf.will_page_break(5 * len(rows) + 8 * reasons + 8 + 14 * len(invoice.payment_means)):
        pdf.add_page()
    for text, amount, bold in rows:
        pdf.set_x(100)
        pdf.set_font("helvetica", "B" if bold else "", 9)
        pdf.cell(60, 5, to_latin1(text))
        pdf.cell(30, 5, f"{invoice.currency} {format_amount(amount)}", align="R", new_x=XPos.LMARGIN,
                 new_y=YPos.NEXT)
    for sub in invoice.tax_subtotals:
        if sub.exemption_reason:
            pdf.set_font("helvetica", "I", 8)
            pdf.multi_cell(170, 4, to_latin1(sub.exemption_reason), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _payment(pdf: _InvoicePDF, invoice: ServiceInvoice) -> None:
    pdf.ln(4)
    pdf.set_font("helvetica", "", 9)
    amount = f"{invoice.currency} {format_amount(invoice.payable_amount)}"
    for means in invoice.payment_means:
        bank = f"IBAN {means.iban} (BIC {means.bic}, {means.bank_name}) ten name van {invoice.supplier.name}"
        own = f" {invoice.customer.iban}" if invoice.customer.iban else ""
        if invoice.type_code == "C":  # how it is settled is the instruction note's to say
            text = f"{means.instruction_note}: het bedrag van {amount} wordt met u verrekend. Onze rekening: {bank}"
        elif means.code == "AI":
            text = (f"{means.instruction_note}: het totaalbedrag van {amount} wordt omstreeks "
                    f"{_day(means.due_date)} automatisch afgeschreven van uw rekening{own}. "
                    f"Incassant: {bank}")
        else:
            text = (f"{means.instruction_note}: gelieve het totaalbedrag van {amount} "
                    f"vóór {_day(means.due_date)} over te maken op {bank}, onder vermelding van "
                    f"factuurnummer {invoice.number} en relatienummer {invoice.relation_id}")
        pdf.multi_cell(170, 4.6, to_latin1(text.rstrip(".") + "."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
