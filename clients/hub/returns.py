"""Reading return messages: what each says about which message.

A return message is linked by number: the ``.ok``/``.error`` name starts with our reference, and the
recipient's answer names it as ``MessageId`` (Digipoort copies our ``aanleverkenmerk`` there). A
failure Digipoort reports itself names no reference; it is linked through Digipoort's kenmerk, which
the ``.ok`` told us. What cannot be linked either way is kept as *unknown*.

An answer that is not XML says nothing about acceptance: it is kept (content and all) with a problem,
and the message keeps its status — a clear error, nothing lost, nothing guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"
MAX_RETURN_BYTES = 10 * 1024 * 1024
REF = re.compile(r"^(CS\d{6,})-(\d+)$")  # our reference: message number, dash, attempt


@dataclass(frozen=True)
class ReturnInfo:
    status: str | None  # delivered, error, accepted, rejected; None when it says nothing we can read
    ref: str | None  # our reference, when the return message names it
    detail: str  # the reason (code: text), or the problem


def split_ref(ref: str | None) -> tuple[str, int] | None:
    """'CS000042-2' -> ('CS000042', 2); None for anything that is not one of our references."""
    match = REF.match(ref or "")
    return (match.group(1), int(match.group(2))) if match else None


def _parse(content: bytes) -> etree._Element | None:
    if len(content) > MAX_RETURN_BYTES or b"<!DOCTYPE" in content[:4096].upper() or b"<!ENTITY" in content.upper():
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(content, parser)
    except etree.XMLSyntaxError:
        return None


def _text(node: etree._Element | None, path: str) -> str:
    found = node.findtext(path) if node is not None else None
    return " ".join((found or "").split())


def read_return(kind: str, name: str, content: bytes) -> ReturnInfo:
    if kind in ("ok", "error"):
        ref = name.rsplit("_", 1)[0]
        if kind == "ok":
            return ReturnInfo("delivered", ref, "transport confirmed (.ok)")
        root = _parse(content)
        if root is None:  # the name alone says it is a transport error
            return ReturnInfo("error", ref, f"transport error; the .error file {name} is not readable XML")
        return ReturnInfo("error", ref, f"{_text(root, f'{{{KV}}}foutcode')}: {_text(root, f'{{{KV}}}foutbeschrijving')}")
    root = _parse(content)
    if root is None:
        return ReturnInfo(None, None, f"the answer file {name} is not XML ({len(content)} bytes); kept as it came, "
                                      "the message keeps its status")
    if root.tag == "Responsemessage":
        specs = [(_text(s, "Code"), _text(s, "Description")) for s in root.findall("Specification")]
        reason = "; ".join(f"{code}: {text}" for code, text in specs)
        accepted = _text(root, "Identification/ResponseType") == "acknowledgement"
        return ReturnInfo("accepted" if accepted else "rejected", _text(root, "Identification/MessageId") or None,
                          reason)
    if root.tag in (f"{{{KV}}}afleverFault", f"{{{KV}}}aanleverFault"):  # Digipoort's own delivery failure
        return ReturnInfo("rejected", None,
                          f"{_text(root, f'{{{KV}}}foutcode')}: {_text(root, f'{{{KV}}}foutbeschrijving')}")
    return ReturnInfo(None, None, f"the answer file {name} is XML but not a return message ({etree.QName(root).localname})")
