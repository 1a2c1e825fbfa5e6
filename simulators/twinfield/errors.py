"""Twinfield's errors: call-level SOAP faults (a numbered code) and element-level messages (Dutch texts).

Two kinds, as the real service has them:

* A **fault** ends the whole SOAP call: ``<soap:Fault>`` with ``<detail><message/><code/><source/></detail>``
  and an HTTP status. The codes, texts and statuses are Twinfield's published table (developers.twinfield.com,
  "Guidelines", Error handling); the constant's name carries the number, and a test keeps them in step.
* A **message** belongs to one element of a ProcessXml request: the response puts ``msgtype``/``msg``/
  ``result="0"`` on it (``Issue``). Texts marked real come from public responses; the rest are [CHOSEN],
  written in the same voice. ``MESSAGES`` lists every text with its provenance for the admin API.

Models raise ``TwinfieldFault`` or return ``Issue``s; ``soap.py`` and ``processxml.py`` put them on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..core.errors import KoppelsimError


@dataclass(frozen=True)
class FaultCode:
    code: int
    message: str
    http_status: int
    provenance: str = "real"


# Twinfield's table of web service error codes (code, text, HTTP status), as published.
F100_UNEXPECTED = FaultCode(100, "Unexpected exception.", 500)
F101_MISSING_CREDENTIALS = FaultCode(101, "The access token and company id or the session id (obsolete) is missing.",
                                     500)
F102_ACCESS_DENIED = FaultCode(102, "Access is denied.", 403)
F103_CREDENTIALS_INVALID = FaultCode(103, "The log-on credentials are not valid anymore.", 401)
F187_INVALID_XML = FaultCode(187, "Invalid XML data.", 500)
F186_INVALID_ZLIB = FaultCode(186, "TInvalid Zlib data.", 500)  # sic: the published text has the stray T
F351_NO_USER_CLAIM = FaultCode(351, "Access denied. twf.organisationUserCode claim not found. Please consult the "
                                    "web service documentation to find the required scope.", 401)
F352_NO_ORG_CODE_CLAIM = FaultCode(352, "Access denied. twf.organisationCode claim not found. Please consult the "
                                        "web service documentation to find the required scope.", 403)
F354_TOKEN_INVALID = FaultCode(354, "Access denied. Token invalid.", 401)

FAULT_CODES = {f.code: f for f in (F100_UNEXPECTED, F101_MISSING_CREDENTIALS, F102_ACCESS_DENIED,
                                   F103_CREDENTIALS_INVALID, F186_INVALID_ZLIB, F187_INVALID_XML,
                                   F351_NO_USER_CLAIM, F352_NO_ORG_CODE_CLAIM, F354_TOKEN_INVALID)}


class TwinfieldFault(KoppelsimError):
    """Ends a SOAP call with a Twinfield fault (``<detail><code>``)."""

    def __init__(self, fault: FaultCode, message: str | None = None) -> None:
        super().__init__(message or fault.message, code=str(fault.code))
        self.fault = fault
        self.http_status = fault.http_status


@dataclass
class Issue:
    """A message on one element of a ProcessXml request.

    ``ref`` names the element without knowing XML: ``()`` is the request element itself,
    ``("header", "invoicenumber")`` a header field, ``("line", 2, "dim1")`` a field of the third line,
    ``("line", 2)`` the line itself. ``processxml`` maps it onto the element that was sent.
    """

    ref: tuple
    msg: str
    kind: str = "error"  # error | warning

    @property
    def blocking(self) -> bool:
        return self.kind == "error"


@dataclass
class Outcome:
    """What a model did with one request element: the messages, and the stored record when it succeeded."""

    issues: list[Issue] = field(default_factory=list)
    record: dict | None = None
    draft: dict | None = None  # a refusal: the record as far as it was worked out, for the answer

    @property
    def ok(self) -> bool:
        return self.record is not None

    def add(self, ref: tuple, msg: str, kind: str = "error") -> None:
        self.issues.append(Issue(ref, msg, kind))


# -- the texts ---------------------------------------------------------------------------------------------
# Real texts (with where they were seen):
#   balance ................ php-twinfield tests/UnitTests resources (2-failed-and-1-successful-banktransactions.xml)
#                            and Coachview's list of Twinfield messages (the two-part form, no reporting currency)
#   vat_unknown, ledger_unknown, mask ... Coachview "Koppeling Twinfield: meest voorkomende meldingen"
#   invoice_duplicate ...... SPEC §5 (seed research)
#   date_outside_period .... php-twinfield banktransaction-with-warning-message.xml
#   line_not_found ......... php-twinfield single-matchset.xml
#   not_concept ............ php-twinfield BankTransactionApiConnectorTest (delete of a final transaction)
#   invoice_not_concept, invoice_type_unknown, invoice_header_errors, invoice_not_found ... murb/twinfield fixtures


def _amount(value: Decimal) -> str:
    return f"{abs(value):.2f}"


def balance(missing: Decimal, reporting_currency: bool) -> str:
    """The balance error: ``missing`` is debit minus credit (negative: debit is missing)."""
    side = "debet" if missing < 0 else "credit"
    parts = [f"De boeking is niet in balans. Er ontbreekt {_amount(missing)} {side}.",
             f"De boeking balanceert niet in de basisvaluta. Er ontbreekt {_amount(missing)} {side}."]
    if reporting_currency:
        parts.append(f"De boeking balanceert niet in de rapportagevaluta. Er ontbreekt {_amount(missing)} {side}.")
    return "//".join(parts)


def vat_unknown(code: str) -> str:
    return f"Btw {code} bestaat niet of is (nog) niet actief."


def ledger_unknown(code: str) -> str:
    return f"Grootboekrekening {code} bestaat niet."


def mask(mask_text: str) -> str:
    return f"De code voldoet niet aan het formaat {mask_text}."


def invoice_duplicate(number: str) -> str:
    return f"Factuurnummer {number} komt reeds voor."


def date_outside_period(date_ddmmyyyy: str, period: str) -> str:
    return f"Datum {date_ddmmyyyy} valt buiten de opgegeven periode ({period})."


LINE_NOT_FOUND = "De regel bestaat niet."
NOT_CONCEPT = "De status van de boeking moet Concept zijn."
INVOICE_NOT_CONCEPT = "Kan geen factuur bijwerken die geen concept meer is."
INVOICE_TYPE_UNKNOWN = "Het factuurtype bestaat niet"  # sic: no full stop in the real text
INVOICE_HEADER_ERRORS = "Er zijn fouten opgetreden bij de koptekst: kan geen totalen berekenen."


def invoice_not_found(number: str, invoicetype: str) -> str:
    return f"Factuur {number} van type {invoicetype} bestaat niet."


# [CHOSEN] texts: the public record does not show these; written in Twinfield's voice.
def dimension_unknown(code: str) -> str:
    return f"Dimensie {code} bestaat niet."  # Coachview quotes the English "Dimension … does not exist"


def dimension_not_found(dimtype: str, code: str) -> str:
    return f"Dimensie {code} van type {dimtype} bestaat niet."


def office_unknown(code: str) -> str:
    return f"Administratie {code} bestaat niet."


def office_no_access(code: str) -> str:
    return f"U heeft geen toegang tot administratie {code}."


def journal_unknown(code: str) -> str:
    return f"Dagboek {code} bestaat niet."


def currency_unknown(code: str) -> str:
    return f"Valuta {code} bestaat niet."


def bad_amount(text: str) -> str:
    return f"Ongeldig bedrag: {text}."


def too_many_decimals(text: str) -> str:
    return f"Het bedrag {text} heeft meer dan twee decimalen."


def bad_date(text: str) -> str:
    return f"Ongeldige datum: {text}."


def bad_period(text: str) -> str:
    return f"Ongeldige periode: {text}."


def bad_duedays(text: str) -> str:
    return f"Ongeldig aantal vervaldagen: {text}. Geef een aantal dagen van 0 tot en met 999."


def required(what: str) -> str:
    return f"{what} is verplicht."


def too_long(what: str, limit: int) -> str:
    return f"{what} mag maximaal {limit} tekens bevatten."


def vat_wrong_type(code: str, kind: str) -> str:
    return f"Btw-code {code} is geen {'verkoop' if kind == 'sales' else 'inkoop'} btw-code."


def vat_differs(given: Decimal, computed: Decimal) -> str:
    return f"Het btw-bedrag {given:.2f} wijkt af van het berekende btw-bedrag {computed:.2f}."


def control_account_needs_customer(code: str) -> str:
    return f"Voor grootboekrekening {code} is een debiteur verplicht."


def not_a_control_account(code: str) -> str:
    return f"Grootboekrekening {code} is geen debiteurenrekening."


def transaction_not_found(code: str, number: str) -> str:
    return f"Boeking {code} {number} bestaat niet."


def article_unknown(code: str) -> str:
    return f"Artikel {code} bestaat niet."


def customer_unknown(code: str) -> str:
    return f"Debiteur {code} bestaat niet."


def matchcode_unknown(code: str) -> str:
    return f"Afletter-code {code} bestaat niet."


def match_not_zero(total: Decimal) -> str:
    return f"Het saldo van de af te letteren regels is niet nul ({total:.2f})."


def unknown_element(name: str) -> str:
    return f"Onbekend XML-element: {name}."


def unknown_read_type(name: str) -> str:
    return f"Onbekend type: {name}."


def browse_unknown(code: str) -> str:
    return f"Browse-code {code} bestaat niet."


TOO_FEW_LINES = "Een boeking moet minimaal twee regels bevatten."
NO_TOTAL_LINE = "Een verkoopboeking moet precies één totaalregel bevatten."
TOTAL_LINE_NOT_ALLOWED = "Een memoriaalboeking heeft geen totaalregel."
LINE_NOT_MATCHABLE = "De regel kan niet worden afgeletterd."
LINE_ALREADY_MATCHED = "De regel is al volledig afgeletterd."
MATCH_TOO_LARGE = "Het af te letteren bedrag is groter dan het openstaande bedrag."
LINE_TWICE_IN_SET = "De regel staat meer dan eens in de afletterset."
BOOKING_MATCHED = "De boeking is (gedeeltelijk) afgeletterd; maak de aflettering eerst ongedaan."
PERFORMANCE_TYPE_REQUIRED = "Het prestatietype (goods of services) is verplicht bij een ICP btw-code."
PERFORMANCE_TYPE_INVALID = "Het prestatietype moet goods of services zijn."
PERFORMANCE_COUNTRY_REQUIRED = "Het land van prestatie is verplicht bij een ICP btw-code."
PERFORMANCE_VATNUMBER_REQUIRED = "Het btw-nummer van de afnemer is verplicht bij een ICP btw-code."
PERFORMANCE_DATE_REQUIRED = "De prestatiedatum is verplicht bij diensten met een ICP btw-code."
EMAIL_TOO_LONG = "Het e-mailadres mag maximaal 200 tekens bevatten."
NAME_REQUIRED = "Naam is verplicht."
NO_FREE_CODE = "Er is geen vrije code meer binnen het formaat van dit dimensietype."
LINE_AMOUNT_TOO_LARGE = "Het bedrag van de regel (aantal x eenheden x prijs) is te groot."
# What an element gets when the simulator itself fails on it (a bug of ours): the answers of the other
# elements of the request are still given.
UNEXPECTED = "Er is een onverwachte fout opgetreden bij het verwerken van dit element."


def line_id_invalid(text: str) -> str:
    return f"Ongeldig regelnummer: {text}."


def line_id_twice(text: str) -> str:
    return f"Regelnummer {text} komt meer dan eens voor."


def performance_country_invalid(country: str) -> str:
    return f"Land {country} is geen ander EU-land; een ICP-levering gaat naar een ander EU-land."


def performance_vatnumber_invalid(number: str) -> str:
    return f"Btw-nummer {number} is ongeldig."


# Every text with its provenance, for GET /api/twinfield/codes and the README.
MESSAGES = [
    {"text": balance(Decimal("-0.01"), False), "provenance": "real"},
    {"text": balance(Decimal("-0.01"), True), "provenance": "real"},
    {"text": vat_unknown("21"), "provenance": "real"},
    {"text": ledger_unknown("11300"), "provenance": "real"},
    {"text": mask("[4-7][0-9][0-9][0-9]"), "provenance": "real"},
    {"text": invoice_duplicate("xxx"), "provenance": "real"},
    {"text": date_outside_period("25-07-2019", "2019/09"), "provenance": "real"},
    {"text": LINE_NOT_FOUND, "provenance": "real"},
    {"text": NOT_CONCEPT, "provenance": "real"},
    {"text": INVOICE_NOT_CONCEPT, "provenance": "real"},
    {"text": INVOICE_TYPE_UNKNOWN, "provenance": "real"},
    {"text": INVOICE_HEADER_ERRORS, "provenance": "real"},
    {"text": invoice_not_found("20200026", "FACTUUR"), "provenance": "real"},
] + [{"text": text, "provenance": "chosen"} for text in (
    dimension_unknown("9999"), dimension_not_found("DEB", "9999"), office_unknown("X"), office_no_access("X"),
    journal_unknown("X"), currency_unknown("USD"), bad_amount("abc"), too_many_decimals("1.234"),
    bad_date("x"), bad_period("x"), bad_duedays("x"), required("Factuurnummer"), too_long("Omschrijving", 40),
    vat_wrong_type("IH", "sales"), vat_differs(Decimal("21.10"), Decimal("21.00")),
    control_account_needs_customer("1300"), not_a_control_account("8000"), transaction_not_found("VRK", "1"),
    article_unknown("X"), customer_unknown("9999"), matchcode_unknown("999"), match_not_zero(Decimal("1")),
    unknown_element("x"), unknown_read_type("x"), browse_unknown("999"), TOO_FEW_LINES, NO_TOTAL_LINE,
    TOTAL_LINE_NOT_ALLOWED, LINE_NOT_MATCHABLE, LINE_ALREADY_MATCHED, MATCH_TOO_LARGE, LINE_TWICE_IN_SET,
    BOOKING_MATCHED, line_id_invalid("a"), line_id_twice("1"),
    PERFORMANCE_TYPE_REQUIRED, PERFORMANCE_TYPE_INVALID, PERFORMANCE_COUNTRY_REQUIRED,
    PERFORMANCE_VATNUMBER_REQUIRED, PERFORMANCE_DATE_REQUIRED, EMAIL_TOO_LONG, NAME_REQUIRED, NO_FREE_CODE,
    LINE_AMOUNT_TOO_LARGE, UNEXPECTED,
    performance_country_invalid("NL"), performance_vatnumber_invalid("X"))]
