"""Reading a submitter's meta file and writing Digipoort's own (``afleverMeta``) next to an answer.

The schema is ``meta.xsd`` ([CHOSEN], modelled on Digikoppeling GB and the WUS aanleverRequest);
``digipoort.meta_schema`` in the config swaps in the official one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

from ..core.safexml import XMLRefused, parse_xml
from .errors import ALS100, SubmissionRefused

NS = "urn:koppelsim:digipoort:ftp-meta:1"
DEFAULT_SCHEMA = Path(__file__).with_name("meta.xsd")
META_SUFFIX = ".meta"
# Digikoppeling GB MD007: at most 200 characters, letters, digits, '.', '_' and '-'.
FILENAME_RULE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_Q = "{%s}" % NS


@dataclass(frozen=True)
class AanleverMeta:
    context_id: str
    filename: str
    content_type: str
    checksum_type: str
    checksum: str
    size: int
    berichtsoort: str
    aanleverkenmerk: str | None
    eerder_aanleverkenmerk: str | None
    identity_number: str
    identity_type: str
    rol: str
    autorisatie_adres: str | None

    def as_dict(self) -> dict:
        return {
            "contextId": self.context_id, "filename": self.filename, "contentType": self.content_type,
            "checksum": {"type": self.checksum_type, "value": self.checksum}, "size": self.size,
            "berichtsoort": self.berichtsoort, "aanleverkenmerk": self.aanleverkenmerk,
            "eerderAanleverkenmerk": self.eerder_aanleverkenmerk,
            "identiteitBelanghebbende": {"nummer": self.identity_number, "type": self.identity_type},
            "rolBelanghebbende": self.rol, "autorisatieAdres": self.autorisatie_adres,
        }


def is_meta_name(name: str) -> bool:
    return name.endswith(META_SUFFIX) and len(name) > len(META_SUFFIX)


def is_allowed_filename(name: str) -> bool:
    return bool(FILENAME_RULE.match(name)) and name not in (".", "..") and not name.startswith(".")


@lru_cache(maxsize=4)
def load_schema(path: str | None = None) -> etree.XMLSchema:
    """The meta-file schema; refuses one that does not describe ``aanleverMeta`` in our namespace,
    because the fields are read by those names (see the module docstring)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    where = str(path or DEFAULT_SCHEMA)
    try:
        document = etree.parse(where, parser)
        schema = etree.XMLSchema(document)
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise ValueError(f"digipoort.meta_schema {where}: not a usable XML Schema ({exc})") from exc
    root = document.getroot()
    declares = root.find("{http://www.w3.org/2001/XMLSchema}element[@name='aanleverMeta']") is not None
    if root.get("targetNamespace") != NS or not declares:
        raise ValueError(f"digipoort.meta_schema {where}: it must declare element aanleverMeta in namespace {NS} "
                         "(the simulator reads the meta file's fields by those names)")
    return schema


def parse_aanlever_meta(data: bytes, *, max_bytes: int, schema_path: str | None = None) -> AanleverMeta:
    """The submitter's meta file, or ``SubmissionRefused(ALS100)`` saying precisely what is wrong."""
    try:
        root = parse_xml(data, max_bytes=max_bytes, what="meta file")
    except XMLRefused as exc:
        raise SubmissionRefused(ALS100, str(exc)) from exc
    schema = load_schema(schema_path)
    if not schema.validate(root):
        error = schema.error_log.last_error
        raise SubmissionRefused(ALS100, f"meta file line {error.line}: {error.message}")
    if root.tag != _Q + "aanleverMeta":
        raise SubmissionRefused(ALS100, f"the root element must be aanleverMeta in namespace {NS}")
    ref = root.find(_Q + "data-reference")
    content = ref.find(_Q + "content")
    checksum = content.find(_Q + "checksum")
    identity = root.find(_Q + "identiteitBelanghebbende")
    return AanleverMeta(
        context_id=ref.get("contextId"),
        filename=_text(content, "filename"),
        content_type=content.get("contentType"),
        checksum_type=checksum.get("type"),
        checksum=(checksum.text or "").strip().lower(),
        size=int(_text(content, "size")),
        berichtsoort=_text(root, "berichtsoort"),
        aanleverkenmerk=_text(root, "aanleverkenmerk"),
        eerder_aanleverkenmerk=_text(root, "eerderAanleverkenmerk"),
        identity_number=_text(identity, "nummer"),
        identity_type=_text(identity, "type"),
        rol=_text(root, "rolBelanghebbende"),
        autorisatie_adres=_text(root, "autorisatieAdres"),
    )


def build_aflever_meta(*, kenmerk: str, filename: str, payload_sha256: str, size: int, berichtsoort: str,
                       aanleverkenmerk: str | None, berichttype: str, identity_number: str,
                       identity_type: str, timestamp: str) -> bytes:
    """The ``{kenmerk}.meta`` Digipoort writes next to an answer; ``filename`` is the answer's original name."""
    root = etree.Element(_Q + "afleverMeta", nsmap={None: NS}, versie="1.0")
    ref = etree.SubElement(root, _Q + "data-reference", contextId=kenmerk)
    lifetime = etree.SubElement(ref, _Q + "lifetime")
    etree.SubElement(lifetime, _Q + "creationTime").text = timestamp
    content = etree.SubElement(ref, _Q + "content", contentType="application/xml")
    etree.SubElement(content, _Q + "filename").text = filename
    etree.SubElement(content, _Q + "checksum", type="SHA256").text = payload_sha256
    etree.SubElement(content, _Q + "size").text = str(size)
    etree.SubElement(root, _Q + "kenmerk").text = kenmerk
    etree.SubElement(root, _Q + "berichtsoort").text = berichtsoort
    if aanleverkenmerk:
        etree.SubElement(root, _Q + "aanleverkenmerk").text = aanleverkenmerk
    etree.SubElement(root, _Q + "berichttype").text = berichttype
    identity = etree.SubElement(root, _Q + "identiteitBelanghebbende")
    etree.SubElement(identity, _Q + "nummer").text = identity_number
    etree.SubElement(identity, _Q + "type").text = identity_type
    etree.SubElement(root, _Q + "tijdstempel").text = timestamp
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _text(parent: etree._Element, name: str) -> str | None:
    node = parent.find(_Q + name)
    if node is None or node.text is None:
        return None
    return " ".join(node.text.split())
