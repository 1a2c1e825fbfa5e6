"""VIES's fault strings: what a SOAP fault's ``faultstring`` can say, each with its provenance.

Provenance is data, so ``GET /api/vies/codes`` and the README can say what is real:

* ``wsdl``       — listed in the usage notes of the production WSDL's documentation
  (``reference/vies/vies_checkVatService.wsdl``);
* ``test-wsdl``  — a magic number of the test service answers it (``vies_checkVatTestService.wsdl``);
* ``clients``    — seen in public client libraries' fault tables (yolk/valvat ``lookup/vies.rb``,
  odoo/odoo PR #153196), not in the WSDL.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import KoppelsimError


@dataclass(frozen=True)
class FaultCode:
    code: str
    meaning: str
    provenance: str


_CODES = [
    FaultCode("INVALID_INPUT", "the country code is invalid or the VAT number is empty (or breaks the "
              "WSDL's pattern [0-9A-Za-z+*.]{2,12})", "wsdl"),
    FaultCode("INVALID_REQUESTER_INFO", "the requester's country code or VAT number (checkVatApprox) "
              "is invalid", "test-wsdl"),
    FaultCode("SERVICE_UNAVAILABLE", "the SOAP service is unavailable, try again later", "wsdl"),
    FaultCode("MS_UNAVAILABLE", "the member state's service is unavailable, try again later or with "
              "another member state", "wsdl"),
    FaultCode("TIMEOUT", "the member state's service could not be reached in time", "wsdl"),
    FaultCode("SERVER_BUSY", "the service cannot process the request now, try again later", "wsdl"),
    FaultCode("VAT_BLOCKED", "the VAT number is blocked from being checked", "test-wsdl"),
    FaultCode("IP_BLOCKED", "the requester's IP address is blocked", "test-wsdl"),
    FaultCode("GLOBAL_MAX_CONCURRENT_REQ", "the maximum number of concurrent requests has been reached",
              "test-wsdl"),
    FaultCode("GLOBAL_MAX_CONCURRENT_REQ_TIME", "the maximum number of requests in a period has been "
              "reached", "test-wsdl"),
    FaultCode("MS_MAX_CONCURRENT_REQ", "the maximum number of concurrent requests for this member state "
              "has been reached", "test-wsdl"),
    FaultCode("MS_MAX_CONCURRENT_REQ_TIME", "the maximum number of requests for this member state in a "
              "period has been reached", "test-wsdl"),
]
FAULT_CODES: dict[str, FaultCode] = {c.code: c for c in _CODES}

# Named constants for the codes the model raises itself (a test keeps them in step with FAULT_CODES).
INVALID_INPUT = "INVALID_INPUT"
INVALID_REQUESTER_INFO = "INVALID_REQUESTER_INFO"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
MS_UNAVAILABLE = "MS_UNAVAILABLE"
TIMEOUT = "TIMEOUT"

# The magic numbers of the test service, from the documentation in vies_checkVatTestService.wsdl:
# "100 = Valid request with Valid VAT Number, 200 = Valid request with an Invalid VAT Number,
# 201 = Error : INVALID_INPUT, ...; for all the other cases, the web service will respond with a
# SERVICE_UNAVAILABLE error".
TEST_VALID = "100"
TEST_INVALID = "200"
TEST_FAULTS: dict[str, str] = {
    "201": "INVALID_INPUT",
    "202": "INVALID_REQUESTER_INFO",
    "300": "SERVICE_UNAVAILABLE",
    "301": "MS_UNAVAILABLE",
    "302": "TIMEOUT",
    "400": "VAT_BLOCKED",
    "401": "IP_BLOCKED",
    "500": "GLOBAL_MAX_CONCURRENT_REQ",
    "501": "GLOBAL_MAX_CONCURRENT_REQ_TIME",
    "600": "MS_MAX_CONCURRENT_REQ",
    "601": "MS_MAX_CONCURRENT_REQ_TIME",
}


class ViesFault(KoppelsimError):
    """A fault the service answers with; ``code`` is the SOAP ``faultstring``."""

    http_status = 503

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in FAULT_CODES:
            raise ValueError(f"unknown VIES fault {code!r}; known: {', '.join(FAULT_CODES)}")
        super().__init__(message or FAULT_CODES[code].meaning, code=code)
