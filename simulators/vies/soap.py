"""The VIES protocol layer: SOAP 1.1 over HTTP, as a WSGI app.

It reads the wire (the envelope, through the safe XML parser), calls the model, and writes the model's
answer or fault in the real service's shape — ``env:`` envelope with an empty ``env:Header``, the answer
in an ``ns2:`` prefixed ``checkVatResponse``, faults as ``env:Server`` with the code as ``faultstring``
(shapes recorded by public clients: iconfinder/pyvat ``registries.py``, zapadi/vies-dotnet
``ViesXmlDeserializationTests.cs``).

Paths are the real service's, so only scheme, host and port change for a client:

* ``GET  /taxation_customs/vies/checkVatService.wsdl`` (and ``.../services/checkVatService?wsdl``)
* ``POST /taxation_customs/vies/services/checkVatService``
* the same with ``checkVatTestService``: the test service and its magic numbers.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path
from typing import Any, Callable, Iterable
from xml.sax.saxutils import escape

from lxml import etree
from werkzeug.wrappers import Request, Response

from ..core.journal import Journal
from ..core.safexml import XMLRefused, parse_xml
from .config import ViesConfig
from .errors import ViesFault
from .models import PRODUCTION, SIM, TEST, CheckResult, Trader, ViesModel
from .wsdl import TYPES_NS, build_wsdl, load_wsdl

log = logging.getLogger(__name__)

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
BASE = "/taxation_customs/vies"
SERVICES = {"checkVatService": PRODUCTION, "checkVatTestService": TEST}
SERVICE_PATHS = {f"{BASE}/services/{name}": name for name in SERVICES}
WSDL_PATHS = {f"{BASE}/{name}.wsdl": name for name in SERVICES}
CONTENT_TYPE = "text/xml; charset=utf-8"  # [CHOSEN] exact form; clients check it starts with text/xml
OPERATIONS = ("checkVat", "checkVatApprox")
_TRADER_ELEMENTS = {"traderName": "name", "traderCompanyType": "company_type", "traderStreet": "street",
                    "traderPostcode": "postcode", "traderCity": "city"}
_MATCH_ELEMENTS = (("name", "traderNameMatch"), ("company_type", "traderCompanyTypeMatch"),
                   ("street", "traderStreetMatch"), ("postcode", "traderPostcodeMatch"),
                   ("city", "traderCityMatch"))


class ClientFault(Exception):
    """A request the service cannot read: answered with an ``env:Client`` fault (HTTP ``status``)."""

    def __init__(self, message: str, status: int = 500, code: str = "env:Client",
                 reason: str = "client") -> None:
        super().__init__(message)
        self.message, self.status, self.code, self.reason = message, status, code, reason


def envelope(body: str) -> bytes:
    return (f'<env:Envelope xmlns:env="{SOAP11_NS}"><env:Header/><env:Body>{body}</env:Body>'
            '</env:Envelope>').encode("utf-8")


def fault_envelope(faultcode: str, faultstring: str) -> bytes:
    return envelope(f"<env:Fault><faultcode>{escape(faultcode)}</faultcode>"
                    f"<faultstring>{escape(faultstring)}</faultstring></env:Fault>")


def request_date(result: CheckResult) -> str:
    """xsd:date with the service's zone offset, as the service writes it: ``2026-11-21+01:00``."""
    moment = result.requested_at
    offset = moment.strftime("%z")  # +0100
    return f"{moment:%Y-%m-%d}{offset[:3]}:{offset[3:]}" if offset else f"{moment:%Y-%m-%d}Z"


def check_vat_response(result: CheckResult, operation: str) -> bytes:
    def el(name: str, value: str) -> str:
        return f"<ns2:{name}>{escape(value)}</ns2:{name}>"

    parts = [el("countryCode", result.country), el("vatNumber", result.number),
             el("requestDate", request_date(result)), el("valid", "true" if result.valid else "false")]
    if operation == "checkVat":
        parts += [el("name", result.name), el("address", result.address)]
    else:
        # [CHOSEN] traderCompanyType is left out: the service writes "---", which breaks the WSDL's own
        # pattern for it ([A-Z]{2}-[1-9][0-9]?) and would make a validating client refuse the answer.
        parts += [el("traderName", result.name), el("traderAddress", result.address)]
        parts += [el(element, result.matches[key]) for key, element in _MATCH_ELEMENTS
                  if key in result.matches]
        parts.append(el("requestIdentifier", result.request_identifier or ""))
    return envelope(f'<ns2:{operation}Response xmlns:ns2="{TYPES_NS}">{"".join(parts)}'
                    f"</ns2:{operation}Response>")


class SoapApp:
    """The WSGI app; one per listener."""

    def __init__(self, model: ViesModel, config: ViesConfig, journal: Journal) -> None:
        self.model = model
        self.config = config
        self.journal = journal
        self._official_wsdl = Path(config.wsdl_path) if config.wsdl_path else None

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    # -- routing -----------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path in WSDL_PATHS:
            if request.method in ("GET", "HEAD"):
                return self.wsdl(request, WSDL_PATHS[path])
            return _text(405, f"{request.method} is not served here: GET the WSDL, POST requests to "
                              f"{BASE}/services/{WSDL_PATHS[path]}.\n", Allow="GET")
        if path in SERVICE_PATHS:
            service = SERVICE_PATHS[path]
            if request.method in ("GET", "HEAD") and _wants_wsdl(request):
                return self.wsdl(request, service)
            if request.method == "POST":
                return self.soap(request, service)
            return _text(405, f"{request.method} is not served here: POST a SOAP 1.1 request, or GET "
                              f"{path}?wsdl for the WSDL.\n", Allow="GET, POST")
        if path == "/" and request.method in ("GET", "HEAD"):
            return _text(200, self._index(request))
        return _text(404, f"no such path: {request.path}\n{self._index(request)}")

    def _index(self, request: Request) -> str:
        base = own_base_url(request.environ)
        lines = ["koppelsim VIES simulator (EU VAT number check, SOAP 1.1)"]
        for name in SERVICES:
            lines.append(f"  {name}: POST {base}{BASE}/services/{name}   WSDL {base}{BASE}/{name}.wsdl")
        return "\n".join(lines) + "\n"

    def wsdl(self, request: Request, service: str) -> Response:
        location = f"{own_base_url(request.environ)}{BASE}/services/{service}"
        if self._official_wsdl is not None:
            body = load_wsdl(self._official_wsdl, location)
        else:
            body = build_wsdl(service, location)
        return Response(body, status=200, content_type=CONTENT_TYPE)

    # -- a SOAP call -------------------------------------------------------------------------------

    def soap(self, request: Request, service_name: str) -> Response:
        service = SERVICES[service_name]
        try:
            operation, params = self._read(request)
            try:
                result = self._call(service, operation, params)
            except ViesFault as fault:  # the model already recorded and journaled the check
                return self._fault(self.config.fault_http_status, "env:Server", fault.code)
            return Response(check_vat_response(result, operation), status=200, content_type=CONTENT_TYPE)
        except ClientFault as fault:
            self.journal.record(SIM, "soap.refused", None, service=service, reason=fault.reason,
                                message=fault.message)
            return self._fault(fault.status, fault.code, fault.message)
        except Exception:  # never a stack trace or an HTML 500: the service's own "try again later"
            log.exception("vies: a request could not be answered")
            return self._fault(self.config.fault_http_status, "env:Server", "SERVICE_UNAVAILABLE")

    @staticmethod
    def _fault(status: int, code: str, text: str) -> Response:
        return Response(fault_envelope(code, text), status=status, content_type=CONTENT_TYPE)

    def _read(self, request: Request) -> tuple[str, dict[str, str]]:
        """The operation and its parameters (local name -> text), or a ClientFault saying what is wrong."""
        media_type = request.mimetype
        if media_type != "text/xml":
            version = " (that is SOAP 1.2; this service speaks SOAP 1.1)" \
                if media_type == "application/soap+xml" else ""
            raise ClientFault(f"Unsupported Content-Type: {request.content_type or 'none'}{version}; "
                              "send text/xml", status=415, reason="content_type")
        action = request.headers.get("SOAPAction")
        if self.config.strict_soap_action and action not in (None, "", '""'):
            raise ClientFault(f"The given SOAPAction {action.strip(chr(34))} does not match an operation.",
                              code="env:Client", reason="soap_action")
        try:
            root = parse_xml(request.get_data(cache=False), max_bytes=self.config.max_body_bytes,
                             what="SOAP request")
        except XMLRefused as exc:
            raise ClientFault(str(exc), reason=exc.reason) from None
        if root.tag == f"{{{SOAP12_NS}}}Envelope":
            raise ClientFault("SOAP 1.2 envelope; this service speaks SOAP 1.1", code="env:VersionMismatch",
                              reason="soap_version")
        if root.tag != f"{{{SOAP11_NS}}}Envelope":
            raise ClientFault(f"the document is not a SOAP 1.1 Envelope but {_name(root)}", reason="not_soap")
        body = root.find(f"{{{SOAP11_NS}}}Body")
        children = [child for child in body if isinstance(child.tag, str)] if body is not None else []
        call = children[0] if children else None
        if call is None:
            raise ClientFault("the SOAP Body holds no operation", reason="no_operation")
        local = etree.QName(call).localname
        if etree.QName(call).namespace != TYPES_NS or local not in OPERATIONS:
            raise ClientFault(f"Unexpected wrapper element {_name(call)} found. Expected "
                              + " or ".join(f"{{{TYPES_NS}}}{op}" for op in OPERATIONS) + ".",
                              reason="unknown_operation")
        params: dict[str, str] = {}
        for child in call:
            if isinstance(child.tag, str) and etree.QName(child).namespace in (TYPES_NS, None):
                params[etree.QName(child).localname] = child.text or ""
        return local, params

    def _call(self, service: str, operation: str, params: dict[str, str]) -> CheckResult:
        requester = None
        trader = None
        if operation == "checkVatApprox":
            if "requesterCountryCode" in params or "requesterVatNumber" in params:
                requester = (params.get("requesterCountryCode", ""), params.get("requesterVatNumber", ""))
            trader = Trader(**{field: params[element] for element, field in _TRADER_ELEMENTS.items()
                               if params.get(element)})
        return self.model.check(params.get("countryCode", ""), params.get("vatNumber", ""), service,
                                operation, requester=requester, trader=trader)


def own_base_url(environ: dict) -> str:
    """``http://host:port`` as the client reached us (its Host header), so that the WSDL's soap:address brings
    it back the same way; the listener's own address when the Host header is missing or not a host[:port]
    (werkzeug then gives an empty host, and the address would be ``http:/taxation_customs/...``)."""
    scheme = environ.get("wsgi.url_scheme") or "http"
    host = (environ.get("HTTP_HOST") or "").strip()
    if _valid_host(host):
        return f"{scheme}://{host}"
    name = environ.get("SERVER_NAME") or "127.0.0.1"
    return f"{scheme}://{f'[{name}]' if ':' in name else name}:{environ.get('SERVER_PORT') or '80'}"


_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\[\]]+)(?::(?P<port>[0-9]{1,5}))?")


def _valid_host(text: str) -> bool:
    """A Host header value that is a host name or IP address (IPv6 in brackets), with an optional port."""
    match = _HOST_PORT.fullmatch(text) if len(text) <= 260 else None  # 253 for a name, a port, brackets
    if match is None:
        return False
    host, port = match.group("host"), match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        return False
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    return _HOST_NAME.fullmatch(host) is not None


def _wants_wsdl(request: Request) -> bool:
    return any(key.lower() == "wsdl" for key in request.args)


def _name(element: etree._Element) -> str:
    qname = etree.QName(element)
    return f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname


def _text(status: int, text: str, **headers: str) -> Response:
    return Response(text, status=status, content_type="text/plain; charset=utf-8", headers=headers)
