"""Answers written straight as XML text: the hot path's answer (a booked transaction) without element objects.

Building an answer with lxml costs ~2 us per element with attributes (a booking's answer has ~70 of them);
writing the same text costs a few percent of that. ``XmlText`` writes exactly what ``etree.tostring(...,
encoding="unicode")`` writes for the same tree: attributes in the order given, lxml's escaping, an element
whose text is ``""`` as ``<a></a>`` and one without text as ``<a/>`` (Twinfield's recorded answers have
``<originreference></originreference>``). ``Rendered`` carries such a text through ProcessXml: its root's
attributes stay readable, and where a caller needs the element (a ProcessXmlDocument answer, a batch) it is
parsed once.
"""

from __future__ import annotations

import re
from typing import Mapping

from lxml import etree


def text_escape(value: str) -> str:
    """Element text as lxml writes it. (str.replace, not str.translate: translate looks every character up
    in a dict, ~100 times slower on a long text such as a whole answer.)"""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    return value


_ATTRIBUTE_ONLY = (('"', "&quot;"), ("\n", "&#10;"), ("\t", "&#9;"))


def attribute_escape(value: str) -> str:
    """An attribute value as lxml writes it (inside double quotes)."""
    value = text_escape(value)
    for char, entity in _ATTRIBUTE_ONLY:
        if char in value:
            value = value.replace(char, entity)
    return value


def attributes(attrs: Mapping[str, object] | None) -> str:
    """Attributes as written inside a start tag (`` name="value"``...): made once where they repeat.

    A name in a namespace (``{uri}name``, e.g. a client's ``xml:lang`` copied onto the answer) needs a
    prefix and maybe its declaration: those few are written by lxml itself, so they come out as before."""
    if not attrs:
        return ""
    if any(name.startswith("{") for name in attrs):
        return _lxml_attributes(attrs)
    return "".join(f' {name}="{"" if value is None else attribute_escape(str(value))}"'
                   for name, value in attrs.items())


def _lxml_attributes(attrs: Mapping[str, object]) -> str:
    element = etree.Element("a", {name: "" if value is None else str(value) for name, value in attrs.items()})
    written = etree.tostring(element, encoding="unicode")  # <a xmlns:ns0="..." ns0:b="..."/>
    return written[len("<a"):-len("/>")]


class XmlText:
    """An element tree written as it is built: ``open``/``close`` for containers, ``leaf`` for the rest.
    ``attrs`` are written attributes (see ``attributes``), so a renderer can keep the ones that repeat.

    The elements written with empty text are counted (by their place in document order): parsing drops an
    empty text, and ``Rendered.element`` puts it back, so the element serialises as the text does."""

    __slots__ = ("_parts", "_open", "_count", "_empty")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._open: list[str] = []
        self._count = 0  # elements started so far
        self._empty: list[int] = []  # the places of elements with text ""

    def open(self, tag: str, attrs: str = "") -> None:
        self._parts.append(f"<{tag}{attrs}>")
        self._open.append(tag)
        self._count += 1

    def close(self) -> None:
        self._parts.append(f"</{self._open.pop()}>")

    def leaf(self, tag: str, text: object = None, attrs: str = "") -> None:
        """``<tag attrs>text</tag>``; ``None`` writes ``<tag attrs/>`` (lxml's element without text)."""
        if text is None:
            self._parts.append(f"<{tag}{attrs}/>")
        else:
            if text == "":
                self._empty.append(self._count)
            self._parts.append(f"<{tag}{attrs}>{text_escape(text if type(text) is str else str(text))}</{tag}>")
        self._count += 1

    def constant(self, tag: str, text: str) -> None:
        """A leaf whose tag and text never change (``<rate>1</rate>``), written from a kept string."""
        written = _CONSTANTS.get((tag, text))
        if written is None:
            written = _CONSTANTS[(tag, text)] = f"<{tag}>{text_escape(text)}</{tag}>"
        if text == "":
            self._empty.append(self._count)
        self._parts.append(written)
        self._count += 1

    def text(self) -> str:
        if self._open:
            raise ValueError(f"unclosed elements: {', '.join(self._open)}")
        written = "".join(self._parts)
        # One scan of the whole text for what XML cannot hold (a control character stored through the admin
        # API, say): refused as lxml refuses it, rather than answered as a document no client can read.
        bad = _NOT_XML.search(written)
        if bad is not None:
            raise ValueError(f"not allowed in XML: U+{ord(bad.group()):04X}")
        return written

    def rendered(self, root_attrib: Mapping[str, str]) -> "Rendered":
        """The whole text as an answer; ``root_attrib`` are the root's attributes (as given to ``open``)."""
        return Rendered(self.text(), root_attrib, tuple(self._empty))


_CONSTANTS: dict[tuple[str, str], str] = {}
# The characters XML 1.0 does not allow (Char production): C0 controls but tab, LF and CR; surrogates; FFFE/FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Rendered:
    """An answer element as text, with its root's attributes (``get`` as on an element)."""

    __slots__ = ("text", "attrib", "_empty", "_element")

    def __init__(self, text: str, attrib: Mapping[str, str], empty: tuple[int, ...] = ()) -> None:
        self.text = text
        self.attrib = dict(attrib)
        self._empty = empty
        self._element: etree._Element | None = None

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrib.get(name, default)

    def element(self) -> etree._Element:
        """The answer as an element (parsed on first use; it is our own well-formed text), serialising as
        ``text`` does."""
        if self._element is None:
            root = etree.fromstring(self.text)
            if self._empty:
                empty = set(self._empty)
                for place, el in enumerate(root.iter()):
                    if place in empty:
                        el.text = ""
            self._element = root
        return self._element


def as_element(answer: "etree._Element | Rendered") -> etree._Element:
    return answer.element() if isinstance(answer, Rendered) else answer


def as_text(answer: "etree._Element | Rendered") -> str:
    return answer.text if isinstance(answer, Rendered) else etree.tostring(answer, encoding="unicode")
