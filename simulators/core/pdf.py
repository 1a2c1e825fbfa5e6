"""A small PDF 1.4 writer: A4 pages measured in mm, the Helvetica core fonts, text, lines and grey boxes.

Why our own: the simulators' PDFs (CB's invoice twin) need only text, rules and a table, and the general PDF
library used before cost the CB process ~20 MB resident memory and ~0.4 s of imports (fontTools, Pillow, SVG
code) plus ~30 ms an invoice for that; this writer costs ~1 MB, ~15 ms and ~1-2 ms.

What it does and does not do:
* coordinates are millimetres from the page's top-left corner, as a ruler held against the paper reads them;
  text is placed by its baseline (``Page.text``) or centred in a box (``Page.cell``);
* only the standard fonts Helvetica, Helvetica-Bold and Helvetica-Oblique, which every PDF reader has, so
  nothing is embedded; their encoding is WinAnsiEncoding (Windows-1252: é ë ï ü €, curly quotes, dashes) and
  anything else is transliterated first (``to_winansi``: ``Ł`` → ``L``, ``日`` → ``?``);
* string widths come from the fonts' real glyph widths, so right-aligned amounts end where they should;
* no clock and no randomness: the creation date is the caller's, the /ID is a hash of the content, so the
  same input always gives the same bytes (the zlib of the running Python being the same).
"""

from __future__ import annotations

import hashlib
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["A4", "HELVETICA", "HELVETICA_BOLD", "HELVETICA_OBLIQUE", "FONTS", "DocumentInfo", "Page",
           "PdfDocument", "Flow", "to_winansi", "string_width", "wrap_text"]

A4 = (210.0, 297.0)  # mm
HELVETICA, HELVETICA_BOLD, HELVETICA_OBLIQUE = "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"
FONTS = (HELVETICA, HELVETICA_BOLD, HELVETICA_OBLIQUE)  # the index gives the resource name: /F1, /F2, /F3

_PT_PER_MM = 72 / 25.4
_CAP_HEIGHT = 0.718  # of the em, from the AFM files below (CapHeight 718 in both weights)

# Advance widths (1/1000 em) of WinAnsi codes 32..255, from Adobe's Core 14 AFM files (Core14_AFMs.zip,
# "Helvetica.afm" UniqueID 43054 and "Helvetica-Bold.afm" UniqueID 43052, both 1997; the WX of each glyph
# WinAnsiEncoding puts at that code, PDF 1.7 Annex D). Helvetica-Oblique.afm has the same widths as
# Helvetica. 0 marks the codes WinAnsi leaves unused (127, 129, 141, 143, 144, 157): never written.
# tests/core/test_pdf_writer.py checks every value against pypdf's own copy of the same AFM files.
_HELVETICA_WIDTHS = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  # 32
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,  # 48
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,  # 64
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  # 80
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  # 96
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0,  # 112
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,  # 128
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,  # 144
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,  # 160
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,  # 176
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,  # 192
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,  # 208
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,  # 224
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,  # 240
)
_HELVETICA_BOLD_WIDTHS = (
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,  # 32
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,  # 48
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,  # 64
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,  # 80
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,  # 96
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0,  # 112
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,  # 128
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667,  # 144
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,  # 160
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,  # 176
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,  # 192
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,  # 208
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,  # 224
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,  # 240
)
_WIDTHS = {HELVETICA: _HELVETICA_WIDTHS, HELVETICA_BOLD: _HELVETICA_BOLD_WIDTHS,
           HELVETICA_OBLIQUE: _HELVETICA_WIDTHS}

# Characters WinAnsi lacks that Unicode does not decompose into WinAnsi ones (NFKD handles the rest).
_TRANSLITERATIONS = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ħ": "H", "ħ": "h", "\u2212": "-",
                     "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2015": "—", "\u2032": "'", "\u2033": '"'}


def _winansi_char(char: str) -> str:
    if char in "\t\n\r":
        return " "
    if " " <= char != "\x7f":
        try:
            char.encode("cp1252")  # Windows-1252 is WinAnsiEncoding, with the same five codes unused
            return char
        except UnicodeEncodeError:
            pass
    if char in _TRANSLITERATIONS:
        return _TRANSLITERATIONS[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and base != char and all(_winansi_char(c) == c for c in base) else "?"


def to_winansi(text: str) -> str:
    """``text`` in characters the core fonts can show: WinAnsi as is, accents dropped from other letters
    (``ő`` → ``o``), ligatures spelled out (``ĳ`` → ``ij``), control characters as spaces, else ``?``."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(_winansi_char(char) for char in text)


def _encode(text: str) -> bytes:
    return to_winansi(text).encode("cp1252")


def string_width(text: str, font: str = HELVETICA, size: float = 10) -> float:
    """Width in mm of ``text`` set in ``font`` at ``size`` points."""
    return _encoded_width(_encode(text), font, size)


def _encoded_width(data: bytes, font: str, size: float) -> float:
    widths = _WIDTHS[font]
    return sum(widths[code - 32] for code in data) * size / 1000 / _PT_PER_MM


def wrap_text(text: str, width: float, font: str = HELVETICA, size: float = 10) -> list[str]:
    """``text`` broken into lines no wider than ``width`` mm: at spaces where it can, inside a word that is
    wider than a whole line, and always at ``\\n``. An empty paragraph stays an empty line."""
    lines: list[str] = []
    space = string_width(" ", font, size)
    for paragraph in text.split("\n"):
        line, line_width = "", 0.0
        for word in paragraph.split():
            word_width = string_width(word, font, size)
            if line and line_width + space + word_width <= width:
                line, line_width = f"{line} {word}", line_width + space + word_width
                continue
            if line:
                lines.append(line)
            while word_width > width and len(word) > 1:  # no space to break at: break the word itself
                cut = _longest_fitting_prefix(word, width, font, size)
                lines.append(word[:cut])
                word = word[cut:]
                word_width = string_width(word, font, size)
            line, line_width = word, word_width
        lines.append(line)
    return lines


def _longest_fitting_prefix(word: str, width: float, font: str, size: float) -> int:
    cut = 1
    while cut < len(word) and string_width(word[:cut + 1], font, size) <= width:
        cut += 1
    return cut


def _num(value: float) -> bytes:
    """A PDF number: two decimals are 1/100 pt, finer than any printer; no exponent, no ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return b"0" if text in ("-0", "") else text.encode("ascii")


def _literal(data: bytes) -> bytes:
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _text_string(text: str) -> bytes:
    """A string for the document information: plain when it is printable ASCII, else UTF-16 with its
    byte-order mark, which PDF readers take for Unicode — so a title is never transliterated."""
    if text.isascii() and text.isprintable():
        return _literal(text.encode("ascii"))
    return b"<" + ("\ufeff" + text).encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _pdf_date(moment: datetime) -> bytes:
    stamp = f"D:{moment:%Y%m%d%H%M%S}"
    offset = moment.utcoffset()
    if offset is not None:
        minutes = int(offset.total_seconds()) // 60
        sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
        stamp += "Z" if minutes == 0 else f"{sign}{minutes // 60:02d}'{minutes % 60:02d}'"
    return _literal(stamp.encode("ascii"))


@dataclass(frozen=True)
class DocumentInfo:
    """What a reader's document properties show. The creation date is handed in, never read from a clock."""
    title: str = ""
    author: str = ""
    creator: str = ""
    creation_date: datetime | None = None


class Page:
    """One page; draw on it in mm from the top-left corner. Drawing order is painting order."""

    def __init__(self, width: float, height: float) -> None:
        self.width, self.height = width, height
        self._ops: list[bytes] = []
        self.fonts_used: set[str] = set()

    def _x(self, x: float) -> bytes:
        return _num(x * _PT_PER_MM)

    def _y(self, y: float) -> bytes:
        return _num((self.height - y) * _PT_PER_MM)

    def text(self, x: float, baseline: float, text: str, *, font: str = HELVETICA, size: float = 10,
             align: str = "left", width: float = 0.0, grey: float = 0.0) -> None:
        """``text`` on one line in the box from ``x`` to ``x + width``: left, right, center or justify
        (spaces stretched to fill the width, as for all but the last line of a paragraph)."""
        data = _encode(text)
        if not data.strip():
            return
        text_width = _encoded_width(data, font, size)
        word_spacing = 0.0
        if align == "right":
            x += width - text_width
        elif align == "center":
            x += (width - text_width) / 2
        elif align == "justify" and data.count(b" ") and width > text_width:
            # Tw widens every byte 32 of a single-byte font: the spaces, and nothing else.
            word_spacing = (width - text_width) / data.count(b" ") * _PT_PER_MM
        elif align not in ("left", "justify"):
            raise ValueError(f"align must be left, right, center or justify, not {align!r}")
        self.fonts_used.add(font)
        spacing = b"%s Tw " % _num(word_spacing) if word_spacing else b""
        op = b"BT /F%d %s Tf %s %s Td %s%s Tj ET" % (FONTS.index(font) + 1, _num(size), self._x(x),
                                                     self._y(baseline), spacing, _literal(data))
        if grey or word_spacing:  # colour and word spacing are graphics state: keep them to this text
            op = b"q %s g %s Q" % (_num(grey), op) if grey else b"q %s Q" % op
        self._ops.append(op)

    def cell(self, x: float, y: float, width: float, height: float, text: str, *, font: str = HELVETICA,
             size: float = 10, align: str = "left", padding: float = 1.0, grey: float = 0.0) -> None:
        """``text`` in the box (x, y, width, height): ``padding`` mm in from its sides, its capitals
        centred between top and bottom."""
        baseline = y + height / 2 + _CAP_HEIGHT * size / _PT_PER_MM / 2
        self.text(x + padding, baseline, text, font=font, size=size, align=align, width=width - 2 * padding,
                  grey=grey)

    def paragraph(self, x: float, y: float, width: float, text: str, *, font: str = HELVETICA,
                  size: float = 10, leading: float = 5.0, align: str = "left") -> float:
        """``text`` wrapped to ``width`` mm, one line per ``leading`` mm from ``y`` down; answers the y
        below it. Justified text leaves the last line of each paragraph as it is, as typesetters do."""
        lines: list[tuple[str, bool]] = []  # (line, whether it ends its paragraph)
        for paragraph in text.split("\n"):
            wrapped = wrap_text(paragraph, width, font, size)
            lines += [(line, index + 1 == len(wrapped)) for index, line in enumerate(wrapped)]
        for index, (line, last) in enumerate(lines):
            self.cell(x, y + index * leading, width, leading, line, font=font, size=size, padding=0,
                      align="left" if align == "justify" and last else align)
        return y + len(lines) * leading

    def line(self, x1: float, y1: float, x2: float, y2: float, *, thickness: float = 0.2,
             grey: float = 0.0) -> None:
        self._ops.append(b"q %s w %s G %s %s m %s %s l S Q" % (
            _num(thickness * _PT_PER_MM), _num(grey), self._x(x1), self._y(y1), self._x(x2), self._y(y2)))

    def rect(self, x: float, y: float, width: float, height: float, *, fill: float | None = None,
             stroke: float | None = 0.0, thickness: float = 0.2) -> None:
        """A rectangle filled with grey ``fill`` and/or outlined in grey ``stroke`` (0 black, 1 white)."""
        if fill is None and stroke is None:
            return
        paint = b"B" if fill is not None and stroke is not None else b"f" if fill is not None else b"S"
        colours = (b"%s g " % _num(fill) if fill is not None else b"") + (
            b"%s G %s w " % (_num(stroke), _num(thickness * _PT_PER_MM)) if stroke is not None else b"")
        self._ops.append(b"q %s%s %s %s %s re %s Q" % (colours, self._x(x), self._y(y + height),
                                                      _num(width * _PT_PER_MM), _num(height * _PT_PER_MM),
                                                      paint))

    def content(self) -> bytes:
        return b"\n".join(self._ops)


class PdfDocument:
    """Pages in order; ``to_bytes`` writes the file. Pages stay open until then, so a footer can say
    "page 2 of 3" once the last page exists."""

    def __init__(self, info: DocumentInfo = DocumentInfo(), page_size: tuple[float, float] = A4) -> None:
        self.info = info
        self.page_size = page_size
        self.pages: list[Page] = []

    def add_page(self) -> Page:
        page = Page(*self.page_size)
        self.pages.append(page)
        return page

    def to_bytes(self) -> bytes:
        if not self.pages:
            raise ValueError("a PDF needs at least one page")
        fonts = [font for font in FONTS if any(font in page.fonts_used for page in self.pages)]
        # Numbering: 1 catalog, 2 page tree, 3 information, then the fonts, then each page and its content.
        font_ref = {font: 4 + index for index, font in enumerate(fonts)}
        first_page = 4 + len(fonts)
        page_refs = [first_page + 2 * index for index in range(len(self.pages))]
        objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
                   b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
                       b" ".join(b"%d 0 R" % ref for ref in page_refs), len(self.pages)),
                   self._info_dictionary()]
        objects += [b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
                    % font.encode("ascii") for font in fonts]
        width, height = (_num(side * _PT_PER_MM) for side in self.page_size)
        for page, ref in zip(self.pages, page_refs):
            page_fonts = b" ".join(b"/F%d %d 0 R" % (FONTS.index(font) + 1, font_ref[font])
                                   for font in fonts if font in page.fonts_used)
            objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /ProcSet "
                           b"[/PDF /Text] /Font << %s >> >> /Contents %d 0 R >>"
                           % (width, height, page_fonts, ref + 1))
            stream = zlib.compress(page.content(), 6)
            objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
                           % (len(stream), stream))
        return _serialise(objects)

    def _info_dictionary(self) -> bytes:
        info = self.info
        entries = [(b"Title", info.title), (b"Author", info.author), (b"Creator", info.creator)]
        parts = [b"/%s %s" % (key, _text_string(value)) for key, value in entries if value]
        if info.creation_date is not None:
            parts.append(b"/CreationDate %s" % _pdf_date(info.creation_date))
        return b"<< %s >>" % b" ".join(parts)


def _serialise(objects: list[bytes]) -> bytes:
    """Header, the objects numbered from 1, the cross-reference table of their byte offsets, the trailer."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # the binary comment tells transfer tools: not text
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n\r\n" % offset for offset in offsets)  # 20 bytes each, as the spec asks
    # The /ID is a hash of the content, not of the time: the same document, the same bytes.
    file_id = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().upper().encode("ascii")
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, file_id, file_id, xref_at)
    return bytes(out)


class Flow:
    """A cursor running down the pages between ``top`` and ``bottom`` (mm): ``reserve`` keeps a block
    together by starting a new page when it would cross the bottom; ``on_new_page`` (say, a repeated
    table heading) draws on each new page and answers where the content continues."""

    def __init__(self, document: PdfDocument, *, top: float, bottom: float,
                 on_new_page: Callable[[Page], float] | None = None) -> None:
        self.document, self.top, self.bottom = document, top, bottom
        self.on_new_page = on_new_page
        self.page = document.pages[-1] if document.pages else document.add_page()
        self.y = self._page_start = top

    def new_page(self) -> Page:
        self.page = self.document.add_page()
        self.y = self._page_start = self.on_new_page(self.page) if self.on_new_page else self.top
        return self.page

    def reserve(self, height: float) -> Page:
        """The page on which ``height`` mm fit from ``y``: this one, or a new one. A block taller than a
        whole page starts on a fresh page and runs over the bottom, rather than adding pages for ever."""
        if self.y + height > self.bottom and self.y > self._page_start:
            self.new_page()
        return self.page
