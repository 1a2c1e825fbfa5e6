"""VAT returns (aangifte omzetbelasting) as XBRL instances, the way accounting software writes them.

``build_vat_return`` writes an instance shaped like the Belastingdienst's own sample
(``reference/digipoort/wus.core/VB-01_bd-rpt-ob-aangifte-2021.xbrl``): one context ``Msg`` with the
omzetbelastingnummer, unit ``EUR``, the contact and software facts, then every box in whole euros with
``decimals="INF"``. It does not check the arithmetic, so tests can send returns the Belastingdienst
refuses; ``vat_box_problems`` is that check for callers (the hub) who want to refuse them first.
``read_vat_return`` reads one back with a safe parser.

Box labels are those of the paper form: ``1a`` is the turnover and ``1a_btw`` the VAT of box 1a, …,
``5a``, ``5b``, ``5d``, ``5g``. The mapping duplicates ``simulators.digipoort.vat.BOXES`` on purpose:
clients never import simulators (a test keeps the two equal).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from lxml import etree

XBRLI = "http://www.xbrl.org/2003/instance"
LINK = "http://www.xbrl.org/2003/linkbase"
XLINK = "http://www.w3.org/1999/xlink"
ISO4217 = "http://www.xbrl.org/2003/iso4217"
SCHEME = "www.belastingdienst.nl/omzetbelastingnummer"
MAX_BYTES = 20 * 1024 * 1024

# Return year -> (taxonomy, release). 2020 and 2021: the reference samples; 2025 and 2026: SPEC §2.5;
# 2022-2024: the entry points public accounting software uses (Odoo l10n_nl_reports, Dynamics 365 BC NL).
TAXONOMIES: dict[int, tuple[str, str]] = {
    2020: ("nt14", "20191211"), 2021: ("nt15", "20201209"), 2022: ("nt16", "20211208"),
    2023: ("nt17", "20221207"), 2024: ("nt18", "20231213"), 2025: ("nt19", "20241211"),
    2026: ("nt20", "20251210"),
}

BOXES: dict[str, str] = {
    "1a": "TaxedTurnoverSuppliesServicesGeneralTariff",
    "1a_btw": "ValueAddedTaxSuppliesServicesGeneralTariff",
    "1b": "TaxedTurnoverSuppliesServicesReducedTariff",
    "1b_btw": "ValueAddedTaxSuppliesServicesReducedTariff",
    "1c": "TaxedTurnoverSuppliesServicesOtherRates", "1c_btw": "ValueAddedTaxSuppliesServicesOtherRates",
    "1d": "TaxedTurnoverPrivateUse", "1d_btw": "ValueAddedTaxPrivateUse",
    "1e": "SuppliesServicesNotTaxed",
    "2a": "TurnoverSuppliesServicesByWhichVATTaxationIsTransferred",
    "2a_btw": "ValueAddedTaxSuppliesServicesByWhichVATTaxationIsTransferred",
    "3a": "SuppliesToCountriesOutsideTheEC", "3b": "SuppliesToCountriesWithinTheEC",
    "3c": "InstallationDistanceSalesWithinTheEC",
    "4a": "TurnoverFromTaxedSuppliesFromCountriesOutsideTheEC",
    "4a_btw": "ValueAddedTaxOnSuppliesFromCountriesOutsideTheEC",
    "4b": "TurnoverFromTaxedSuppliesFromCountriesWithinTheEC",
    "4b_btw": "ValueAddedTaxOnSuppliesFromCountriesWithinTheEC",
    "5a": "ValueAddedTaxOwed", "5b": "ValueAddedTaxOnInput", "5d": "SmallEntrepreneurProvisionReduction",
    "5g": "ValueAddedTaxOwedToBePaidBack",
}
VAT_BOXES = ("1a_btw", "1b_btw", "1c_btw", "1d_btw", "2a_btw", "4a_btw", "4b_btw")
# The small-entrepreneur reduction (5d) ended in 2020; it is written only when given, like Odoo does.
OPTIONAL_BOXES = ("5d",)
CONTACT_FACTS = {"type": "ContactType", "initials": "ContactInitials", "prefix": "ContactPrefix",
                 "surname": "ContactSurname", "telephone": "ContactTelephoneNumber",
                 "tax_consultant_number": "TaxConsultantNumber"}
# [CHOSEN] who is named as contact when the caller names no one: the taxpayer (BPL) itself.
DEFAULT_CONTACT = {"type": "BPL", "initials": "K", "surname": "Koppelsim"}
_LABELS = {concept: label for label, concept in BOXES.items()}
_ENTRY_YEAR = re.compile(r"/entrypoints/bd-rpt-ob-aangifte-(\d{4})\.xsd$")
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2]|Q[1-4])$")


def period_dates(text: str) -> tuple[date, date]:
    """'2026-10' (a month) or '2026-Q3' (a quarter) -> its first and last day; ValueError otherwise."""
    match = _PERIOD.match(str(text))
    if not match:
        raise ValueError(f"period {text!r} must look like 2026-10 (a month) or 2026-Q3 (a quarter)")
    year, part = int(match.group(1)), match.group(2)
    first, last = (3 * int(part[1]) - 2, 3 * int(part[1])) if part.startswith("Q") else (int(part), int(part))
    end = date(year + (last == 12), last % 12 + 1, 1) - timedelta(days=1)
    return date(year, first, 1), end


def entry_point(year: int) -> str:
    """The schemaRef of the VAT return for ``year``; ValueError naming the known years otherwise."""
    nt, release = _taxonomy(year)
    return f"http://www.nltaxonomie.nl/{nt}/bd/{release}/entrypoints/bd-rpt-ob-aangifte-{year}.xsd"


def dictionary_namespace(year: int) -> str:
    nt, release = _taxonomy(year)
    return f"http://www.nltaxonomie.nl/{nt}/bd/{release}/dictionary/bd-data"


def _taxonomy(year: int) -> tuple[str, str]:
    if year not in TAXONOMIES:
        known = ", ".join(str(y) for y in sorted(TAXONOMIES))
        raise ValueError(f"no VAT return taxonomy is known for {year}; known years: {known}")
    return TAXONOMIES[year]


def build_vat_return(*, identity: str, period_start: date, period_end: date, boxes: Mapping[str, int | None],
                     taxonomy_year: int | None = None, contact: Mapping[str, str] | None = None,
                     created: datetime, software: tuple[str, str] = ("koppelsim", "0.1"),
                     message_reference: str | None = None, vendor_account: str = "SWO00000") -> bytes:
    """The XBRL instance of a VAT return, as UTF-8 bytes.

    ``boxes`` maps labels to whole euros (int). A box left out is written as 0, except 5d (left out) and
    5a and 5g (computed from the others); a box given as None is left out of the instance. The taxonomy
    is that of ``period_end.year`` unless ``taxonomy_year`` says otherwise. ``created`` (the
    DateTimeCreation fact) comes from the caller's clock: this module never reads the wall clock.
    ``vendor_account`` is the SWO number the Belastingdienst gives a software vendor (the sample has
    SWO12345); SWO00000 is [CHOSEN].
    """
    amounts = _complete(_checked(boxes))
    year = period_end.year if taxonomy_year is None else taxonomy_year
    schema, bd = entry_point(year), dictionary_namespace(year)
    people = dict(DEFAULT_CONTACT if contact is None else contact)
    unknown = sorted(set(people) - set(CONTACT_FACTS))
    if unknown:
        raise ValueError(f"unknown contact field(s) {unknown}; known: {sorted(CONTACT_FACTS)}")
    if created.tzinfo is not None:
        created = created.astimezone(ZoneInfo("Europe/Amsterdam"))

    nsmap = {"bd-i": bd, "link": LINK, "xlink": XLINK, "iso4217": ISO4217, "xbrli": XBRLI}
    root = etree.Element(f"{{{XBRLI}}}xbrl", nsmap=nsmap)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", "nl")
    etree.SubElement(root, f"{{{LINK}}}schemaRef", {f"{{{XLINK}}}type": "simple", f"{{{XLINK}}}href": schema})
    context = etree.SubElement(root, f"{{{XBRLI}}}context", id="Msg")
    entity = etree.SubElement(context, f"{{{XBRLI}}}entity")
    etree.SubElement(entity, f"{{{XBRLI}}}identifier", scheme=SCHEME).text = identity
    period = etree.SubElement(context, f"{{{XBRLI}}}period")
    etree.SubElement(period, f"{{{XBRLI}}}startDate").text = period_start.isoformat()
    etree.SubElement(period, f"{{{XBRLI}}}endDate").text = period_end.isoformat()
    unit = etree.SubElement(root, f"{{{XBRLI}}}unit", id="EUR")
    etree.SubElement(unit, f"{{{XBRLI}}}measure").text = "iso4217:EUR"

    # [CHOSEN] the supplier's message reference when none is given: the period it covers.
    reference = message_reference or f"OB-{period_start:%Y%m}-{period_end:%Y%m}"
    facts = [(CONTACT_FACTS[key], people[key]) for key in CONTACT_FACTS if people.get(key)]
    facts += [("DateTimeCreation", f"{created:%Y%m%d%H%M}"), ("MessageReferenceSupplierVAT", reference),
              ("SoftwarePackageVersion", software[1]), ("SoftwarePackageName", software[0]),
              ("SoftwareVendorAccountNumber", vendor_account)]
    for concept, text in facts:
        etree.SubElement(root, f"{{{bd}}}{concept}", contextRef="Msg").text = text
    for concept, amount in sorted((BOXES[label], amount) for label, amount in amounts.items()):
        etree.SubElement(root, f"{{{bd}}}{concept}", decimals="INF", contextRef="Msg",
                         unitRef="EUR").text = str(amount)
    etree.indent(root, space="  ")
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + f"<!--XBRL instance based on taxonomy report namespace {schema} -->\n".encode()
            + etree.tostring(root, encoding="UTF-8", xml_declaration=False) + b"\n")


def vat_box_problems(boxes: Mapping[str, int | None]) -> list[str]:
    """What the Belastingdienst would refuse in ``boxes`` (as ``build_vat_return`` completes them)."""
    try:
        given = _checked(boxes)
    except ValueError as exc:
        return [str(exc)]
    amounts = _complete(given)
    problems = [f"box {label} is missing" for label in ("5a", "5g") if label not in amounts]
    total = sum(amounts.get(label, 0) for label in VAT_BOXES)
    if "5a" in amounts and amounts["5a"] != total:
        problems.append(f"box 5a is {amounts['5a']} but the VAT boxes add up to {total}")
    if "5a" in amounts and "5g" in amounts:
        expected = amounts["5a"] - amounts.get("5b", 0) - amounts.get("5d", 0)
        if amounts["5g"] != expected:
            problems.append(f"box 5g is {amounts['5g']} but 5a - 5b - 5d is {expected}")
    return problems


def _checked(boxes: Mapping[str, int | None]) -> dict[str, int | None]:
    unknown = sorted(set(boxes) - set(BOXES))
    if unknown:
        raise ValueError(f"unknown VAT box label(s) {unknown}; known: {', '.join(BOXES)}")
    for label, amount in boxes.items():
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
            kind = type(amount).__name__
            raise ValueError(f"box {label} must be whole euros as an int, not {kind} {amount!r}")
    return dict(boxes)


def _complete(given: dict[str, int | None]) -> dict[str, int]:
    """Absent boxes as 0 (5d stays absent), absent 5a and 5g computed; None means 'leave out'."""
    amounts = {label: given.get(label, 0) for label in BOXES if label not in ("5a", "5g", *OPTIONAL_BOXES)}
    amounts.update({label: given[label] for label in OPTIONAL_BOXES if label in given})
    vat = sum(amounts[label] or 0 for label in VAT_BOXES)
    amounts["5a"] = given.get("5a", vat)
    owed = vat if amounts["5a"] is None else amounts["5a"]
    amounts["5g"] = given.get("5g", owed - (amounts.get("5b") or 0) - (amounts.get("5d") or 0))
    return {label: amount for label, amount in amounts.items() if amount is not None}


def read_vat_return(payload: bytes) -> dict:
    """A return's identity, period_start, period_end, boxes (label -> int), taxonomy_year, entry_point."""
    root = _parse(payload)
    if root.tag != f"{{{XBRLI}}}xbrl":
        raise ValueError(f"not an XBRL instance: the root element is {etree.QName(root).localname}")
    ref = root.find(f"{{{LINK}}}schemaRef")
    href = ref.get(f"{{{XLINK}}}href") if ref is not None else None
    year = _ENTRY_YEAR.search(href or "")
    context = root.find(f"{{{XBRLI}}}context")
    if context is None:
        raise ValueError("the VAT return has no xbrli:context")
    boxes: dict[str, int] = {}
    for fact in root:
        label = _LABELS.get(etree.QName(fact).localname) if isinstance(fact.tag, str) else None
        if label is None or not (etree.QName(fact).namespace or "").endswith("/dictionary/bd-data"):
            continue
        text = (fact.text or "").strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"box {label} is {text!r}, not a whole number of euros")
        boxes[label] = int(text)
    return {
        "identity": (context.findtext(f"{{{XBRLI}}}entity/{{{XBRLI}}}identifier") or "").strip(),
        "period_start": _date(context, "startDate"), "period_end": _date(context, "endDate"),
        "boxes": boxes, "taxonomy_year": int(year.group(1)) if year else None, "entry_point": href,
    }


def _date(context: etree._Element, name: str) -> date:
    text = (context.findtext(f"{{{XBRLI}}}period/{{{XBRLI}}}{name}") or "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"the VAT return's {name} is {text!r}, not a date (YYYY-MM-DD)") from None


def _parse(payload: bytes) -> etree._Element:
    """Parse without DTDs, entities or network access; a DOCTYPE is refused before parsing."""
    if len(payload) > MAX_BYTES:
        raise ValueError(f"the VAT return is {len(payload)} bytes, more than the {MAX_BYTES} allowed")
    if _DECLARATION.search(payload) or b"\x00" in payload:
        raise ValueError("the VAT return contains a DOCTYPE or ENTITY declaration (or is not UTF-8); refused")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(payload, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"the VAT return is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise ValueError("the VAT return has a document type declaration; refused")
    return root
