"""CCV Shop's error answers: ``{"code": "429.10", "status": 429, "developermessage": "..."}``.

The body shape and the codes marked *real* come from the official PHP SDK (ccvshop/ccvshop-api,
``src/Factory/ExceptionFactory.php``: it reads ``code``, ``status`` and ``developermessage`` and maps
404.20, 405.10, 429.10, 429.11, 500.x and 501.x to exceptions). Codes the public record does not give are
[CHOSEN] in the same ``<status>.<nn>`` style. A model raises ``CCVError(CODE, message)``; the REST layer
is the only place that turns it into HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import KoppelsimError


@dataclass(frozen=True)
class Code:
    code: str
    status: int
    meaning: str
    provenance: str  # "real: <where>" or "[CHOSEN]"

    @property
    def http_status(self) -> int:
        return self.status


_SDK = "real: ccvshop/ccvshop-api ExceptionFactory"

BAD_JSON = Code("400.10", 400, "the request body is not a JSON object", "[CHOSEN]")
VALIDATION = Code("400.20", 400, "a property or query parameter has a wrong name, type or value", "[CHOSEN]")
AUTH_MISSING = Code("401.10", 401, "x-public, x-date or x-hash header missing", "[CHOSEN]")
AUTH_PUBLIC = Code("401.11", 401, "unknown x-public key", "[CHOSEN]")
AUTH_DATE = Code("401.12", 401, "x-date unreadable or more than 5 minutes from server time", "[CHOSEN]")
AUTH_HASH = Code("401.13", 401, "x-hash is not the HMAC-SHA512 of public|METHOD|uri|body|x-date", "[CHOSEN]")
NOT_FOUND = Code("404.10", 404, "no resource with this id", "[CHOSEN]")
INVALID_RESOURCE = Code("404.20", 404, "invalid resource name", _SDK)
METHOD_NOT_ALLOWED = Code("405.10", 405, "method not allowed on this resource", _SDK)
TOO_LARGE = Code("413.10", 413, "request body too large", "[CHOSEN]")
RATE_RESOURCE = Code("429.10", 429, "per-resource, per-method limit of requests per minute reached", _SDK)
RATE_TOTAL = Code("429.11", 429, "total limit of requests per minute reached", _SDK)
METHOD_NOT_IMPLEMENTED = Code("501.10", 501, "method not implemented", _SDK)
INTERNAL = Code("500.00", 500, "an error of the simulator itself (logged)", "[CHOSEN]")

CODES: dict[str, Code] = {c.code: c for c in (
    BAD_JSON, VALIDATION, AUTH_MISSING, AUTH_PUBLIC, AUTH_DATE, AUTH_HASH, NOT_FOUND, INVALID_RESOURCE,
    METHOD_NOT_ALLOWED, TOO_LARGE, RATE_RESOURCE, RATE_TOTAL, METHOD_NOT_IMPLEMENTED, INTERNAL)}


class CCVError(KoppelsimError):
    """An answer of the CCV Shop API that is not a success. Also raised by the admin layer for bad options,
    where the admin API's own translator shows ``code`` and ``message``."""

    def __init__(self, code: Code, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, code=code.code)
        self.ccv = code
        self.http_status = code.status
        self.headers = headers or {}

    def body(self) -> dict:
        """The wire body, in the order the real API's fields are documented."""
        return {"code": self.ccv.code, "status": self.ccv.status, "developermessage": self.message}


def validation(message: str) -> CCVError:
    return CCVError(VALIDATION, message)


def not_found(resource: str, ident: object) -> CCVError:
    return CCVError(NOT_FOUND, f"Resource {resource} with id {ident!r} does not exist.")
