"""Reading request elements into plain dicts, and putting Twinfield's messages back on them.

Twinfield answers a failed request with each problem as ``msgtype``/``msg``/``result="0"`` on the element it
concerns and ``result="0"`` on every element above it (php-twinfield's banktransaction-with-warning-message.xml:
the warning on ``<date>``, ``result="0"`` on ``<header>``, ``<transaction>`` and ``<transactions>``). Several
messages on one element are joined with ``//``, as in the real balance error. The element marked is the
request itself, or - for a transaction Twinfield could work out - the completed transaction
(``transaction_draft``); both have the request's elements in the places a ref names.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from .errors import Issue

# Repeated children: a ref ("line", 2) means the third <line> in <lines>.
_REPEATED = {"line": ("lines", "line"), "addresses": ("addresses", "address"), "banks": ("banks", "bank")}


def leaf_text(el: etree._Element | None, tag: str) -> str | None:
    if el is None:
        return None
    child = el.find(tag)
    if child is None:
        return None
    return child.text if child.text is not None else ""


def leaves(el: etree._Element | None) -> dict[str, str]:
    """The element's leaf children as tag -> text (the first of a repeated tag wins)."""
    found: dict[str, str] = {}
    if el is None:
        return found
    for child in el:
        if isinstance(child.tag, str) and child.tag not in found and not elements(child):
            # a comment inside a field does not make it a container; its text is what surrounds it
            found[child.tag] = (child.text or "") + "".join(c.tail or "" for c in child)
    return found


def elements(el: etree._Element | None, tag: str | None = None) -> list[etree._Element]:
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str) and (tag is None or c.tag == tag)]


def locate(root: etree._Element, ref: tuple) -> etree._Element:
    """The element a ref names; where the field was not sent, its nearest sent parent."""
    el, i = root, 0
    while i < len(ref):
        part = ref[i]
        if part in _REPEATED and i + 1 < len(ref) and isinstance(ref[i + 1], int):
            container_tag, item_tag = _REPEATED[part]
            container = el.find(container_tag)
            items = elements(container, item_tag)
            if ref[i + 1] >= len(items):
                return el
            el, i = items[ref[i + 1]], i + 2
            continue
        child = el.find(part) if isinstance(part, str) else None
        if child is None:
            return el
        el, i = child, i + 1
    return el


def mark(el: etree._Element, msg: str, kind: str = "error") -> None:
    previous = el.get("msg")
    kind = "error" if kind == "error" or el.get("msgtype") == "error" else kind
    # The attribute order of the real responses: msgtype, msg, result.
    for name in ("msgtype", "msg", "result"):
        if name in el.attrib:
            del el.attrib[name]
    el.set("msgtype", kind)
    el.set("msg", f"{previous}//{msg}" if previous else msg)
    el.set("result", "0")
    for ancestor in el.iterancestors():
        ancestor.set("result", "0")


def marked(answer: etree._Element, issues: list[Issue]) -> etree._Element:
    """``answer`` (changed in place) as the response to a refusal: every issue placed, ``result="0"`` on the
    root."""
    for issue in issues:
        mark(locate(answer, issue.ref), issue.msg, issue.kind)
    answer.set("result", "0")
    return answer


def marked_copy(request: etree._Element, issues: list[Issue]) -> etree._Element:
    """The request as the response to a refusal: every issue placed, ``result="0"`` on the root."""
    response = copy.deepcopy(request)
    response.tail = None
    return marked(response, issues)


def error_element(tag: str, msg: str, **attrs: Any) -> etree._Element:
    """An empty element carrying an error, as a failed read answers ("an empty element containing an error")."""
    el = etree.Element(tag, {k: str(v) for k, v in attrs.items()})
    el.set("msgtype", "error")
    el.set("msg", msg)
    el.set("result", "0")
    return el
