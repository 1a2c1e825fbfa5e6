"""SOAP 1.1 and 1.2 envelopes as Twinfield's ASMX services read and write them, and their WSDLs.

Reading: the body goes through ``safexml`` (size limit, no DOCTYPE, no entities). Like ASMX, the charset
of the HTTP ``Content-Type`` decides how the bytes are read; an XML declaration naming another encoding
(the ``twinfield`` package on PyPI declares ``utf-16`` and sends UTF-8) does not get in the way.
The operation is the body's first element (clients without a SOAPAction work too); the header is
``<Header xmlns="http://www.twinfield.com/">`` with AccessToken/CompanyCode/CompanyId or SessionID.

Faults: ASMX's shape (``soap:Client``/``soap:Server``, ``faultstring``, ``faultactor``, ``<detail>`` with
``message``, ``code``, ``source``), as in melvinfolkers/twinfield's recorded invalid-token fault.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from importlib import resources

from lxml import etree

from ..core.safexml import BadXML, UnsafeXML, XMLRefused, parse_xml
from .xmltext import text_escape

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
TNS = "http://www.twinfield.com/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"

SERVICES = {
    "processxml": ("ProcessXmlString", "ProcessXmlDocument", "ProcessXmlCompressed"),
    "finder": ("Search",),
    "session": ("Logon", "OAuthLogon", "AccessTokenLogon", "SelectCompany", "KeepAlive", "Abandon"),
}
# The fair use policy: a SOAP action starting with one of these is a query (1 credit).
QUERY_PREFIXES = ("Get", "Query", "Search", "Load")

_DECLARATION = re.compile(rb"\A\s*<\?xml[^>]*\?>")
# Python's text transformations, not character sets a request is written in; punycode and idna also take
# time quadratic in the body's length to decode.
_NOT_CHARSETS = {"punycode", "idna", "unicode-escape", "raw-unicode-escape"}
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


class SoapError(Exception):
    """A request that ends in a SOAP fault before (or instead of) reaching the model."""

    def __init__(self, faultstring: str, faultcode: str = "Client", http_status: int | None = None,
                 detail: dict | None = None) -> None:
        super().__init__(faultstring)
        self.faultstring = faultstring
        self.faultcode = faultcode
        self.http_status = http_status
        self.detail = detail


@dataclass
class SoapRequest:
    version: str  # "1.1" | "1.2"
    operation: str
    body: etree._Element  # the operation element
    header: dict = field(default_factory=dict)
    action: str | None = None

    def arg(self, name: str) -> str | None:
        el = self.body.find(f"{{{TNS}}}{name}")
        if el is None:
            el = self.body.find(name)  # an unqualified child: accepted, as the PyPI client's ``xmlns=""`` needs
        return None if el is None else (el.text or "")


def _normalise(body: bytes, content_type: str) -> bytes:
    """The body as UTF-8 without an XML declaration, decoded with the Content-Type's charset."""
    if body.startswith(_BOMS):
        return body  # a byte order mark says it all; safexml reads it
    match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", content_type or "", re.I)
    charset = match.group(1) if match else "utf-8"
    try:
        if codecs.lookup(charset).name in _NOT_CHARSETS:
            raise LookupError(charset)
        # (any UnicodeError: punycode's and idna's are not UnicodeDecodeErrors; a lone surrogate fails to encode)
        encoded = body.decode(charset).encode("utf-8")
    except (LookupError, UnicodeError):
        # [CHOSEN] 400, as for any request that cannot be read (see read_request)
        raise SoapError(_unreadable(f"the body is not valid {charset}"), http_status=400) from None
    return _DECLARATION.sub(b"", encoded, count=1)


def string_document(text: str) -> bytes:
    """A document sent as a string (``ProcessXmlString``'s ``xmlRequest``): UTF-8, its XML declaration dropped.

    A string holds characters, not bytes, so an encoding it declares says nothing: a .NET client writing
    its request through a StringWriter declares ``encoding="utf-16"``, and Twinfield reads the string."""
    return _DECLARATION.sub(b"", text.lstrip("\ufeff").encode("utf-8"), count=1)


def _unreadable(reason: str, line: int | None = None) -> str:
    where = f" ({line}, 1)" if line else ""
    return f"Server was unable to read request. ---> There is an error in XML document{where}. ---> {reason}"


def read_request(body: bytes, content_type: str, soap_action: str | None, service: str,
                 max_bytes: int) -> SoapRequest:
    try:
        root = parse_xml(_normalise(body, content_type), max_bytes=max_bytes, what="SOAP request")
    except UnsafeXML as exc:
        if exc.reason == "doctype":
            raise SoapError(_unreadable("For security reasons DTD is prohibited in this XML document.", exc.line),
                            http_status=400) from None
        raise SoapError(_unreadable(str(exc)), http_status=413) from None
    except (BadXML, XMLRefused) as exc:
        # [CHOSEN] 400 for a request that cannot be read (ASMX answers such faults with 500)
        raise SoapError(_unreadable(str(exc), exc.line), http_status=400) from None
    qname = etree.QName(root)
    if qname.localname != "Envelope" or qname.namespace not in (SOAP11, SOAP12):
        raise SoapError(_unreadable("The root element is not a SOAP envelope."), http_status=400)
    ns = qname.namespace
    version = "1.1" if ns == SOAP11 else "1.2"
    envelope_body = root.find(f"{{{ns}}}Body")
    operation_el = None
    if envelope_body is not None:
        operation_el = next((c for c in envelope_body if isinstance(c.tag, str)), None)
    action = (soap_action or "").strip().strip('"') or None
    if operation_el is None:
        raise SoapError("Unable to handle request without a valid action parameter. Please supply a valid soap "
                        "action.")
    op_name = etree.QName(operation_el)
    if op_name.namespace != TNS or op_name.localname not in SERVICES[service]:
        if action:
            raise SoapError(f"Server did not recognize the value of HTTP Header SOAPAction: {action}.")
        raise SoapError("Unable to handle request without a valid action parameter. Please supply a valid soap "
                        "action.")
    return SoapRequest(version, op_name.localname, operation_el, _header(root, ns), action)


def _header(root: etree._Element, ns: str) -> dict:
    found: dict = {}
    header = root.find(f"{{{ns}}}Header")
    if header is None:
        return found
    twinfield = header.find(f"{{{TNS}}}Header")
    if twinfield is None:
        return found
    for child in twinfield:
        if isinstance(child.tag, str):
            found[etree.QName(child).localname] = (child.text or "").strip()
    return found


def is_query(operation: str) -> bool:
    return operation.startswith(QUERY_PREFIXES)


# -- writing ---------------------------------------------------------------------------------------------

# ASMX's declaration, double quotes and no line break before the envelope (murb's recorded
# cluster_processxml_customer_update_success.xml, written as it came); not lxml's ``<?xml version='1.0' ...?>``.
# The ProcessXmlString result string itself has no declaration, in Twinfield's answers as in ours.
DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'


def envelope(version: str, body_child: etree._Element, header: dict | None = None) -> bytes:
    ns = SOAP11 if version == "1.1" else SOAP12
    root = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns, "xsi": XSI, "xsd": XSD})
    if header:
        soap_header = etree.SubElement(root, f"{{{ns}}}Header")
        twinfield = etree.SubElement(soap_header, f"{{{TNS}}}Header", nsmap={None: TNS})
        for name, value in header.items():
            etree.SubElement(twinfield, f"{{{TNS}}}{name}").text = value
    body = etree.SubElement(root, f"{{{ns}}}Body")
    body.append(body_child)
    return DECLARATION + etree.tostring(root, encoding="utf-8")  # (utf-8 given: lxml adds no declaration)


def text_result_envelope(version: str, operation: str, text: str) -> bytes:
    """``envelope(version, <{operation}Response><{operation}Result>text</...></...>)`` written directly: the
    same bytes lxml writes for that tree (tests compare both), without building it (the hot path's answer)."""
    ns = SOAP11 if version == "1.1" else SOAP12
    return DECLARATION + (
        f"<soap:Envelope xmlns:soap=\"{ns}\" xmlns:xsi=\"{XSI}\" xmlns:xsd=\"{XSD}\"><soap:Body>"
        f"<{operation}Response xmlns=\"{TNS}\"><{operation}Result>{text_escape(text)}</{operation}Result>"
        f"</{operation}Response></soap:Body></soap:Envelope>").encode("utf-8")


def operation_response(operation: str, prefixed: bool = False) -> etree._Element:
    """``<{operation}Response xmlns="http://www.twinfield.com/">`` to fill in.

    ``prefixed`` writes Twinfield's namespace with a prefix instead: a response that carries elements in
    no namespace (ProcessXmlDocument's result) must not put them under a default namespace, and lxml does
    not write the ``xmlns=""`` that would undo it."""
    return etree.Element(f"{{{TNS}}}{operation}Response", nsmap={"tw" if prefixed else None: TNS})


def child(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{TNS}}}{name}")
    if text is not None:
        el.text = text
    return el


def fault(version: str, faultstring: str, faultcode: str = "Client", actor: str | None = None,
          detail: dict | None = None) -> bytes:
    ns = SOAP11 if version == "1.1" else SOAP12
    if version == "1.1":
        el = etree.Element(f"{{{ns}}}Fault")
        etree.SubElement(el, "faultcode").text = f"soap:{faultcode}"
        etree.SubElement(el, "faultstring").text = faultstring
        if actor:
            etree.SubElement(el, "faultactor").text = actor
        if detail is not None:
            detail_el = etree.SubElement(el, "detail")
            for name, value in detail.items():
                etree.SubElement(detail_el, name).text = str(value)
    else:
        el = etree.Element(f"{{{ns}}}Fault")
        code = etree.SubElement(el, f"{{{ns}}}Code")
        etree.SubElement(code, f"{{{ns}}}Value").text = "soap:Sender" if faultcode == "Client" else "soap:Receiver"
        reason = etree.SubElement(el, f"{{{ns}}}Reason")
        text = etree.SubElement(reason, f"{{{ns}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = faultstring
        if actor:
            etree.SubElement(el, f"{{{ns}}}Role").text = actor
        if detail is not None:
            detail_el = etree.SubElement(el, f"{{{ns}}}Detail")
            for name, value in detail.items():
                etree.SubElement(detail_el, name).text = str(value)
    return envelope(version, el)


def content_type(version: str) -> str:
    return "text/xml; charset=utf-8" if version == "1.1" else "application/soap+xml; charset=utf-8"


def wsdl(service: str, address: str) -> bytes:
    text = resources.files(__package__).joinpath("wsdl", f"{service}.wsdl").read_text(encoding="utf-8")
    return text.replace("{{ADDRESS}}", address).encode("utf-8")
