"""The one safe XML parse for every simulator: size-limited, no DTD, no entities, no network.

Whatever a client sends (a meta file, a VAT return, a SOAP envelope) goes through ``parse_xml``.
A document type declaration is refused outright, so no entity can ever be declared: XXE (external
entities reading local files or URLs) and entity expansion bombs ("billion laughs") are refused before
libxml2 sees a byte, and the parser is configured so that it would not resolve or fetch anything even
if a declaration slipped through. The tree's ``docinfo`` is checked afterwards as a second line.

Every refusal is an ``XMLRefused`` (a ``ValueError``) with a short ``reason`` code and an English
message that names the input (``what``) so that a protocol layer can pass it on unchanged.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

__all__ = ["XMLRefused", "UnsafeXML", "BadXML", "parse_xml", "find_declaration", "declares_markup"]

# Byte order marks we honour, longest first (a UTF-32 LE BOM starts with the UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# The XML declaration is ASCII in every ASCII-compatible encoding; it may only start the document.
_DECLARED_ENCODING = re.compile(rb"""\A<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']{1,40})["']""")
_DECLARATION_NAME = re.compile(r"<!\s*([A-Za-z]*)")
# A NUL among the first bytes: an XML processor reads the document as UTF-16 or UTF-32 (XML 1.0 Appendix F),
# with or without a byte order mark, so a declaration must be looked for in those encodings too.
_WIDE_ENCODINGS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_EBCDIC_XML_DECLARATION = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC, which libxml2 also detects
_DECLARED_IN_TEXT = re.compile(r"""<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']{1,40})["']""")
_LEADING_SPACE = "\ufeff\xef\xbb\xbf\xfe\xff \t\r\n"  # BOMs (decoded or as latin-1 bytes) and blanks


class XMLRefused(ValueError):
    """An input that was not parsed; ``reason`` is one of the short codes below, ``what`` names the input."""

    reason = "refused"

    def __init__(self, message: str, *, reason: str, what: str, line: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.what = what
        self.line = line


class UnsafeXML(XMLRefused):
    """Refused for safety: ``too_large`` or ``doctype``."""


class BadXML(XMLRefused):
    """Refused because it is not XML we can read: ``empty``, ``not_utf8`` or ``not_well_formed``."""


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers keep an error log and are not safe to share across threads.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=False, dtd_validation=False, attribute_defaults=False)


def parse_xml(data: bytes, *, max_bytes: int, what: str) -> etree._Element:
    """Parse ``data`` and return its root element, or raise ``UnsafeXML`` / ``BadXML`` naming ``what``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_xml needs bytes for the {what}, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise UnsafeXML(f"the {what} is {len(data)} bytes, more than the {max_bytes} allowed",
                        reason="too_large", what=what)
    if not data.strip():
        raise BadXML(f"the {what} is empty", reason="empty", what=what)
    text = _decode(data, what)
    found = find_declaration(text)
    if found is not None:
        line = text.count("\n", 0, found) + 1
        name = _DECLARATION_NAME.match(text, found).group(1).upper() or "..."
        raise UnsafeXML(f"the {what} contains a <!{name} declaration (line {line}); document type "
                        "declarations and entities are not accepted", reason="doctype", what=what, line=line)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        message = (exc.msg or str(exc)).strip()
        if line and "line" not in message:
            message += f", line {line}, column {exc.offset}"
        raise BadXML(f"the {what} is not well-formed XML: {message}", reason="not_well_formed",
                     what=what, line=line) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXML(f"the {what} has a document type declaration; these are not accepted",
                        reason="doctype", what=what)
    return root


def find_declaration(text: str) -> int | None:
    """Offset of the first ``<!`` that is neither a comment nor CDATA, i.e. a DOCTYPE, ENTITY or other
    markup declaration (only legal inside a DTD), wherever it is: after a BOM, the XML declaration or
    comments. One linear pass with ``str.find`` so a hostile input cannot make it slow."""
    pos = 0
    while (start := text.find("<!", pos)) >= 0:
        if text.startswith("<!--", start):
            end, skip = text.find("-->", start + 4), 3
        elif text.startswith("<![CDATA[", start):
            end, skip = text.find("]]>", start + 9), 3
        else:
            return start
        if end < 0:
            return None  # unterminated: nothing after it is markup, and the parser refuses the document
        pos = end + skip
    return None


def declares_markup(data: bytes) -> bool:
    """Whether ``data`` is XML with a DOCTYPE, ENTITY or other markup declaration, in whatever encoding an XML
    processor would read it as (UTF-8 and other ASCII-compatible ones, UTF-16/32 with or without a byte
    order mark, EBCDIC). Bytes that are not XML in any of them (a PDF, an image) declare nothing.

    For payloads that are stored as sent rather than parsed here (a data file handed on to its recipient),
    so that a UTF-16 document cannot carry an entity past a check that only reads bytes."""
    head = data[:4]
    if b"\x00" in head or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        texts = [data.decode(encoding, "replace") for encoding in _WIDE_ENCODINGS]
    elif head == _EBCDIC_XML_DECLARATION:
        texts = [data.decode("cp037")]  # enough to read the declaration, whose characters all EBCDICs share
    else:
        texts = [data.decode("latin-1")]  # never fails; markup is ASCII in every ASCII-compatible encoding
    # The encoding the document declares is the one a processor reads it in: in UTF-7 "<!" can be written
    # "+ADwAIQ-", in IBM500 "!" is another byte than in cp037. Read it that way too.
    declared = _DECLARED_IN_TEXT.match(texts[0].lstrip(_LEADING_SPACE))
    if declared:
        try:
            texts.append(data.decode(declared.group(1), "replace"))
        except LookupError:
            pass  # an encoding Python does not know: libxml2 refuses to read the document as well
    return any(text.lstrip(_LEADING_SPACE).startswith("<") and find_declaration(text) is not None
               for text in texts)


def _decode(data: bytes, what: str) -> str:
    """The text of ``data``: UTF-8 unless a BOM or the XML declaration names another known encoding."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if encoding is None:
        declared = _DECLARED_ENCODING.match(data)
        encoding = declared.group(1).decode("ascii", "replace") if declared else "utf-8"
        try:
            ascii_compatible = "<?xml".encode(encoding) == b"<?xml"
        except LookupError:
            raise BadXML(f"the {what} declares encoding {encoding!r}, which is unknown; use UTF-8",
                         reason="not_utf8", what=what) from None
        if not ascii_compatible:  # e.g. "UTF-16" written in single bytes: a lie, or a missing BOM
            raise BadXML(f"the {what} declares encoding {encoding!r} but has no byte order mark; use UTF-8",
                         reason="not_utf8", what=what)
    shown = "UTF-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadXML(f"the {what} is not valid {shown}: byte 0x{data[exc.start]:02x} at offset {exc.start} "
                     f"(line {line}) cannot be decoded", reason="not_utf8", what=what, line=line) from None
    if "\x00" in text:  # never legal in XML; in practice UTF-16/32 without a BOM, which we would misread
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise BadXML(f"the {what} is not valid {shown}: it contains NUL characters (line {line}); "
                     "UTF-16 or UTF-32 without a byte order mark?", reason="not_utf8", what=what, line=line)
    return text
