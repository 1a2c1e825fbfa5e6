"""The files Digipoort writes into ``OUT``.

[CHOSEN] The content of ``.ok``/``.error`` files of the FTP interface is not public. We use the
elements the WUS interface defines for the same moments, so the files validate against Logius'
``digipoort-koppelvlak-1.xsd`` (namespace ``http://logius.nl/digipoort/koppelvlakservices/1.2/``):

* ``.ok``    — an ``aanleverResponse`` (as the real conformance environment returns for Happyflow);
* ``.error`` — an ``aanleverFault`` (``foutcode`` + ``foutbeschrijving``, as the real ALS100 fault);
* delivery failures Digipoort itself reports (410/AFS400, AFS600) — an ``afleverFault``.

The recipient's answer is the Belastingdienst ``Responsemessage version="2006.1"`` (real sample with
status 500: acknowledgement, Class A, Code 0001, "Status: Verwerkbaar"); [CHOSEN] a rejection uses the
same envelope with ``ResponseType`` error and one ``Specification`` per finding.
"""

from __future__ import annotations

from lxml import etree

KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"
_KV = "{%s}" % KV


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, _KV + name).text = text


def _identity(parent: etree._Element, name: str, number: str, kind: str) -> None:
    node = etree.SubElement(parent, _KV + name)
    etree.SubElement(node, _KV + "nummer").text = number
    etree.SubElement(node, _KV + "type").text = kind


def aanlever_response(*, kenmerk: str, berichtsoort: str, aanleverkenmerk: str | None,
                      eerder_aanleverkenmerk: str | None, timestamp: str, identity_number: str,
                      identity_type: str, rol: str, recipient_oin: str, autorisatie_adres: str | None,
                      statuscode: int, statusomschrijving: str) -> bytes:
    """The transport confirmation (``.ok``)."""
    root = etree.Element(_KV + "aanleverResponse", nsmap={None: KV})
    _add(root, "kenmerk", kenmerk)
    _add(root, "berichtsoort", berichtsoort)
    _add(root, "aanleverkenmerk", aanleverkenmerk)
    _add(root, "eerderAanleverkenmerk", eerder_aanleverkenmerk)
    _add(root, "tijdstempelAangeleverd", timestamp)
    _identity(root, "identiteitBelanghebbende", identity_number, identity_type)
    _add(root, "rolBelanghebbende", rol)
    _identity(root, "identiteitOntvanger", recipient_oin, "OIN")
    _add(root, "autorisatieAdres", autorisatie_adres)
    _add(root, "statuscode", str(statuscode))
    _add(root, "tijdstempelStatus", timestamp)
    _add(root, "statusomschrijving", statusomschrijving)
    return _serialise(root)


def fault(element: str, code: str, description: str) -> bytes:
    """``aanleverFault`` (an ``.error``) or ``afleverFault`` (Digipoort's own delivery failure)."""
    root = etree.Element(_KV + element, nsmap={None: KV})
    _add(root, "foutcode", code)
    _add(root, "foutbeschrijving", description)
    return _serialise(root)


def response_message(*, message_id: str, refers_to: str, message_id_bd: str, received: str,
                     response_type: str, specifications: list[tuple[str, str, str]]) -> bytes:
    """The Belastingdienst's answer; ``specifications`` are (Class, Code, Description) triples."""
    root = etree.Element("Responsemessage", version="2006.1")
    ident = etree.SubElement(root, "Identification")
    for name, value in (("MessageId", message_id), ("RefersToMessageId", refers_to),
                        ("MessageIdBd", message_id_bd), ("DatumTijdOntvangst", received),
                        ("ResponseType", response_type)):
        etree.SubElement(ident, name).text = value
    for klass, code, description in specifications:
        spec = etree.SubElement(root, "Specification")
        etree.SubElement(spec, "Class").text = klass
        etree.SubElement(spec, "Code").text = code
        etree.SubElement(spec, "Description").text = description
    return _serialise(root)


ACKNOWLEDGEMENT = ("A", "0001", "Status: Verwerkbaar")  # the real sample's specification
