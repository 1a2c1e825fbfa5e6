"""A thin, real Twinfield client: OAuth tokens kept fresh, SOAP envelopes, answers turned into exceptions.

What a koppeling needs from Twinfield (seed 003 via SPEC §7): find or create customers, post concept
sales bookings and memo bookings, look up open items, match (afletteren), search with the Finder.

* The access token is refreshed ``refresh_margin`` before it expires, on the injected clock; a fault 354
  (token invalid) refreshes once more and retries.
* The cluster URL comes from ``accesstokenvalidation`` (``twf.clusterUrl``), asked after every new token.
* ``429 Too Many Requests`` waits ``Retry-After`` seconds through the injected ``sleep`` (a test passes
  one that moves its virtual clock) and tries again, at most ``max_retries`` times.
* ``result="0"`` raises ``TwinfieldError`` carrying every ``msg``; a SOAP fault raises ``TwinfieldFault``.

It talks to Twinfield only over the wire, exactly as any other program would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterable
from xml.sax.saxutils import escape

import requests
from lxml import etree

from ..clock import real_sleep
from .errors import TwinfieldError, TwinfieldFault, TwinfieldUnavailable, messages_of
from .oauth import Clock, OAuthError, Tokens, TwinfieldOAuth

TNS = "http://www.twinfield.com/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
TOKEN_INVALID = 354


def _parser() -> etree.XMLParser:
    """A parser per call: lxml parsers are not safe to share between threads."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass
class SearchResult:
    columns: list[str]
    rows: list[list[str]]
    total: int


class TwinfieldClient:
    def __init__(self, oauth: TwinfieldOAuth, tokens: Tokens, clock: Clock,
                 sleep: Callable[[float], None] = real_sleep, office: str | None = None, max_retries: int = 5,
                 refresh_margin: timedelta = timedelta(minutes=5), timeout: float = 30.0,
                 on_tokens: Callable[[Tokens], None] | None = None, session: requests.Session | None = None) -> None:
        self.oauth = oauth
        self.tokens = tokens
        self.clock = clock
        self.sleep = sleep
        self.office = office
        self.max_retries = max_retries
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.on_tokens = on_tokens
        self.http = session or requests.Session()
        self.refreshes = 0  # how many times this client refreshed its token (tests look)

    # -- tokens -----------------------------------------------------------------------------------------

    def ensure_token(self) -> Tokens:
        if self.tokens.expires_at - self.refresh_margin <= self.clock.now():
            self.refresh()
        if not self.tokens.cluster_url:
            try:
                self.tokens.claims = self.oauth.validate(self.tokens.access_token)
            except OAuthError as exc:
                if exc.error not in ("invalid_token", "expired_token") or not self.tokens.refresh_token:
                    raise
                self.refresh()  # the token died early (revoked, expired): a fresh one brings the cluster too
        return self.tokens

    def refresh(self) -> Tokens:
        if not self.tokens.refresh_token:
            raise OAuthError("no_refresh_token", detail="the access token expired and there is no refresh token")
        fresh = self.oauth.refresh(self.tokens.refresh_token)
        fresh.claims = self.oauth.validate(fresh.access_token)
        self.tokens = fresh
        self.refreshes += 1
        if self.on_tokens:
            self.on_tokens(fresh)
        return fresh

    @property
    def cluster_url(self) -> str:
        return self.ensure_token().cluster_url or ""

    # -- SOAP -------------------------------------------------------------------------------------------

    def call(self, service: str, operation: str, body: str, office: str | None = None) -> etree._Element:
        """POST one operation; returns the ``{operation}Response`` element."""
        retried_token = False
        for attempt in range(self.max_retries + 1):
            tokens = self.ensure_token()
            company = office or self.office
            header = f"<AccessToken>{escape(tokens.access_token)}</AccessToken>"
            if company:
                header += f"<CompanyCode>{escape(company)}</CompanyCode>"
            envelope = (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP11}">'
                        f'<soap:Header><Header xmlns="{TNS}">{header}</Header></soap:Header>'
                        f'<soap:Body><{operation} xmlns="{TNS}">{body}</{operation}></soap:Body></soap:Envelope>')
            try:
                response = self.http.post(f"{tokens.cluster_url}/webservices/{service}.asmx",
                                          data=envelope.encode("utf-8"), timeout=self.timeout,
                                          headers={"Content-Type": "text/xml; charset=utf-8",
                                                   "SOAPAction": f'"{TNS}{operation}"'})
            except requests.RequestException as exc:
                raise TwinfieldUnavailable(f"no answer from Twinfield: {type(exc).__name__}: {exc}") from exc
            if response.status_code == 429:
                wait = _retry_after(response)
                if attempt == self.max_retries:
                    raise TwinfieldUnavailable("rate limited: 429 Too Many Requests", 429, wait)
                self.sleep(wait)
                continue
            if response.status_code in (502, 503, 504):
                raise TwinfieldUnavailable(f"HTTP {response.status_code} from Twinfield", response.status_code)
            try:
                root = etree.fromstring(response.content, _parser())
            except etree.XMLSyntaxError as exc:
                raise TwinfieldUnavailable(f"HTTP {response.status_code}, not a SOAP answer: {exc}",
                                           response.status_code) from None
            fault = root.find(f".//{{{SOAP11}}}Fault")
            if fault is not None:
                error = _fault(fault, response.status_code)
                if error.code == TOKEN_INVALID and not retried_token:
                    retried_token = True
                    self.refresh()
                    continue
                raise error
            answer = root.find(f".//{{{TNS}}}{operation}Response")
            if answer is None:
                raise TwinfieldUnavailable(f"HTTP {response.status_code}: no {operation}Response in the answer",
                                           response.status_code)
            return answer
        raise TwinfieldUnavailable("gave up retrying")  # pragma: no cover - the loop returns or raises

    def process_xml(self, xml: str, office: str | None = None) -> etree._Element:
        """ProcessXmlString: the answer's XML document, whatever its result."""
        answer = self.call("processxml", "ProcessXmlString", f"<xmlRequest>{escape(xml)}</xmlRequest>", office)
        result = answer.find(f"{{{TNS}}}ProcessXmlStringResult")
        return etree.fromstring((result.text or "").strip().encode("utf-8"), _parser())

    def send(self, xml: str, office: str | None = None) -> etree._Element:
        """ProcessXmlString that must succeed: raises TwinfieldError with every message on ``result="0"``."""
        root = self.process_xml(xml, office)
        if root.get("result") != "1":
            raise TwinfieldError(messages_of(root), root)
        return root

    def search(self, finder_type: str, pattern: str = "*", field: int = 0, first_row: int = 1, max_rows: int = 100,
               options: dict[str, str] | None = None, office: str | None = None) -> SearchResult:
        opts = "".join(f"<ArrayOfString><string>{escape(k)}</string><string>{escape(v)}</string></ArrayOfString>"
                       for k, v in (options or {}).items())
        body = (f"<type>{escape(finder_type)}</type><pattern>{escape(pattern)}</pattern><field>{field}</field>"
                f"<firstRow>{first_row}</firstRow><maxRows>{max_rows}</maxRows><options>{opts}</options>")
        answer = self.call("finder", "Search", body, office)
        messages = answer.findall(f"{{{TNS}}}SearchResult/{{{TNS}}}MessageOfErrorCodes")
        if messages:
            texts = [(m.findtext(f"{{{TNS}}}Code"), m.findtext(f"{{{TNS}}}Text")) for m in messages]
            raise TwinfieldFault("; ".join(f"{code}: {text}" for code, text in texts), None, 200)
        data = answer.find(f"{{{TNS}}}data")
        columns = [s.text or "" for s in data.findall(f"{{{TNS}}}Columns/{{{TNS}}}string")]
        rows = [[s.text or "" for s in item.findall(f"{{{TNS}}}string")]
                for item in data.findall(f"{{{TNS}}}Items/{{{TNS}}}ArrayOfString")]
        return SearchResult(columns, rows, int(data.findtext(f"{{{TNS}}}TotalRows") or 0))

    # -- what a koppeling does --------------------------------------------------------------------------

    def list_offices(self) -> list[tuple[str, str]]:
        root = self.send("<list><type>offices</type></list>")
        return [(o.text or "", o.get("name", "")) for o in root.findall("office")]

    def read_customer(self, code: str, office: str | None = None) -> etree._Element | None:
        office = office or self.office
        root = self.process_xml(f"<read><type>dimensions</type><office>{escape(office)}</office>"
                                f"<dimtype>DEB</dimtype><code>{escape(code)}</code></read>", office)
        return root if root.get("result") == "1" else None

    def create_customer(self, name: str, email: str = "", code: str = "", office: str | None = None,
                        country: str = "NL", city: str = "", postcode: str = "", telephone: str = "",
                        vatnumber: str = "", cocnumber: str = "", contact: str = "", website: str = "") -> str:
        """A customer (dimension DEB); an empty code lets Twinfield number it. Returns the code."""
        office = office or self.office
        address = "".join(f"<{t}>{escape(v)}</{t}>" for t, v in (
            ("name", name), ("contact", contact), ("country", country), ("city", city), ("postcode", postcode),
            ("telephone", telephone), ("email", email)))
        xml = (f'<dimension status="active"><office>{escape(office)}</office><type>DEB</type>'
               f"<code>{escape(code)}</code><name>{escape(name)}</name><website>{escape(website)}</website>"
               f"<cocnumber>{escape(cocnumber)}</cocnumber><vatnumber>{escape(vatnumber)}</vatnumber>"
               f'<addresses><address type="invoice" default="true">{address}</address></addresses></dimension>')
        return self.send(xml, office).findtext("code") or ""

    def post_transaction(self, code: str, lines: Iterable[dict], invoicenumber: str | None = None,
                         date: str | None = None, destiny: str = "temporary", office: str | None = None,
                         currency: str = "EUR", raisewarning: bool = True, autobalancevat: bool = False) -> str:
        """A booking (VRK, MEMO, ...); lines are dicts of the line fields plus ``type``. Returns its number."""
        office = office or self.office
        head = f"<office>{escape(office)}</office><code>{escape(code)}</code><currency>{escape(currency)}</currency>"
        if date:
            head += f"<date>{escape(date)}</date>"
        if invoicenumber:
            head += f"<invoicenumber>{escape(invoicenumber)}</invoicenumber>"
        body = ""
        for i, line in enumerate(lines, start=1):
            fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in line.items()
                             if k not in ("type", "id") and v is not None)
            body += f'<line type="{escape(line.get("type", "detail"))}" id="{line.get("id", i)}">{fields}</line>'
        xml = (f'<transaction destiny="{destiny}" raisewarning="{str(raisewarning).lower()}" '
               f'autobalancevat="{str(autobalancevat).lower()}"><header>{head}</header><lines>{body}</lines>'
               f"</transaction>")
        return self.send(xml, office).findtext("header/number") or ""

    def open_items(self, customer: str | None = None, invoicenumber: str | None = None,
                   office: str | None = None) -> list[dict]:
        """Open items on customers (browse code 100): code, number, line, invoicenumber, value, open value."""
        office = office or self.office
        filters = ""
        if customer:
            filters += (f"<column><field>fin.trs.line.dim2</field><visible>true</visible><operator>between"
                        f"</operator><from>{escape(customer)}</from><to>{escape(customer)}</to></column>")
        else:
            filters += "<column><field>fin.trs.line.dim2</field><visible>true</visible></column>"
        if invoicenumber:
            filters += (f"<column><field>fin.trs.line.invnumber</field><visible>true</visible><operator>equal"
                        f"</operator><from>{escape(invoicenumber)}</from></column>")
        else:
            filters += "<column><field>fin.trs.line.invnumber</field><visible>true</visible></column>"
        xml = (f'<columns code="100"><column><field>fin.trs.head.office</field><operator>equal</operator>'
               f"<from>{escape(office)}</from></column>"
               + "".join(f"<column><field>{f}</field><visible>true</visible></column>" for f in (
                   "fin.trs.head.code", "fin.trs.head.number", "fin.trs.line.valuesigned",
                   "fin.trs.line.openvaluesigned", "fin.trs.line.matchstatus"))
               + filters
               + "<column><field>fin.trs.line.matchstatus</field><operator>equal</operator><from>available</from>"
                 "</column></columns>")
        root = self.send(xml, office)
        items = []
        for tr in root.findall("tr"):
            cells = {td.get("field"): td.text or "" for td in tr.findall("td")}
            items.append({"code": tr.findtext("key/code"), "number": tr.findtext("key/number"),
                          "line": tr.findtext("key/line"), "customer": cells.get("fin.trs.line.dim2"),
                          "invoicenumber": cells.get("fin.trs.line.invnumber"),
                          "value": cells.get("fin.trs.line.valuesigned"),
                          "open": cells.get("fin.trs.line.openvaluesigned")})
        return items

    def match(self, lines: Iterable[tuple[str, str, str]], matchdate: str | None = None,
              office: str | None = None) -> etree._Element:
        """Afletteren: lines are (journal code, transaction number, line); they must add up to zero."""
        office = office or self.office
        body = "".join(f"<line><transcode>{escape(c)}</transcode><transnumber>{escape(n)}</transnumber>"
                       f"<transline>{escape(str(ln))}</transline></line>" for c, n, ln in lines)
        date = f"<matchdate>{escape(matchdate)}</matchdate>" if matchdate else ""
        return self.send(f"<match><set><office>{escape(office)}</office><matchcode>170</matchcode>{date}"
                         f"<lines>{body}</lines></set></match>", office)


def _retry_after(response: requests.Response) -> int:
    try:
        return max(1, int(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1


def _fault(fault: etree._Element, status: int) -> TwinfieldFault:
    message = fault.findtext("faultstring") or fault.findtext("detail/message") or "SOAP fault"
    code_text = fault.findtext("detail/code")
    return TwinfieldFault(message, int(code_text) if code_text and code_text.isdigit() else None, status)
