"""The Twinfield listener's WSGI app: login host (``/auth/...``) and cluster (``/webservices/*.asmx``) in one.

A SOAP call goes: read the envelope -> who is calling (token/session) -> fair-use credits and concurrency
(429 + Retry-After) -> scripted faults (rules) -> the 1000-line limit (400) -> the operation -> the answer.
``GET …asmx?wsdl`` serves a WSDL whose ``soap:address`` is this listener, so clients that read the WSDL
first post back here; a POST to ``…asmx?wsdl`` (what the ``twinfield`` PyPI package does) works as well.
[CHOSEN] the login host's endpoints are not rate limited (the fair use policy speaks of the web services).
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import html
import logging
import re
import socket
import zlib
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Callable

from flask import Flask, Request, Response, request
from lxml import etree

from ..core.clock import format_instant
from ..core.safexml import XMLRefused, parse_xml
from . import soap
from .auth import LOGON_OAUTH_REQUIRED, LOGON_OK
from .directory import Caller
from .errors import F100_UNEXPECTED, F186_INVALID_ZLIB, F187_INVALID_XML, FaultCode, TwinfieldFault
from .holding import hold
from .login import create_login_blueprint
from .processxml import ProcessXml, event_of, is_read, most_lines, requests_in
from .xmltext import as_element, as_text

if TYPE_CHECKING:
    from .service import TwinfieldSimulator

SIM = "twinfield"
log = logging.getLogger(__name__)
DROP = "koppelsim.drop"
# The address of the client whose SOAP call this thread is answering outside Flask (see ``dropping``)
_REMOTE: ContextVar["str | None"] = ContextVar("koppelsim_twinfield_remote", default=None)


class _Answer(Exception):
    """Ends a SOAP call early with a ready response (a fault, a 429, a 400)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def create_app(sim: "TwinfieldSimulator") -> Callable:
    app = Flask("koppelsim-twinfield")
    app.json.sort_keys = False
    model = sim.model

    def journal(kind: str, **fields: Any) -> None:
        remote = _REMOTE.get()
        if remote is None and request:
            remote = request.remote_addr
        sim.ctx.journal.record(SIM, kind, remote, **fields)

    app.register_blueprint(create_login_blueprint(model, journal))
    processor = ProcessXml(model, lambda event, actions: sim.ctx.rules.take(SIM, event, actions), journal)

    @app.get("/")
    def index():
        links = "".join(f'<li><a href="/webservices/{name}.asmx?wsdl">{name}.asmx</a></li>' for name in soap.SERVICES)
        return Response(f"<!DOCTYPE html><html><body><h1>Twinfield (koppelsim)</h1><ul>{links}</ul>"
                        f"<p>Login: /auth/authentication/connect/authorize</p></body></html>",
                        content_type="text/html; charset=utf-8")

    @app.route("/webservices/<name>", methods=["GET", "POST"])
    def webservice(name: str):
        service = name.lower().removesuffix(".asmx")
        if not name.lower().endswith(".asmx") or service not in soap.SERVICES:
            return Response("404 Not Found: no such web service.\n", status=404, content_type="text/plain")
        if request.method in ("GET", "HEAD"):  # HEAD: the same answer, its body left off by the server
            if any(key.lower() == "wsdl" for key in request.args):
                address = f"{sim.cluster_url}/webservices/{service}.asmx"
                return Response(soap.wsdl(service, address), content_type="text/xml; charset=utf-8")
            items = "".join(f"<li>{html.escape(op)}</li>" for op in soap.SERVICES[service])
            return Response(f"<!DOCTYPE html><html><body><h1>{html.escape(name)}</h1><ul>{items}</ul>"
                            f'<p><a href="?WSDL">Service Description</a></p></body></html>',
                            content_type="text/html; charset=utf-8")
        return SoapCall(sim, processor, journal, service, request).answer()

    def soap_post(environ: dict, start_response: Callable) -> Any:
        """A POST to a web service, answered without Flask's request dispatch and without werkzeug's request
        object (the hot path: every ProcessXml call). The same SoapCall as the view above; everything else
        goes through Flask."""
        req = _PlainRequest(environ, sim.config.max_body_bytes)
        token = _REMOTE.set(req.remote_addr)
        try:
            response = SoapCall(sim, processor, journal, _soap_service(environ), req).answer()
        finally:
            _REMOTE.reset(token)
        return response(environ, start_response)

    def dropping(environ: dict, start_response: Callable) -> Any:
        # A scripted timeout: close the connection without a word (the client sees it drop).
        if environ.get("REQUEST_METHOD") == "POST" and _soap_service(environ):
            result = soap_post(environ, start_response)
        else:
            result = app.wsgi_app(environ, start_response)
        if environ.get(DROP):
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            raise ConnectionAbortedError("koppelsim: connection dropped by a timeout rule")
        return result

    app.wsgi_app_dropping = dropping  # type: ignore[attr-defined]
    return app


def _soap_service(environ: dict) -> str | None:
    """``processxml`` for ``/webservices/processxml.asmx`` (any case), None for any other path."""
    path = environ.get("PATH_INFO") or ""
    if not path.startswith("/webservices/") or not path.isascii():
        return None
    name = path[len("/webservices/"):]
    service = name.lower().removesuffix(".asmx")
    if "/" in name or not name.lower().endswith(".asmx") or service not in soap.SERVICES:
        return None
    return service


class _PlainRequest:
    """What SoapCall reads of a request, straight from the WSGI environ: werkzeug's Request object and its
    header machinery cost ~10 % of a booking. The URL (for a fault's faultactor only) is werkzeug's."""

    __slots__ = ("environ", "_limit", "_data")

    def __init__(self, environ: dict, limit: int) -> None:
        self.environ, self._limit, self._data = environ, limit, None

    @property
    def remote_addr(self) -> str | None:
        return self.environ.get("REMOTE_ADDR")

    @property
    def content_type(self) -> str:
        return self.environ.get("CONTENT_TYPE") or ""

    @property
    def headers(self) -> "_EnvironHeaders":
        return _EnvironHeaders(self.environ)

    @property
    def url(self) -> str:
        return Request(self.environ).url

    def get_data(self) -> bytes:
        """The body: its Content-Length's worth, or to its end where the server marks the end (chunked); at
        most one byte over the limit, so that the SOAP layer can say it is too large."""
        if self._data is None:
            text = (self.environ.get("CONTENT_LENGTH") or "").strip()
            if text.isascii() and text.isdigit():
                want = min(int(text), self._limit + 1)
            elif self.environ.get("wsgi.input_terminated"):
                want = self._limit + 1
            else:
                want = 0  # PEP 3333: without a length, nothing may be read
            stream, parts, have = self.environ["wsgi.input"], [], 0
            while have < want and (chunk := stream.read(min(65536, want - have))):
                parts.append(chunk)
                have += len(chunk)
            self._data = b"".join(parts)
        return self._data


class _EnvironHeaders:
    __slots__ = ("environ",)

    def __init__(self, environ: dict) -> None:
        self.environ = environ

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.upper().replace("-", "_")
        return self.environ.get(key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}", default)


class _PlainAnswer:
    """A ready SOAP answer as a WSGI app (Flask's view path takes it as one too), for the booking's hot path."""

    __slots__ = ("body", "content_type", "status_code")

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body, self.content_type, self.status_code = body, content_type, 200

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        start_response("200 OK", [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))])
        return [self.body]


class SoapCall:
    """One POST to a ``.asmx`` endpoint."""

    def __init__(self, sim: "TwinfieldSimulator", processor: ProcessXml, journal: Callable[..., None],
                 service: str, req: "Request | _PlainRequest") -> None:
        self.request = req
        self.sim = sim
        self.model = sim.model
        self.processor = processor
        self.journal = journal
        self.service = service
        self.version = "1.1"
        self.operation = "?"
        self.caller: Caller | None = None

    def answer(self) -> Response:
        entered = None
        try:
            call = soap.read_request(self.request.get_data(), self.request.content_type or "",
                                     self.request.headers.get("SOAPAction"), self.service, self.sim.config.max_body_bytes)
            self.version, self.operation = call.version, call.operation
            if self.service != "session" or call.operation in ("SelectCompany", "KeepAlive", "Abandon"):
                self.caller = self.model.auth.caller_from_header(call.header)
            inner = self._inner(call) if self.service == "processxml" else None
            self._charge(call, inner)
            if self.caller is not None:
                if not self.sim.limiter.enter(self.caller.organisation):
                    raise _Answer(self._too_many(1, "concurrency"))
                entered = self.caller.organisation
            rule = self._rule(call, inner)
            if inner is not None and most_lines(inner) > self.sim.config.max_transaction_lines:
                raise _Answer(self._fault(f"A transaction may contain at most {self.sim.config.max_transaction_lines}"
                                          " lines.", http_status=400))  # [CHOSEN] text; the 400 is Twinfield's
            if rule is not None and rule["action"] == "timeout" and not rule["timeout"].get("booked", False):
                return self._time_out(rule)
            response = self._perform(call, inner)
            if rule is not None and rule["action"] == "timeout":
                return self._time_out(rule)
            return response
        except _Answer as done:
            return done.response
        except soap.SoapError as err:
            return self._fault(err.faultstring, err.faultcode, err.http_status, err.detail)
        except TwinfieldFault as err:
            return self._twinfield_fault(err.fault, err.message)
        except Exception as exc:  # a bug of ours: Twinfield's own answer to the unexpected, and a log line
            log.exception("twinfield: %s %s failed", self.service, self.operation)
            self.journal("twinfield.crash", operation=self.operation, error=f"{type(exc).__name__}: {exc}")
            return self._twinfield_fault(F100_UNEXPECTED, F100_UNEXPECTED.message)
        finally:
            if entered is not None:
                self.sim.limiter.leave(entered)

    # -- the steps --------------------------------------------------------------------------------------

    def _inner(self, call: soap.SoapRequest) -> etree._Element:
        """The Twinfield XML document a ProcessXml call carries (namespaces dropped, as Twinfield ignores them)."""
        limit = self.sim.config.max_body_bytes
        try:
            if call.operation == "ProcessXmlString":
                root = parse_xml(soap.string_document(call.arg("xmlRequest") or ""), max_bytes=limit,
                                 what="xmlRequest")
            elif call.operation == "ProcessXmlDocument":
                holder = call.body.find(f"{{{soap.TNS}}}xmlRequest")
                if holder is None:
                    holder = call.body.find("xmlRequest")
                found = [c for c in (holder if holder is not None else []) if isinstance(c.tag, str)]
                if not found:
                    raise TwinfieldFault(F187_INVALID_XML)
                root = found[0]
            else:
                try:
                    packed = base64.b64decode(call.arg("xmlRequest") or "", validate=True)
                    raw = _inflate(packed, limit)
                except (binascii.Error, ValueError, OSError, zlib.error):
                    raise TwinfieldFault(F186_INVALID_ZLIB) from None
                root = parse_xml(raw, max_bytes=limit, what="xmlRequest")
        except XMLRefused:
            raise TwinfieldFault(F187_INVALID_XML) from None
        # A document parsed here is ours to change; one inside the envelope is copied first
        return _without_namespaces(root, in_place=call.operation != "ProcessXmlDocument")

    def _charge(self, call: soap.SoapRequest, inner: etree._Element | None) -> None:
        query = soap.is_query(call.operation) or (inner is not None and is_read(inner))
        wait = self.sim.limiter.charge(self.request.remote_addr or "?", self.caller.client_id if self.caller else None,
                                       1 if query else 3)
        if wait is not None:
            raise _Answer(self._too_many(wait, "rate"))

    def _rule(self, call: soap.SoapRequest, inner: etree._Element | None) -> dict | None:
        event = {"service": self.service, "operation": call.operation}
        if inner is not None:
            first = requests_in(inner)[:1]
            if first:
                event.update(event_of(first[0]))
        if self.caller is not None:
            event.update(user=self.caller.user, organisation=self.caller.organisation)
        rule = self.sim.ctx.rules.take(SIM, event, ("timeout", "fault", "delay", "throttle"))
        if rule is None:
            return None
        self.journal("twinfield.rule", rule=rule["id"], action=rule["action"], operation=call.operation)
        action = rule[rule["action"]]
        if rule["action"] == "throttle":
            raise _Answer(self._too_many(int(action.get("retry_after", 60)), "rule"))
        if rule["action"] == "fault":
            code = int(action.get("code", 100))
            known = FaultCode(code, action.get("message") or F100_UNEXPECTED.message, int(action.get("http", 500)))
            raise _Answer(self._twinfield_fault(known, known.message))
        if rule["action"] == "delay":
            self._hold(float(action.get("seconds", 1)), rule)  # simulated seconds: see holding.py
            return None
        return rule

    def _hold(self, seconds: float, rule: dict) -> None:
        """Keep this answer until the simulated clock has moved ``seconds`` on (never a real sleep per se)."""
        ctx = self.sim.ctx
        held = hold(ctx.clock, ctx.scheduler, seconds, self.sim.config.max_hold_seconds)
        if not held.by_clock and self.sim.listener is not None:  # (a runtime stopped meanwhile has no journal)
            self.journal("twinfield.hold_bound", rule=rule["id"], seconds=seconds,
                         due=format_instant(held.due), max_hold_seconds=self.sim.config.max_hold_seconds)

    def _time_out(self, rule: dict) -> Response:
        action = rule["timeout"]
        mode = action.get("mode", "drop")
        self.journal("twinfield.timeout", mode=mode, booked=bool(action.get("booked")), rule=rule["id"])
        if mode == "gateway":
            return Response("504 Gateway Time-out\n", status=504, content_type="text/plain")
        if mode == "hold":
            self._hold(float(action.get("seconds", 5)), rule)
            return Response("504 Gateway Time-out\n", status=504, content_type="text/plain")
        self.request.environ[DROP] = True
        return Response(b"", status=200)

    def _perform(self, call: soap.SoapRequest, inner: etree._Element | None) -> Response:
        op = call.operation
        if inner is not None:
            result = self.processor.process(self.caller, inner)
            self.journal("soap.call", service=self.service, operation=op, root=inner.tag,
                         result=result.get("result"), office=self.caller.company, user=self.caller.user)
            if op == "ProcessXmlString":
                return _PlainAnswer(soap.text_result_envelope(self.version, op, as_text(result)),
                                    soap.content_type(self.version))
            response = soap.operation_response(op, prefixed=op == "ProcessXmlDocument")
            holder = soap.child(response, f"{op}Result")
            if op == "ProcessXmlDocument":
                holder.append(as_element(result))
            else:
                holder.text = base64.b64encode(gzip.compress(as_text(result).encode("utf-8"))).decode()
            return self._reply(response)
        if op == "Search":
            return self._search(call)
        return self._session(call)

    def _search(self, call: soap.SoapRequest) -> Response:
        options: dict[str, str] = {}
        holder = call.body.find(f"{{{soap.TNS}}}options")
        for pair in (holder if holder is not None else []):
            strings = [s.text or "" for s in pair if isinstance(s.tag, str)]
            if len(strings) >= 2:
                options[strings[0].strip().lower()] = strings[1]
        try:
            search_field = _whole_number(call.arg("field"), 0)
            first_row = _whole_number(call.arg("firstRow"), 1)
            max_rows = _whole_number(call.arg("maxRows"), 100)
        except ValueError:
            raise soap.SoapError("Server was unable to read request. ---> Input string was not in a correct format.")
        found = self.model.finder.search(self.caller, call.arg("type") or "", call.arg("pattern") or "*",
                                         search_field, first_row, max_rows, options)
        self.journal("soap.call", service="finder", operation="Search", type=call.arg("type"),
                     total=found.total, messages=[m["Text"] for m in found.messages], user=self.caller.user)
        response = soap.operation_response("Search")
        result = soap.child(response, "SearchResult")
        for message in found.messages:
            el = soap.child(result, "MessageOfErrorCodes")
            for name in ("Type", "Text", "Code"):
                soap.child(el, name, message[name])
        if found.has_data:
            data = soap.child(response, "data")
            soap.child(data, "TotalRows", str(found.total))
            columns = soap.child(data, "Columns")
            for column in found.columns:
                soap.child(columns, "string", column)
            items = soap.child(data, "Items")
            for row in found.items:
                item = soap.child(items, "ArrayOfString")
                for value in row:
                    soap.child(item, "string", value)
        return self._reply(response)

    def _session(self, call: soap.SoapRequest) -> Response:
        auth = self.model.auth
        op = call.operation
        response = soap.operation_response(op)
        header = None
        if op in ("Logon", "OAuthLogon", "AccessTokenLogon"):
            if op == "Logon":
                outcome, session = auth.logon(call.arg("user") or "", call.arg("password") or "",
                                              call.arg("organisation") or "")
            elif op == "AccessTokenLogon":
                outcome, session = auth.access_token_logon(call.arg("accessToken") or "")
            else:
                outcome, session = LOGON_OAUTH_REQUIRED, None  # OAuth 1 is gone: [CHOSEN] this answer
            soap.child(response, f"{op}Result", outcome)
            if op != "AccessTokenLogon":
                soap.child(response, "nextAction", "None")
            if outcome == LOGON_OK:
                soap.child(response, "cluster", self.sim.cluster_url)
                header = {"SessionID": session}
                if op == "AccessTokenLogon":
                    header["AccessToken"] = call.arg("accessToken") or ""
            self.journal("soap.call", service="session", operation=op, result=outcome,
                         user=call.arg("user") or None)
        elif op == "SelectCompany":
            soap.child(response, "SelectCompanyResult",
                       auth.select_company(self.caller.token, call.arg("company") or ""))
        elif op == "KeepAlive":
            pass  # the caller lookup already renewed the session
        elif op == "Abandon":
            auth.abandon(self.caller.token)
        return self._reply(response, header)

    # -- answers ----------------------------------------------------------------------------------------

    def _reply(self, body: etree._Element, header: dict | None = None) -> Response:
        return Response(soap.envelope(self.version, body, header), content_type=soap.content_type(self.version))

    def _fault(self, faultstring: str, faultcode: str = "Client", http_status: int | None = None,
               detail: dict | None = None) -> Response:
        status = http_status or (400 if self.version == "1.2" and faultcode == "Client" else 500)
        self.journal("soap.fault", service=self.service, operation=self.operation, status=status,
                     faultstring=faultstring)
        return Response(soap.fault(self.version, faultstring, faultcode, self.request.url, detail), status=status,
                        content_type=soap.content_type(self.version))

    def _twinfield_fault(self, fault: FaultCode, message: str) -> Response:
        detail = {"message": message, "code": fault.code, "source": self.operation}
        return self._fault(message, "Client" if fault.http_status < 500 else "Server", fault.http_status, detail)

    def _too_many(self, seconds: int, why: str) -> Response:
        self.journal("http.throttled", operation=self.operation, why=why, retry_after=seconds)
        # [CHOSEN] the body; Twinfield documents only the status and the Retry-After header
        response = Response(f"429 Too Many Requests: the API {'concurrency' if why == 'concurrency' else 'rate'} "
                            f"limit is exceeded; retry after {seconds} seconds.\n", status=429,
                            content_type="text/plain; charset=utf-8")
        response.headers["Retry-After"] = str(seconds)
        return response


# An xsd:int as .NET reads it: ASCII digits (int() would read other scripts' digits too), within 32 bits
_INT = re.compile(r"[-+]?[0-9]{1,10}")


def _whole_number(text: str | None, default: int) -> int:
    """A Search argument: ``default`` when not sent; ValueError when it is not an xsd:int."""
    text = (text or "").strip()
    if not text:
        return default
    if not _INT.fullmatch(text) or not -2**31 <= int(text) < 2**31:
        raise ValueError(text)
    return int(text)


def _inflate(packed: bytes, limit: int) -> bytes:
    """gzip (what the WSDL says) or zlib (what the documentation says), never more than ``limit`` bytes."""
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 32)  # accepts both headers
    raw = decompressor.decompress(packed, limit + 1)
    if len(raw) > limit or decompressor.unconsumed_tail:
        raise ValueError("the decompressed request is too large")
    return raw


def _without_namespaces(root: etree._Element, in_place: bool = False) -> etree._Element:
    """The document with plain tag names (a client may send it inside Twinfield's namespace): a copy, or with
    ``in_place`` (a document parsed for this call alone) the document itself."""
    if in_place:
        plain = root
    else:
        plain = copy.deepcopy(root)
        plain.tail = None
    for el in plain.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(plain)
    return plain
