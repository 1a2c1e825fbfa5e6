"""Reading return messages: what each says about which message.

Our reference for an attempt is number, attempt and this hub's installation id (``CS000001-1-7f3a9c``);
it is the ``contextId`` and the ``aanleverkenmerk``. A ``.ok``/``.error`` is linked when its name starts
with exactly that reference; it tells us Digipoort's kenmerk for the attempt. Every answer (the
recipient's, or a failure Digipoort reports itself) is linked only by that kenmerk — never by a name
prefix or by the ``MessageId`` it carries. What cannot be linked is kept as *unknown*, except what names
another hub's reference (``belongs_elsewhere``): that stays in OUT for its owner.

An answer that is not XML says nothing about acceptance: it is kept (content and all) with a problem,
and the message keeps its status — a clear error, nothing lost, nothing guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"
MAX_RETURN_BYTES = 10 * 1024 * 1024
# A hub reference: message number, attempt, installation id (letters/digits/'-' only: Digipoort's
# contextId and file-name rules, and no '_', which separates reference and kenmerk in a .ok name).
REF = re.compile(r"^(CS\d{6,})-(\d+)-([0-9a-f]{6,16})$")


@dataclass(frozen=True)
class ReturnInfo:
    status: str | None  # delivered, error, accepted, rejected; None when it says nothing we can read
    ref: str | None  # our reference, when the return message names it
    detail: str  # the reason (code: text), or the problem


def make_ref(number: str, attempt: int, installation: str) -> str:
    return f"{number}-{attempt}-{installation}"


def belongs_elsewhere(kind: str, name: str, content: bytes, installation: str) -> bool:
    """Is a return message the Digipoort client could not link somebody else's (so: leave it in OUT)?

    A ``.ok``/``.error`` names the submitter's reference, and the client knows all of ours: one it
    cannot link is another submitter's. An answer names only Digipoort's kenmerk; it is another hub's
    when its ``MessageId`` is a hub reference with another installation id. Any other answer nobody
    can place is taken in and kept as unknown (SPEC §8)."""
    if kind in ("ok", "error"):
        return True
    match = REF.match(read_return(kind, name, content).ref or "")
    return bool(match) and match.group(3) != installation


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
