"""The REST API on the wire: ``/api/rest/v1/...`` as a WSGI app (served by ``core.httpserver``).

Per request, in this order: the raw request target and body (the hash covers them exactly as sent), the
body limit (413), authentication (401), the route (404.20 / 405.10), the rate limit (429), the JSON body
(400), the model, and for a success the response signature and rate-limit headers. Every request is
journaled (``http.request``) with its status and CCV code. Views are thin: read, call the model, render.

[CHOSEN] here: authentication before routing inside ``/api/rest/v1/``; ``OPTIONS`` answered without
authentication; JSON written compactly with non-ASCII escaped (as PHP's ``json_encode`` does);
``Content-Type: application/json``; success statuses GET 200, POST 201, PATCH/DELETE 204 (SPEC §4; the
App-Example-Code accepts 200/201 on POST and expects 204 on PATCH and DELETE); HEAD wherever GET is, as GET
without the body (RFC 9110 9.3.2).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import parse_qsl, urlsplit

from http import HTTPStatus

from . import queries, resources
from .auth import Keys, ResponseSigner, sign_response, verify
from .catalog import PAYMETHODS, PAYMETHODS_BY_ID
from .errors import (
    BAD_JSON,
    INTERNAL,
    INVALID_RESOURCE,
    METHOD_NOT_ALLOWED,
    METHOD_NOT_IMPLEMENTED,
    TOO_LARGE,
    CCVError,
    not_found,
)
from .faults import scripted
from .pagecache import PageCache
from .ratelimit import RateLimiter

if TYPE_CHECKING:
    from .models import CCVShopModel

PREFIX = "/api/rest/v1"
JSON_TYPE = "application/json; charset=utf-8"
_REASONS = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}
SIM = "ccvshop"

View = Callable[["Call"], Any]


@dataclass
class Call:
    """What a view gets: the model, the path's ids, the query as sent, the parsed body."""

    api: "RestAPI"
    ids: tuple[int, ...]
    args: list[tuple[str, str]]
    body: Any
    path: str

    @property
    def model(self) -> "CCVShopModel":
        return self.api.model

    @property
    def base(self) -> str:
        return self.api.model.base_url

    def page(self, items: list[dict], render: Callable[[dict, str], dict]) -> dict:
        config = self.api.model.config
        start, size = queries.paging(self.args, config.default_page_size, config.max_page_size)
        listing = queries.collection(items, start, size, self.base, self.path, self.args)
        listing["items"] = [render(item, self.base) for item in listing["items"]]
        return listing


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern
    resource: str  # what the rate limit counts per (and what a 404.20/405.10 names)
    views: dict[str, View]


def _route(path: str, resource: str, **views: View) -> Route:
    regex = "^" + re.sub(r"\{id\}", r"([0-9]{1,18})", path) + "/?$"  # [0-9]: \d also takes other scripts' digits
    return Route(re.compile(regex), resource, {method.upper(): view for method, view in views.items()})


# -- views ---------------------------------------------------------------------------------------------------


def _orders(call: Call) -> bytes:
    # Rendering the page is most of the request's time: kept while no order changes (pagecache.py).
    config = call.model.config
    key = (call.base, call.path, tuple(call.args), config.default_page_size, config.max_page_size)
    return call.api.pages.get(key, call.model.orders_version(), lambda: _dump(_orders_page(call)))


def _orders_page(call: Call) -> dict:
    filters = queries.parse(call.args, queries.ORDER_FILTERS, queries.ORDER_SORT)
    return call.page(call.model.orders(filters), resources.order)


def _order_post(call: Call) -> None:
    raise CCVError(METHOD_NOT_IMPLEMENTED, "Creating orders through the API is not implemented by this simulator; "
                                           "create them with POST /api/ccvshop/orders on the admin API.")


def _order(call: Call) -> dict:
    return resources.order(call.model.order(call.ids[0]), call.base)


def _order_patch(call: Call) -> None:
    call.model.patch_order(call.ids[0], call.body)


def _order_rows(call: Call) -> dict:
    queries.parse(call.args, {}, ())
    return call.page(call.model.order_rows(call.ids[0]), resources.order_row)


def _order_row(call: Call) -> dict:
    return resources.order_row(call.model.order_row(call.ids[0]), call.base)


def _order_invoices(call: Call) -> dict:
    queries.parse(call.args, {}, ())
    return call.page(call.model.invoices(order_id=call.ids[0]), resources.invoice)


def _order_invoice_post(call: Call) -> dict:
    from .models import check_properties  # [CHOSEN] an empty object: the invoice of the order as it is

    check_properties(call.body, {}, "POST on orders/{id}/invoices")
    return resources.invoice(call.model.create_invoice(call.ids[0]), call.base)


def _invoices(call: Call) -> dict:
    filters = queries.parse(call.args, queries.INVOICE_FILTERS, queries.INVOICE_SORT)
    return call.page(call.model.invoices(filters), resources.invoice)


def _invoice(call: Call) -> dict:
    return resources.invoice(call.model.invoice(call.ids[0]), call.base)


def _invoice_rows(call: Call) -> dict:
    queries.parse(call.args, {}, ())
    return call.page(call.model.invoice_rows(call.ids[0]), resources.invoice_row)


def _invoice_row(call: Call) -> dict:
    for invoice in call.model.invoices():
        for row in call.model.invoice_rows(invoice["id"]):
            if row["id"] == call.ids[0]:
                return resources.invoice_row(row, call.base)
    raise not_found("invoicerows", call.ids[0])


def _paymethods(call: Call) -> dict:
    queries.parse(call.args, {}, ())
    return call.page([p.as_resource() for p in PAYMETHODS], lambda item, base: item)


def _paymethod(call: Call) -> dict:
    if call.ids[0] not in PAYMETHODS_BY_ID:
        raise not_found("paymethods", call.ids[0])
    return PAYMETHODS_BY_ID[call.ids[0]].as_resource()


def _webhooks(call: Call) -> dict:
    queries.parse(call.args, {}, ())
    return call.page(call.model.webhooks.list(), resources.webhook)


def _webhook_post(call: Call) -> dict:
    return resources.webhook(call.model.webhooks.create(call.body), call.base)


def _webhook(call: Call) -> dict:
    return resources.webhook(call.model.webhooks.get(call.ids[0]), call.base)


def _webhook_patch(call: Call) -> None:
    call.model.webhooks.patch(call.ids[0], call.body)


def _webhook_delete(call: Call) -> None:
    call.model.webhooks.delete(call.ids[0])


def _apps(call: Call) -> dict:
    queries.parse(call.args, {}, ())
    return call.page(call.model.apps(), resources.app)


def _app(call: Call) -> dict:
    return resources.app(call.model.app(call.ids[0]), call.base)


def _app_patch(call: Call) -> None:
    call.model.patch_app(call.ids[0], call.body)


ROUTES: tuple[Route, ...] = (
    _route("orders", "orders", get=_orders, post=_order_post),
    _route("orders/{id}", "orders", get=_order, patch=_order_patch),
    _route("orders/{id}/orderrows", "orderrows", get=_order_rows),
    _route("orders/{id}/invoices", "invoices", get=_order_invoices, post=_order_invoice_post),
    _route("orderrows/{id}", "orderrows", get=_order_row),
    _route("invoices", "invoices", get=_invoices),
    _route("invoices/{id}", "invoices", get=_invoice),
    _route("invoices/{id}/invoicerows", "invoicerows", get=_invoice_rows),
    _route("invoicerows/{id}", "invoicerows", get=_invoice_row),
    _route("paymethods", "paymethods", get=_paymethods),
    _route("paymethods/{id}", "paymethods", get=_paymethod),
    _route("webhooks", "webhooks", get=_webhooks, post=_webhook_post),
    _route("webhooks/{id}", "webhooks", get=_webhook, patch=_webhook_patch, delete=_webhook_delete),
    _route("apps", "apps", get=_apps),
    _route("apps/{id}", "apps", get=_app, patch=_app_patch),
)
SUCCESS = {"GET": 200, "HEAD": 200, "POST": 201, "PATCH": 204, "PUT": 204, "DELETE": 204}


def _allowed(route: Route) -> list[str]:
    """The methods of a route for an Allow header: HEAD wherever GET is."""
    return sorted(set(route.views) | ({"HEAD"} if "GET" in route.views else set()))


# -- the WSGI app --------------------------------------------------------------------------------------------


class RestAPI:
    def __init__(self, model: "CCVShopModel") -> None:
        self.model = model
        self.limiter = RateLimiter(model.config)
        self.pages = PageCache()
        self.signer = ResponseSigner()

    @property
    def keys(self) -> Keys:
        return Keys(self.model.config.public_key, self.model.config.secret_key)

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        uri = _raw_uri(environ)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        try:
            answer = self._handle(environ, method, uri)
        except CCVError as exc:
            answer = _json(exc.body(), exc.ccv.status, exc.headers)
            self._journal(method, uri, exc.ccv.status, exc.ccv.code)
        except Exception as exc:  # a bug of ours: still CCV's JSON shape, never an HTML page
            logging.getLogger(__name__).exception("ccvshop: %s %s failed", method, uri[:200])
            error = CCVError(INTERNAL, f"Internal error: {type(exc).__name__}. The simulator logged it.")
            answer = _json(error.body(), 500, {})
            self._journal(method, uri, 500, INTERNAL.code)
        else:
            self._journal(method, uri, answer.status, None)
        return answer.send(start_response)

    def _handle(self, environ: dict, method: str, uri: bytes) -> "_Answer":
        target = uri.decode("latin-1")
        path = urlsplit(target).path
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            raise CCVError(INVALID_RESOURCE, f"'{path[:200]}' is not a resource of this API; resources are under "
                                             f"{PREFIX}/.")
        relative = path[len(PREFIX):].strip("/")
        route, ids = _match(relative)
        if method == "OPTIONS" and route is not None:
            return _Answer(b"", 204, {"Allow": ", ".join(_allowed(route) + ["OPTIONS"])})
        body = _read_body(environ, self.model.config.max_body_bytes)
        now = self.model.ctx.clock.now()
        verify(self.keys, method, uri, body, {name: environ.get(key) for name, key in _AUTH_HEADERS}, now,
               self.model.config.skew_seconds)
        if route is None:
            name = relative.split("/")[0] or "(none)"
            raise CCVError(INVALID_RESOURCE, f"Resource '{name}' does not exist (or not with this path: "
                                             f"{path[:200]}).")
        # HEAD is GET without the body (RFC 9110 9.3.2): the same view, status and headers; it is still signed
        # (and verified above) with the method the client sent, HEAD.
        view = route.views.get("GET" if method == "HEAD" else method)
        if view is None:
            allowed = ", ".join(_allowed(route))
            raise CCVError(METHOD_NOT_ALLOWED, f"Method {method} is not allowed on {route.resource}; allowed: "
                                               f"{allowed}.", {"Allow": allowed})
        rules = self.model.ctx.rules
        if rules.has_action(SIM, "error"):
            rule = rules.take(SIM, {"method": method, "resource": route.resource, "path": path, "uri": target},
                              ("error",))
            if rule is not None:
                raise scripted(rule)
        # [CHOSEN] a HEAD counts as the GET it stands for: GET's limit per minute is the one a client sees.
        limit_headers = self.limiter.take(route.resource, "GET" if method == "HEAD" else method, now)
        parsed = _parse_json(body) if method in ("POST", "PATCH", "PUT") else None
        call = Call(self, ids, parse_qsl(urlsplit(target).query, keep_blank_values=True), parsed, path)
        try:
            result = view(call)
        except CCVError as exc:
            exc.headers = {**limit_headers, **exc.headers}
            raise
        status = SUCCESS[method]
        payload = b"" if status == 204 else _dump(result)
        # A view that answers bytes answers a kept page: the same bytes again, so its signature's bulk is kept too.
        sign = self.signer.sign if isinstance(result, bytes) else sign_response
        # [CHOSEN] a HEAD answer is signed over the body the client gets, none, so that it can check it as the
        # SDK checks any success; the server leaves the body out and keeps GET's Content-Length.
        signed_body = b"" if method == "HEAD" else payload
        headers = {**limit_headers, **sign(self.keys, method, uri, signed_body, now)}
        # A 204 has no body, so nothing to type.
        return _Answer(payload, status, headers, JSON_TYPE if payload else None)

    def _journal(self, method: str, uri: bytes, status: int, code: str | None) -> None:
        self.model.ctx.journal.record(SIM, "http.request", method=method, uri=uri.decode("latin-1")[:500],
                                      status=status, code=code)


# The signature headers, and where a WSGI server puts them.
_AUTH_HEADERS = (("x-public", "HTTP_X_PUBLIC"), ("x-date", "HTTP_X_DATE"), ("x-hash", "HTTP_X_HASH"))


class _Answer:
    """A finished answer, handed to the WSGI server as it is. What werkzeug's Response did here, without its
    per-answer header machinery: ~30 us of the ~70 us a kept page of orders costs."""

    __slots__ = ("body", "status", "headers")

    def __init__(self, body: bytes, status: int, headers: dict[str, str], content_type: str | None = None) -> None:
        self.body, self.status = body, status
        self.headers = list(headers.items())
        if status != 204:  # a 204 has no Content-Length (RFC 9110 8.6)
            self.headers.append(("Content-Length", str(len(body))))
        if content_type is not None:
            self.headers.append(("Content-Type", content_type))

    def send(self, start_response: Callable[..., Any]) -> list[bytes]:
        start_response(_REASONS.get(self.status) or f"{self.status} UNKNOWN", self.headers)
        return [self.body]


def _raw_uri(environ: dict) -> bytes:
    """The request target as the client sent it (werkzeug keeps it in RAW_URI), minus any scheme and host."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:  # another server: rebuild it from the decoded parts as well as we can
        from urllib.parse import quote

        raw = quote(environ.get("PATH_INFO", "")) + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
    if raw.startswith(("http://", "https://")):
        parts = urlsplit(raw)
        raw = parts.path + (f"?{parts.query}" if parts.query else "")
    return raw.encode("latin-1")


def _match(relative: str) -> tuple[Route | None, tuple[int, ...]]:
    for route in ROUTES:
        found = route.pattern.match(relative)
        if found:
            return route, tuple(int(g) for g in found.groups())
    return None, ()


def _read_body(environ: dict, limit: int) -> bytes:
    """The body as sent, at most ``limit`` bytes: by its Content-Length, or to its end when the server says the
    stream ends there (a chunked body); without either there is none (PEP 3333: do not read past the length)."""
    text = (environ.get("CONTENT_LENGTH") or "").strip()
    declared = int(text) if text.isascii() and text.isdigit() else None  # isdigit() alone takes "²"
    if declared is not None and declared > limit:
        raise CCVError(TOO_LARGE, f"The request body of {declared} bytes is larger than {limit} bytes.",
                       {"Connection": "close"})
    if declared is None and not environ.get("wsgi.input_terminated"):
        return b""
    body = _read_at_most(environ["wsgi.input"], limit + 1 if declared is None else declared)
    if len(body) > limit:
        raise CCVError(TOO_LARGE, f"The request body is larger than {limit} bytes.", {"Connection": "close"})
    return body


def _read_at_most(stream: Any, count: int) -> bytes:
    """Up to ``count`` bytes: a stream may hand out less per read than asked."""
    parts, have = [], 0
    while have < count:
        chunk = stream.read(min(65536, count - have))
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)


def _parse_json(body: bytes) -> Any:
    """The body as JSON, its fractions read as ``Decimal``: an amount is kept exactly as sent (a float would
    make 99999999999999999.99 into 1e17 and 0.1000000000000000001 into 0.1 before anything could refuse it)."""
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CCVError(BAD_JSON, f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise CCVError(BAD_JSON, "The request body is not valid JSON: nested too deeply.") from None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _dump(result: Any) -> bytes:
    if isinstance(result, bytes):  # a view that answers with JSON written already (a kept page)
        return result
    return json.dumps(result, separators=(",", ":"), ensure_ascii=True).encode()


def _json(body: dict, status: int, headers: dict[str, str]) -> _Answer:
    return _Answer(_dump(body), status, headers, JSON_TYPE)
