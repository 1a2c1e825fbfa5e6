"""A small VIES client: ``checkVat`` over SOAP 1.1 with ``requests``, the answer read by a safe parser.

Why not ``stdnum.eu.vat.check_vies``: it takes its WSDL from a module attribute (one per process) and needs
zeep; the koppeling talks to a configured URL, and reads two fields. The faults that mean "ask again
later" (SERVICE_UNAVAILABLE, MS_UNAVAILABLE, TIMEOUT, SERVER_BUSY, MS_MAX_CONCURRENT_REQ, GLOBAL_MAX_...)
and a dropped connection raise ``ViesUnavailable``; INVALID_INPUT is an answer about the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

import requests
from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
TYPES = "urn:ec.europa.eu:taxud:vies:services:checkVat:types"
PATH = "/taxation_customs/vies/services/checkVatService"
MAX_ANSWER_BYTES = 256 * 1024
INVALID_INPUT = "INVALID_INPUT"


class ViesUnavailable(Exception):
    """VIES (or the member state behind it) could not answer now: try again later."""


@dataclass(frozen=True)
class ViesAnswer:
    number: str  # as checked, with the country prefix
    valid: bool
    name: str = ""
    fault: str = ""  # INVALID_INPUT: the number cannot be a VAT number of that country


def split_number(vat_number: str) -> tuple[str, str]:
    """"DE 136.695.976" -> ("DE", "136695976"); VIES spells Greece EL."""
    cleaned = "".join(ch for ch in vat_number.upper() if ch.isalnum())
    country, number = cleaned[:2], cleaned[2:]
    return ("EL" if country == "GR" else country), number


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class ViesClient:
    def __init__(self, base_url: str, timeout: float = 20.0, session: requests.Session | None = None) -> None:
        self.url = base_url.rstrip("/") + PATH
        self.timeout = timeout
        self.http = session or requests.Session()

    def check(self, vat_number: str) -> ViesAnswer:
        country, number = split_number(vat_number)
        body = (f'<soap:Envelope xmlns:soap="{SOAP11}" xmlns:v="{TYPES}"><soap:Body><v:checkVat>'
                f"<v:countryCode>{escape(country)}</v:countryCode><v:vatNumber>{escape(number)}</v:vatNumber>"
                f"</v:checkVat></soap:Body></soap:Envelope>")
        try:
            response = self.http.post(self.url, data=body.encode("utf-8"), timeout=self.timeout,
                                      headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        except requests.RequestException as exc:
            raise ViesUnavailable(f"no answer from VIES: {type(exc).__name__}") from exc
        if len(response.content) > MAX_ANSWER_BYTES:
            raise ViesUnavailable("VIES answered with more than 256 KB")
        try:
            root = etree.fromstring(response.content, _parser())
        except etree.XMLSyntaxError:
            raise ViesUnavailable(f"VIES answered HTTP {response.status_code} without SOAP") from None
        fault = root.find(f".//{{{SOAP11}}}Fault")
        if fault is not None:
            code = (fault.findtext("faultstring") or "").strip()
            if code == INVALID_INPUT:
                return ViesAnswer(country + number, False, fault=code)
            raise ViesUnavailable(f"VIES fault {code or 'without a code'}")
        answer = root.find(f".//{{{TYPES}}}checkVatResponse")
        if answer is None:
            raise ViesUnavailable(f"VIES answered HTTP {response.status_code} without a checkVatResponse")
        valid = (answer.findtext(f"{{{TYPES}}}valid") or "").strip().lower() == "true"
        return ViesAnswer(country + number, valid, (answer.findtext(f"{{{TYPES}}}name") or "").strip())
