"""Answers written as text are byte for byte what lxml writes for the same tree: escaping of text and
attributes, empty text versus no text, attribute order (simulators/twinfield/xmltext.py)."""

from __future__ import annotations

import random

import pytest
from lxml import etree

from simulators.twinfield.xmltext import Rendered, XmlText, as_element, as_text, attributes

# Every character lxml treats specially in text or attributes, plus non-ASCII and a CDATA end
ALPHABET = list("ab z09") + ["&", "<", ">", '"', "'", "\n", "\r", "\t", "é", "€", "]]>", "&amp;"]


def _value(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8)))


def _build(rng: random.Random, depth: int, parent: etree._Element, out: XmlText) -> None:
    for _ in range(rng.randint(1, 4)):
        tag = rng.choice(["line", "dim1", "value", "x-y", "a.b"])
        attrs = {name: _value(rng) for name in rng.sample(["name", "shortname", "type", "id"], rng.randint(0, 3))}
        if depth and rng.random() < 0.4:
            child = etree.SubElement(parent, tag, attrs)
            out.open(tag, attributes(attrs))
            _build(rng, depth - 1, child, out)
            out.close()
            continue
        text = rng.choice([None, "", _value(rng)])
        child = etree.SubElement(parent, tag, attrs)
        if text is not None:
            child.text = text
        out.leaf(tag, text, attributes(attrs))


@pytest.mark.parametrize("seed", range(200))
def test_text_is_what_lxml_writes_for_the_same_tree(seed):
    rng = random.Random(seed)
    root_attrs = {"result": "1", "location": _value(rng)}
    root = etree.Element("transaction", root_attrs)
    out = XmlText()
    out.open("transaction", attributes(root_attrs))
    _build(rng, 3, root, out)
    out.close()
    assert out.text() == etree.tostring(root, encoding="unicode")
    # parsed back (a batch, a ProcessXmlDocument answer), it still writes the same: empty texts kept
    assert etree.tostring(out.rendered(root_attrs).element(), encoding="unicode") == out.text()


def test_empty_text_and_no_text_differ_as_in_twinfields_answers():
    out = XmlText()
    out.open("header")
    out.leaf("originreference", "")
    out.leaf("description", None)
    out.constant("empty", "")
    out.constant("rate", "1")
    out.close()
    assert out.text() == ("<header><originreference></originreference><description/><empty></empty>"
                          "<rate>1</rate></header>")
    assert etree.tostring(out.rendered({}).element(), encoding="unicode") == out.text()


def test_an_unclosed_element_is_refused():
    out = XmlText()
    out.open("transaction")
    with pytest.raises(ValueError, match="unclosed elements: transaction"):
        out.text()


def test_rendered_answers_read_like_elements():
    answer = Rendered('<transaction result="1" location="temporary"><number>202600001</number></transaction>',
                      {"result": "1", "location": "temporary"})
    assert answer.get("result") == "1" and answer.get("msg") is None
    assert as_text(answer) is answer.text
    element = as_element(answer)
    assert element.findtext("number") == "202600001" and element is as_element(answer)  # parsed once
    assert as_text(element) == answer.text


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_a_processxmlstring_answer_written_directly_is_the_envelope_lxml_writes(version):
    from simulators.twinfield import soap

    text = '<transaction result="1" location="temporary"><description>a &amp; b\r\n€ ]]&gt;</description></transaction>'
    response = soap.operation_response("ProcessXmlString")
    soap.child(response, "ProcessXmlStringResult", text)
    assert soap.text_result_envelope(version, "ProcessXmlString", text) == soap.envelope(version, response)


def test_attributes_in_a_namespace_are_written_as_lxml_writes_them():
    attrs = {"{http://www.w3.org/XML/1998/namespace}lang": "nl", "result": "1", "{urn:x}ref": 'a"b'}
    out = XmlText()
    out.open("transaction", attributes(attrs))
    out.leaf("number", "202600001")
    out.close()
    root = etree.Element("transaction", attrs)
    etree.SubElement(root, "number").text = "202600001"
    assert out.text() == etree.tostring(root, encoding="unicode")
    assert etree.tostring(out.rendered(attrs).element(), encoding="unicode") == out.text()


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\x1f", "\ufffe", "\ud800"])
def test_what_xml_cannot_hold_is_refused_as_lxml_refuses_it(bad):
    with pytest.raises(ValueError):
        etree.Element("name").text = f"Jan{bad}Jansen"  # lxml's refusal, which the writer matches
    out = XmlText()
    out.leaf("name", f"Jan{bad}Jansen")
    with pytest.raises(ValueError, match="not allowed in XML"):
        out.text()
