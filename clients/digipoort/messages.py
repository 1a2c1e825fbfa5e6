"""What the client writes (the meta file) and reads (``.ok``, ``.error``, answers) — its own code,
independent of the simulator's, as a real submitter's software would be.
"""

from __future__ import annotations

from lxml import etree

META_NS = "urn:koppelsim:digipoort:ftp-meta:1"
KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"
MAX_RESPONSE_BYTES = 10 * 1024 * 1024


def build_meta(*, context_id: str, filename: str, content_type: str, sha256: str, size: int, berichtsoort: str,
               aanleverkenmerk: str | None, eerder_aanleverkenmerk: str | None, identity_number: str,
               identity_type: str, rol: str, created: str) -> bytes:
    q = "{%s}" % META_NS
    root = etree.Element(q + "aanleverMeta", nsmap={None: META_NS}, versie="1.0")
    ref = etree.SubElement(root, q + "data-reference", contextId=context_id)
    etree.SubElement(etree.SubElement(ref, q + "lifetime"), q + "creationTime").text = created
    content = etree.SubElement(ref, q + "content", contentType=content_type)
    etree.SubElement(content, q + "filename").text = filename
    etree.SubElement(content, q + "checksum", type="SHA256").text = sha256
    etree.SubElement(content, q + "size").text = str(size)
    etree.SubElement(root, q + "berichtsoort").text = berichtsoort
    if aanleverkenmerk:
        etree.SubElement(root, q + "aanleverkenmerk").text = aanleverkenmerk
    if eerder_aanleverkenmerk:
        etree.SubElement(root, q + "eerderAanleverkenmerk").text = eerder_aanleverkenmerk
    identity = etree.SubElement(root, q + "identiteitBelanghebbende")
    etree.SubElement(identity, q + "nummer").text = identity_number
    etree.SubElement(identity, q + "type").text = identity_type
    etree.SubElement(root, q + "rolBelanghebbende").text = rol
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def classify(name: str, present: list[str]) -> tuple[str, str | None]:
    """(kind, Digipoort kenmerk) of a file in OUT.

    ``{ref}_{kenmerk}.ok`` / ``.error`` are transport responses; ``{kenmerk}`` with ``{kenmerk}.meta``
    is an answer — complete only once its meta file is there (Digipoort writes the meta second).
    """
    for suffix in (".ok", ".error"):
        if name.endswith(suffix) and "_" in name:
            return suffix[1:], name[: -len(suffix)].rsplit("_", 1)[1]
    if name.endswith(".meta"):
        return "answer_meta", name[: -len(".meta")]
    if f"{name}.meta" in present:
        return "answer", name
    return "skip", None


def _parse(content: bytes) -> etree._Element | None:
    if len(content) > MAX_RESPONSE_BYTES or b"<!DOCTYPE" in content[:4096].upper():
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(content, parser)
    except etree.XMLSyntaxError:
        return None


def read_error(content: bytes) -> tuple[str, str]:
    """``(foutcode, foutbeschrijving)`` of an ``.error`` (an aanleverFault)."""
    root = _parse(content)
    if root is None:
        return "ONBEKEND", "the .error file is not readable XML"
    code = root.findtext(f"{{{KV}}}foutcode") or "ONBEKEND"
    text = root.findtext(f"{{{KV}}}foutbeschrijving") or ""
    return code, " ".join(text.split())


def read_answer(content: bytes) -> tuple[str, str | None, str]:
    """``(accepted|rejected, code, reason)`` of the recipient's answer or Digipoort's delivery failure."""
    root = _parse(content)
    if root is None:
        return "rejected", None, "the answer is not readable XML"
    if root.tag == "Responsemessage":
        kind = root.findtext("Identification/ResponseType")
        specs = [(s.findtext("Code"), s.findtext("Description") or "") for s in root.findall("Specification")]
        code = specs[0][0] if specs else None
        reason = "; ".join(f"{c}: {d}" for c, d in specs)
        return ("accepted" if kind == "acknowledgement" else "rejected"), code, reason
    if root.tag in (f"{{{KV}}}afleverFault", f"{{{KV}}}aanleverFault"):  # a failure Digipoort reports itself
        code, text = root.findtext(f"{{{KV}}}foutcode"), root.findtext(f"{{{KV}}}foutbeschrijving") or ""
        return "rejected", code, f"{code}: {' '.join(text.split())}"
    return "rejected", None, f"unexpected answer element {root.tag}"
