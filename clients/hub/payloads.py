"""The messages a tenant can prepare, and the payload each becomes.

* ``vat`` — aangifte omzetbelasting (berichtsoort ``Omzetbelasting``): an XBRL instance built from box
  values by ``clients.xbrl``; refused before sending when the boxes do not add up, naming the box.
* ``icp`` — opgaaf intracommunautaire prestaties (berichtsoort ``ICP``): per EU customer its VAT number
  and amount. [CHOSEN] a small XBRL instance on the ``bd-rpt-icp-opgaaf-{year}`` entry point (SPEC §2.5)
  with our own fact names: the ICP taxonomy's concepts are not in the project's reference material.
* ``kvk`` — deponering jaarverantwoording (berichtsoort ``KvK-jaarverantwoording``): the document as
  given, or [CHOSEN] a minimal XBRL instance naming the KvK number and the financial year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

from lxml import etree

from clients.xbrl import build_vat_return, vat_box_problems
from clients.xbrl import period_dates as xbrl_period_dates

from .errors import InvalidMessage, UnknownMessageType

XBRLI = "http://www.xbrl.org/2003/instance"
LINK = "http://www.xbrl.org/2003/linkbase"
XLINK = "http://www.w3.org/1999/xlink"
ISO4217 = "http://www.xbrl.org/2003/iso4217"
ICP_NS = "urn:koppelsim:hub:icp:1"
KVK_NS = "urn:koppelsim:hub:kvk:1"
_EU_VAT = re.compile(r"^[A-Z]{2}[0-9A-Z+*.]{2,12}$")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Built:
    berichtsoort: str
    identity: str
    identity_type: str
    description: str
    filename: str
    payload: bytes


@dataclass(frozen=True)
class MessageType:
    name: str
    berichtsoort: str
    what: str
    build: Callable[[dict, dict, datetime], Built]


def period_dates(text: str) -> tuple[date, date]:
    """'2026-10' (a month) or '2026-Q3' (a quarter) -> first and last day."""
    try:
        return xbrl_period_dates(text)
    except ValueError as exc:
        raise InvalidMessage(str(exc)) from None


def _identity(tenant: dict, key: str, fields: dict, what: str) -> str:
    identity = fields.get("identity") or tenant.get(key)
    if not identity:
        raise InvalidMessage(f"tenant {tenant['id']} has no {key.replace('_', ' ')} for a {what}; "
                             f"configure it on the tenant or give 'identity'")
    return str(identity)


def _vat(tenant: dict, fields: dict, now: datetime) -> Built:
    boxes = fields.get("boxes")
    if not isinstance(boxes, dict) or not boxes:
        raise InvalidMessage("a VAT return needs 'boxes', e.g. {1a: 10000, 1a_btw: 2100, 5b: 300}")
    problems = vat_box_problems(boxes)
    if problems:  # refused here, before anything is sent: the Belastingdienst would reject it anyway
        raise InvalidMessage("the VAT return does not add up: " + "; ".join(problems))
    identity = _identity(tenant, "vat_number", fields, "VAT return")
    start, end = period_dates(fields.get("period", ""))
    payload = build_vat_return(identity=identity, period_start=start, period_end=end, boxes=boxes, created=now)
    return Built("Omzetbelasting", identity, "Fi", f"btw-aangifte {fields['period']}",
                 f"omzetbelasting-{fields['period']}.xbrl", payload)


def _xbrl_root(schema_ref: str, identity: str, scheme: str, start: date, end: date,
               nsmap: dict) -> etree._Element:
    root = etree.Element(f"{{{XBRLI}}}xbrl", nsmap={"xbrli": XBRLI, "link": LINK, "xlink": XLINK,
                                                   "iso4217": ISO4217, **nsmap})
    etree.SubElement(root, f"{{{LINK}}}schemaRef", {f"{{{XLINK}}}type": "simple", f"{{{XLINK}}}href": schema_ref})
    context = etree.SubElement(root, f"{{{XBRLI}}}context", id="Msg")
    entity = etree.SubElement(context, f"{{{XBRLI}}}entity")
    etree.SubElement(entity, f"{{{XBRLI}}}identifier", scheme=scheme).text = identity
    period = etree.SubElement(context, f"{{{XBRLI}}}period")
    etree.SubElement(period, f"{{{XBRLI}}}startDate").text = start.isoformat()
    etree.SubElement(period, f"{{{XBRLI}}}endDate").text = end.isoformat()
    unit = etree.SubElement(root, f"{{{XBRLI}}}unit", id="EUR")
    etree.SubElement(unit, f"{{{XBRLI}}}measure").text = "iso4217:EUR"
    return root


def _serialise(root: etree._Element) -> bytes:
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _icp(tenant: dict, fields: dict, now: datetime) -> Built:
    supplies = fields.get("supplies")
    if not isinstance(supplies, list) or not supplies:
        raise InvalidMessage("an ICP return needs 'supplies': [{vat_number: DE123456789, amount: 1000}, ...]")
    identity = _identity(tenant, "vat_number", fields, "ICP return")
    start, end = period_dates(fields.get("period", ""))
    root = _xbrl_root(f"http://www.nltaxonomie.nl/nt20/bd/20251210/entrypoints/bd-rpt-icp-opgaaf-{end.year}.xsd",
                      identity, "www.belastingdienst.nl/omzetbelastingnummer", start, end, {"icp": ICP_NS})
    for index, supply in enumerate(supplies, 1):
        number = str((supply or {}).get("vat_number", "")).replace(" ", "").upper()
        amount = (supply or {}).get("amount")
        if not _EU_VAT.match(number) or number.startswith("NL"):
            raise InvalidMessage(f"supply {index}: {number!r} is not the VAT number of a customer in another EU country")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise InvalidMessage(f"supply {index}: amount must be whole euros, got {amount!r}")
        item = etree.SubElement(root, f"{{{ICP_NS}}}Supply", contextRef="Msg")
        etree.SubElement(item, f"{{{ICP_NS}}}CountryCode").text = number[:2]
        etree.SubElement(item, f"{{{ICP_NS}}}VATIdentificationNumber").text = number[2:]
        etree.SubElement(item, f"{{{ICP_NS}}}Amount", unitRef="EUR", decimals="INF").text = str(amount)
        etree.SubElement(item, f"{{{ICP_NS}}}Kind").text = "services" if supply.get("services") else "goods"
    return Built("ICP", identity, "Fi", f"icp-opgaaf {fields['period']}", f"icp-{fields['period']}.xbrl",
                 _serialise(root))


def _kvk(tenant: dict, fields: dict, now: datetime) -> Built:
    identity = _identity(tenant, "kvk_number", fields, "KvK filing")
    year = fields.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 < year < 2200:
        raise InvalidMessage(f"a KvK filing needs the financial 'year' (e.g. 2025), got {year!r}")
    if fields.get("document") is not None:
        payload = str(fields["document"]).encode()
        if len(payload) > MAX_DOCUMENT_BYTES:
            raise InvalidMessage(f"the document is {len(payload)} bytes; at most {MAX_DOCUMENT_BYTES}")
    else:
        root = _xbrl_root(f"http://www.nltaxonomie.nl/kvk/entrypoints/kvk-rpt-jaarverantwoording-{year}.xsd",
                          identity, "http://www.kvk.nl/kvk-id", date(year, 1, 1), date(year, 12, 31), {"kvk": KVK_NS})
        etree.SubElement(root, f"{{{KVK_NS}}}LegalEntityName", contextRef="Msg").text = tenant["name"]
        etree.SubElement(root, f"{{{KVK_NS}}}FinancialYear", contextRef="Msg").text = str(year)
        payload = _serialise(root)
    return Built("KvK-jaarverantwoording", identity, "KvK", f"jaarverantwoording {year}",
                 f"jaarverantwoording-{year}.xbrl", payload)


MESSAGE_TYPES: dict[str, MessageType] = {t.name: t for t in (
    MessageType("vat", "Omzetbelasting", "VAT return (period, boxes)", _vat),
    MessageType("icp", "ICP", "ICP return (period, supplies)", _icp),
    MessageType("kvk", "KvK-jaarverantwoording", "KvK filing (year, optional document)", _kvk),
)}


# What each message type is prepared from, with the JSON type each field must have: checked before
# anything is built, so a caller (API body, scenario, CLI) gets a 400 naming the field, never a 500.
FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "vat": {"period": (str,), "boxes": (dict,), "identity": (str,)},
    "icp": {"period": (str,), "supplies": (list,), "identity": (str,)},
    "kvk": {"year": (int,), "document": (str,), "identity": (str,)},
}
TENANT_FIELDS: dict[str, tuple[type, ...]] = {"name": (str,), "vat_number": (str,), "kvk_number": (str,),
                                              "relation_ids": (list, tuple), "emails": (list, tuple)}
_JSON_NAMES = {str: "a string", dict: "an object", list: "a list", tuple: "a list", int: "a whole number"}


def _check(where: str, fields: dict[str, Any], allowed: dict[str, tuple[type, ...]]) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise InvalidMessage(f"{where}: unknown field {unknown[0]!r}; known: {', '.join(sorted(allowed))}")
    for name, value in fields.items():
        types = allowed[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            raise InvalidMessage(f"{where}: {name!r} must be {_JSON_NAMES[types[0]]}, got {value!r}")


def check_fields(message_type: str, fields: dict[str, Any]) -> None:
    """Refuse a field the message type does not know, or one of the wrong type, naming it."""
    if message_type not in FIELDS:
        build_message(message_type, {}, {}, datetime.min)  # raises UnknownMessageType with the known ones
    _check(f"a {message_type} message", fields, FIELDS[message_type])
    for index, supply in enumerate(fields.get("supplies") or [], 1):
        if not isinstance(supply, dict):
            raise InvalidMessage(f"supply {index} must be an object {{vat_number, amount}}, got {supply!r}")
    for box, value in (fields.get("boxes") or {}).items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidMessage(f"box {box} must be whole euros, got {value!r}")


def check_tenant_fields(fields: dict[str, Any]) -> None:
    """A tenant's fields: strings, and lists of strings (``"7000123"`` is not a list of relation ids)."""
    _check("a tenant", fields, TENANT_FIELDS)
    for name in ("relation_ids", "emails"):
        for item in fields.get(name) or ():
            if not isinstance(item, str) or not item:
                raise InvalidMessage(f"a tenant: {name!r} must be a list of strings, got an item {item!r}")


def build_message(message_type: str, tenant: dict, fields: dict[str, Any], now: datetime) -> Built:
    kind = MESSAGE_TYPES.get(message_type)
    if kind is None:
        known = "; ".join(f"{t.name} = {t.what}" for t in MESSAGE_TYPES.values())
        raise UnknownMessageType(f"unknown message type {message_type!r}; known: {known}")
    return kind.build(tenant, fields, now)
