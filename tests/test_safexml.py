"""simulators.core.safexml: the one parse every simulator uses for what clients send."""

from __future__ import annotations

import codecs
import time

import pytest

from simulators.core import safexml
from simulators.core.safexml import BadXML, UnsafeXML, XMLRefused, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


def parse(data: bytes, max_bytes: int = 1_000_000):
    return parse_xml(data, max_bytes=max_bytes, what="meta file")


def xxe(path: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<!DOCTYPE m [<!ENTITY secret SYSTEM "file://{path}">]>\n<m>&secret;</m>').encode()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-MARKER\n")
    return path


def test_returns_the_root_element_with_comments_kept():
    root = parse(b'<?xml version="1.0"?>\n<!-- note --><a xmlns="urn:x"><b>1</b><!-- inner --></a>')
    assert root.tag == "{urn:x}a"
    assert root.findtext("{urn:x}b") == "1"
    assert len(root) == 2  # the inner comment is kept


def test_refusals_are_value_errors_with_a_reason():
    assert issubclass(UnsafeXML, XMLRefused) and issubclass(BadXML, XMLRefused)
    assert issubclass(XMLRefused, ValueError)


def test_xxe_to_etc_passwd_is_refused_and_nothing_is_read():
    with pytest.raises(UnsafeXML) as info:
        parse(xxe("/etc/passwd"))
    assert info.value.reason == "doctype"
    assert "meta file" in str(info.value) and "DOCTYPE" in str(info.value)
    assert "root:" not in str(info.value)


def test_xxe_is_refused_even_if_the_prescan_missed_it(monkeypatch, secret_file):
    # Second line of defence: the parser resolves nothing and docinfo reveals the DOCTYPE.
    monkeypatch.setattr(safexml, "find_declaration", lambda text: None)
    with pytest.raises(UnsafeXML) as info:
        parse(xxe(str(secret_file)))
    assert info.value.reason == "doctype"
    assert "TOP-SECRET-MARKER" not in str(info.value)


def test_the_parser_itself_never_expands_an_external_entity(secret_file):
    from lxml import etree
    root = etree.fromstring(xxe(str(secret_file)), safexml._parser())
    assert "TOP-SECRET-MARKER" not in etree.tostring(root).decode()


@pytest.mark.parametrize("prescan", [True, False], ids=["prescan", "parser-only"])
def test_billion_laughs_is_refused_fast(monkeypatch, prescan):
    if not prescan:
        monkeypatch.setattr(safexml, "find_declaration", lambda text: None)
    started = time.perf_counter()
    with pytest.raises(XMLRefused) as info:
        parse(BILLION_LAUGHS)
    # The prescan names the DOCTYPE; without it libxml2 (depending on its version) either stops the
    # expansion with its amplification guard or leaves the entities unexpanded and docinfo shows the DOCTYPE.
    assert info.value.reason == "doctype" if prescan else info.value.reason in ("doctype", "not_well_formed")
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("data", [
    b"<!DOCTYPE a><a/>",
    b'<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>',
    b'<?xml version="1.0"?>\n<!-- one -->\n<!-- two -->\n<?pi x?>\n<!DOCTYPE a []>\n<a/>',
    codecs.BOM_UTF8 + b"<!DOCTYPE a><a/>",
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a><a/>'.encode("utf-16"),
    b'<!ENTITY x "y"><a/>',
    b"<a/><!DOCTYPE a>",
], ids=["plain", "external-dtd", "after-decl-and-comments", "after-bom", "utf16", "entity", "after-root"])
def test_any_doctype_or_entity_declaration_is_refused(data):
    with pytest.raises(UnsafeXML) as info:
        parse(data)
    assert info.value.reason == "doctype"


def test_doctype_mentioned_in_a_comment_or_cdata_is_harmless():
    root = parse(b"<a><!-- <!DOCTYPE x> --><![CDATA[<!ENTITY y 'z'>]]></a>")
    assert root[0].tail == "<!ENTITY y 'z'>"  # CDATA text follows the comment


def test_hostile_comment_soup_is_handled_in_linear_time():
    started = time.perf_counter()
    with pytest.raises(BadXML):
        parse(b"<a>" + b"<!--" * 250_000, max_bytes=2_000_000)
    assert time.perf_counter() - started < 1.0


def test_non_utf8_bytes_are_refused_with_their_position():
    with pytest.raises(BadXML) as info:
        parse("<a>\n<b>caf\xe9</b></a>".encode("latin-1"))
    assert info.value.reason == "not_utf8"
    assert "meta file" in str(info.value) and "UTF-8" in str(info.value) and "line 2" in str(info.value)


def test_a_declared_encoding_python_knows_is_accepted():
    root = parse('<?xml version="1.0" encoding="ISO-8859-1"?><a>café</a>'.encode("latin-1"))
    assert root.text == "café"
    assert parse('<?xml version="1.0" encoding="UTF-16"?><a>café</a>'.encode("utf-16")).text == "café"


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0" encoding="x-klingon"?><a/>',
    b'<?xml version="1.0" encoding="UTF-16"?><a/>',  # says UTF-16, written in single bytes
    "<a>x</a>".encode("utf-16-le"),  # UTF-16 without a byte order mark
], ids=["unknown", "utf16-lie", "utf16-no-bom"])
def test_unusable_encodings_are_refused(data):
    with pytest.raises(BadXML) as info:
        parse(data)
    assert info.value.reason == "not_utf8"


def test_a_latin1_byte_in_a_declared_utf8_document_is_refused():
    with pytest.raises(BadXML) as info:
        parse(b'<?xml version="1.0" encoding="UTF-8"?><a>\xe9</a>')
    assert info.value.reason == "not_utf8"


def test_oversized_input_is_refused_before_anything_else():
    data = b"<a>" + b"x" * 93 + b"</a>"  # 100 bytes
    assert parse(data, max_bytes=100).tag == "a"
    with pytest.raises(UnsafeXML) as info:
        parse(data + b" ", max_bytes=100)
    assert info.value.reason == "too_large"
    assert "101 bytes" in str(info.value) and "100" in str(info.value) and "meta file" in str(info.value)


@pytest.mark.parametrize("data", [b"", b"  \n "])
def test_empty_input_is_refused(data):
    with pytest.raises(BadXML) as info:
        parse(data)
    assert info.value.reason == "empty"


def test_syntax_errors_name_the_line():
    with pytest.raises(BadXML) as info:
        parse(b"<a>\n<b>\n</a>")
    assert info.value.reason == "not_well_formed"
    assert info.value.line is not None
    assert "meta file is not well-formed XML" in str(info.value) and "line" in str(info.value)


def test_str_input_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_xml("<a/>", max_bytes=100, what="meta file")  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                                      "utf-32-le", "utf-32-be", "cp037", "cp500", "cp1140", "utf-7"])
def test_declares_markup_reads_every_encoding_an_xml_processor_reads(encoding):
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>'
    with_entity = f'{declaration}\n<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'.encode(encoding)
    plain = f'{declaration}<!-- <!DOCTYPE in a comment --><a><![CDATA[<!ENTITY>]]></a>'.encode(encoding)
    assert safexml.declares_markup(with_entity)
    assert not safexml.declares_markup(plain)


def test_declares_markup_reads_a_document_in_the_encoding_it_declares():
    """UTF-7 may write "<!" as "+ADwAIQ-": invisible to a byte check, read as markup by libxml2."""
    hidden = b'<?xml version="1.0" encoding="UTF-7"?>\n+ADwAIQ-DOCTYPE r +AFsAPAAh-ENTITY e "x"+AD4AXQA+-<r>&e;</r>'
    assert b"<!" not in hidden
    assert safexml.declares_markup(hidden)
    assert not safexml.declares_markup(b'<?xml version="1.0" encoding="UTF-7"?><r>+ADw-x</r>')
    assert not safexml.declares_markup(b'<?xml version="1.0" encoding="x-no-such"?><r/>')


def test_declares_markup_sees_nothing_in_bytes_that_are_not_xml():
    assert not safexml.declares_markup(b"%PDF-1.7\n<!DOCTYPE looks like markup but this is no XML>")
    assert not safexml.declares_markup(b"\x00\x01\x02<!ENTITY binary>")
    assert not safexml.declares_markup(b"")
