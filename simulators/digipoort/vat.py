"""The superficial check a VAT return (aangifte omzetbelasting, XBRL) gets at the Belastingdienst.

``check_vat_return`` returns findings, an empty list meaning "verwerkbaar". It checks what a recipient
can check without the taxonomy (SPEC §2.5, sample ``reference/digipoort/wus.core/VB-01_…-2021.xbrl``):
the root is ``xbrli:xbrl`` with a ``bd-rpt-ob-aangifte-{year}`` entry point; one context whose identifier
has scheme ``www.belastingdienst.nl/omzetbelastingnummer`` and equals the submission's identity; a
period that is a calendar month, quarter or year and has ended before ``today``; one unit
``iso4217:EUR``; box facts (namespace ``…/dictionary/bd-data`` of any taxonomy version) in whole euros;
5a = the sum of the VAT boxes and 5g = 5a − 5b − 5d (absent boxes count as 0; 5a and 5g are required).

Finding codes are **[CHOSEN]**: the Belastingdienst's own codes are not public. They are four digits
so they fit the ``Specification/Code`` of a Responsemessage; ``0001`` is avoided because it means
"Status: Verwerkbaar" there (SPEC §2.3). Texts are Dutch, worded like a Belastingdienst foutmelding.

======  ======================  =================================================================
code    constant                meaning
======  ======================  =================================================================
0010    NOT_XML                 not readable, safe XML (too large, DOCTYPE, encoding, syntax, empty)
0011    NOT_XBRL                the root element is not ``xbrli:xbrl``
0012    NOT_VAT_RETURN          no ``link:schemaRef`` to a ``bd-rpt-ob-aangifte-{year}.xsd`` entry point
0101    CONTEXT                 not exactly one context, wrong identifier scheme or form, bad contextRef
0102    IDENTITY                the omzetbelastingnummer is not the identity of the submission
0103    PERIOD                  period missing, reversed, not a month/quarter/year, or not yet ended
0104    UNIT                    not exactly one unit ``iso4217:EUR``, or a box refers to another unit
0105    NOT_WHOLE_EUROS         a box amount is not a whole number of euros
0106    MISSING_BOX             a required box (5a, 5g) is absent
0107    DUPLICATE_BOX           a box is reported more than once
0301    BOX_5A                  5a (verschuldigde btw) is not the sum of the VAT boxes
0302    BOX_5G                  5g (te betalen/terug te vragen) is not 5a − 5b − 5d
======  ======================  =================================================================
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from lxml import etree

from ..core.safexml import XMLRefused, parse_xml

MAX_BYTES = 20 * 1024 * 1024
XBRLI = "http://www.xbrl.org/2003/instance"
LINK = "http://www.xbrl.org/2003/linkbase"
XLINK = "http://www.w3.org/1999/xlink"
ISO4217 = "http://www.xbrl.org/2003/iso4217"
SCHEME = "www.belastingdienst.nl/omzetbelastingnummer"
DICTIONARY_SUFFIX = "/dictionary/bd-data"  # nt14 … nt20 differ only in the part before this
ENTRY_POINT = re.compile(r"/entrypoints/bd-rpt-ob-aangifte-\d{4}\.xsd$")
OB_NUMBER = re.compile(r"^\d{9}B\d{2}$")  # omzetbelastingnummer: 9 digits, 'B', 2 digits
WHOLE_EUROS = re.compile(r"^[+-]?\d+$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

NOT_XML, NOT_XBRL, NOT_VAT_RETURN = "0010", "0011", "0012"
CONTEXT, IDENTITY, PERIOD, UNIT, NOT_WHOLE_EUROS, MISSING_BOX, DUPLICATE_BOX = (
    "0101", "0102", "0103", "0104", "0105", "0106", "0107")
BOX_5A, BOX_5G = "0301", "0302"

# Box label -> concept. "_btw" is the VAT column of a box that has turnover and VAT (1a … 4b).
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
REQUIRED_BOXES = ("5a", "5g")
_LABELS = {concept: label for label, concept in BOXES.items()}
_NAMES = {
    "1a": "omzet hoog tarief", "1a_btw": "btw hoog tarief", "1b": "omzet laag tarief",
    "1b_btw": "btw laag tarief", "1c": "omzet overige tarieven", "1c_btw": "btw overige tarieven",
    "1d": "privégebruik", "1d_btw": "btw privégebruik", "1e": "omzet belast met 0% of niet bij u belast",
    "2a": "omzet verleggingsregelingen", "2a_btw": "btw verleggingsregelingen",
    "3a": "leveringen naar landen buiten de EU", "3b": "leveringen naar of in landen binnen de EU",
    "3c": "installatie/afstandsverkopen binnen de EU", "4a": "omzet uit landen buiten de EU",
    "4a_btw": "btw uit landen buiten de EU", "4b": "omzet uit landen binnen de EU",
    "4b_btw": "btw uit landen binnen de EU", "5a": "verschuldigde btw", "5b": "voorbelasting",
    "5d": "vermindering kleineondernemersregeling", "5g": "totaal te betalen of terug te vragen",
}
_REFUSED = {"too_large": "is groter dan 20 MB", "doctype": "bevat een DOCTYPE- of ENTITY-declaratie",
            "not_utf8": "is niet in UTF-8 (of de opgegeven tekenset) gecodeerd",
            "not_well_formed": "is geen welgevormde XML", "empty": "is leeg"}


@dataclass(frozen=True)
class Finding:
    code: str
    box: str | None
    text: str


def rubriek(label: str) -> str:
    """'1a_btw' -> 'Rubriek 1a (btw hoog tarief)'; a concept outside BOXES is named as itself."""
    return f"Rubriek {label.split('_')[0]} ({_NAMES[label]})" if label in _NAMES else f"Het gegeven {label}"


def check_vat_return(payload: bytes, *, identity: str | None, today: date) -> list[Finding]:
    """Everything wrong with ``payload`` as a VAT return of ``identity`` received on ``today``."""
    try:
        root = parse_xml(payload, max_bytes=MAX_BYTES, what="VAT return")
    except XMLRefused as exc:
        where = f" (regel {exc.line})" if exc.line else ""
        return [Finding(NOT_XML, None, f"Het bericht {_REFUSED.get(exc.reason, 'is onleesbaar')}{where}.")]
    if root.tag != f"{{{XBRLI}}}xbrl":
        return [Finding(NOT_XBRL, None, f"Het bericht is geen XBRL-instance: het hoofdelement is "
                                        f"{etree.QName(root).localname} in plaats van xbrli:xbrl.")]
    findings: list[Finding] = []
    hrefs = [ref.get(f"{{{XLINK}}}href") or "" for ref in root.iterfind(f"{{{LINK}}}schemaRef")]
    if not any(ENTRY_POINT.search(href) for href in hrefs):
        findings.append(Finding(NOT_VAT_RETURN, None, "Het bericht verwijst niet naar een entrypoint "
                                "bd-rpt-ob-aangifte van de Nederlandse Taxonomie (link:schemaRef)."))
    contexts = root.findall(f"{{{XBRLI}}}context")
    context = contexts[0] if len(contexts) == 1 else None
    if context is None:
        findings.append(Finding(CONTEXT, None, f"Het bericht moet precies één context bevatten; "
                                               f"gevonden: {len(contexts)}."))
    else:
        findings += _context_findings(context, identity, today)
    unit_id = _eur_unit(root, findings)
    findings += _box_findings(root, context.get("id") if context is not None else None, unit_id)
    return findings


def _context_findings(context: etree._Element, identity: str | None, today: date) -> list[Finding]:
    findings: list[Finding] = []
    identifier = context.find(f"{{{XBRLI}}}entity/{{{XBRLI}}}identifier")
    scheme = identifier.get("scheme") if identifier is not None else None
    number = (identifier.text or "").strip() if identifier is not None else ""
    if scheme != SCHEME:
        findings.append(Finding(CONTEXT, None, f"De identificatie van de context heeft schema {scheme!r}; "
                                               f"verwacht wordt {SCHEME!r}."))
    elif not OB_NUMBER.match(number):
        findings.append(Finding(CONTEXT, None, f"Het omzetbelastingnummer {number!r} heeft niet de vorm "
                                               "123456789B01."))
    elif identity is not None and number.upper() != _normal_identity(identity):
        findings.append(Finding(IDENTITY, None, f"Het omzetbelastingnummer in de aangifte ({number}) is niet "
                                                f"de identiteit van de aanlevering ({identity.strip()})."))
    start_text = context.findtext(f"{{{XBRLI}}}period/{{{XBRLI}}}startDate", "").strip()
    end_text = context.findtext(f"{{{XBRLI}}}period/{{{XBRLI}}}endDate", "").strip()
    try:
        if not (ISO_DATE.match(start_text) and ISO_DATE.match(end_text)):
            raise ValueError
        start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
    except ValueError:
        return findings + [Finding(PERIOD, None, "Het tijdvak ontbreekt of heeft geen geldige begin- en "
                                                 "einddatum (startDate en endDate als JJJJ-MM-DD).")]
    shown = f"{start:%d-%m-%Y} t/m {end:%d-%m-%Y}"
    if start > end:
        findings.append(Finding(PERIOD, None, f"Het tijdvak {shown} eindigt vóór het begint."))
    elif not _is_calendar_period(start, end):
        findings.append(Finding(PERIOD, None, f"Het tijdvak {shown} is geen kalendermaand, kalenderkwartaal "
                                              "of kalenderjaar."))
    if start <= end and end >= today:
        filing_from = end + timedelta(days=1)
        findings.append(Finding(PERIOD, None, f"Het tijdvak {shown} is nog niet verstreken; aangifte doen "
                                              f"kan vanaf {filing_from:%d-%m-%Y}."))
    return findings


def _normal_identity(identity: str) -> str:
    # [CHOSEN] the btw-id form "NL001000044B37" names the same entrepreneur as "001000044B37".
    number = identity.strip().upper()
    return number[2:] if number.startswith("NL") else number


def _is_calendar_period(start: date, end: date) -> bool:
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    last_day = calendar.monthrange(end.year, end.month)[1]
    quarter, year = months == 3 and start.month % 3 == 1, months == 12 and start.month == 1
    return start.day == 1 and end.day == last_day and (months == 1 or quarter or year)


def _eur_unit(root: etree._Element, findings: list[Finding]) -> str | None:
    """The id of the one unit iso4217:EUR, or None after adding a finding."""
    units = root.findall(f"{{{XBRLI}}}unit")
    measures = [unit.findall(f"{{{XBRLI}}}measure") for unit in units]
    if len(units) == 1 and len(measures[0]) == 1:
        prefix, _, local = (measures[0][0].text or "").strip().rpartition(":")
        if measures[0][0].nsmap.get(prefix or None) == ISO4217 and local == "EUR":
            return units[0].get("id")
    found = ", ".join(" ".join((m.text or "").strip() for m in unit) for unit in measures) or "geen"
    findings.append(Finding(UNIT, None, f"Het bericht moet precies één eenheid iso4217:EUR bevatten; "
                                        f"gevonden: {found}."))
    return None


def _box_findings(root: etree._Element, context_id: str | None, unit_id: str | None) -> list[Finding]:
    findings: list[Finding] = []
    values: dict[str, int] = {}
    seen: set[str] = set()
    for fact in root:
        namespace = etree.QName(fact).namespace if isinstance(fact.tag, str) else None
        if not (namespace or "").endswith(DICTIONARY_SUFFIX):
            continue
        concept = etree.QName(fact).localname
        label = _LABELS.get(concept)
        if label is None and fact.get("unitRef") is None:
            continue  # contact details, software name, … : not amounts
        key, context_ref, unit_ref = label or concept, fact.get("contextRef"), fact.get("unitRef")
        if context_id is not None and context_ref != context_id:
            findings.append(Finding(CONTEXT, label, f"{rubriek(key)} verwijst naar context {context_ref!r} "
                                                    f"in plaats van {context_id!r}."))
        if unit_id is not None and unit_ref != unit_id:
            findings.append(Finding(UNIT, label, f"{rubriek(key)} verwijst naar eenheid {unit_ref!r} "
                                                 f"in plaats van {unit_id!r} (iso4217:EUR)."))
        if key in seen:
            findings.append(Finding(DUPLICATE_BOX, label, f"{rubriek(key)} komt meer dan één keer voor."))
            values.pop(key, None)
            continue
        seen.add(key)
        text = (fact.text or "").strip()
        if WHOLE_EUROS.match(text):
            values[key] = int(text)
        else:
            findings.append(Finding(NOT_WHOLE_EUROS, label, f"{rubriek(key)} bevat {text!r}; vul een bedrag "
                                                            "in hele euro's in, zonder decimalen."))
    for label in REQUIRED_BOXES:
        if label not in seen:
            findings.append(Finding(MISSING_BOX, label, f"{rubriek(label)} ontbreekt."))
    return findings + _arithmetic_findings(values, broken=seen - values.keys())


def _arithmetic_findings(values: dict[str, int], broken: set[str]) -> list[Finding]:
    """5a and 5g, leaving out any sum over a box that is duplicated or not in whole euros."""
    findings: list[Finding] = []
    owed = values.get("5a")
    total = sum(values.get(label, 0) for label in VAT_BOXES)
    if owed is not None and not broken.intersection(VAT_BOXES) and owed != total:
        findings.append(Finding(BOX_5A, "5a", f"{rubriek('5a')} sluit niet aan: opgegeven {owed}, "
                                              f"som van de rubrieken {total}."))
    to_pay = values.get("5g")
    if owed is not None and to_pay is not None and not broken.intersection(("5b", "5d")):
        expected = owed - values.get("5b", 0) - values.get("5d", 0)
        if to_pay != expected:
            findings.append(Finding(BOX_5G, "5g", f"{rubriek('5g')} sluit niet aan: opgegeven {to_pay}, "
                                                  f"berekend (5a - 5b - 5d) {expected}."))
    return findings
