"""A thin, real CCV Shop REST client: what a koppeling uses to read orders and invoices.

* every request signed (``x-public``, ``x-date``, ``x-hash``) over the path and query exactly as they go
  on the wire (signed after ``requests`` prepared the URL) and the body exactly as sent;
* every success answer's signature checked; an unsigned or badly signed 2xx is refused
  (``SignatureError``), as the official SDK does;
* collections followed through their ``next`` links;
* a 429 waited out for its ``Retry-After`` with the injected ``sleep`` (a scenario passes one that moves
  the virtual clock: nothing sleeps for simulated time), then tried again, boundedly;
* errors as ``CCVShopError`` with the API's ``code``, ``status`` and ``developermessage``; no answer at all
  (connection refused, dropped, timed out) as ``ShopUnavailable``, a ``CCVShopError`` with status 0.

The clock and the sleep function are handed in; the client never imports the simulators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Protocol
from urllib.parse import urlencode, urlsplit

import requests

from ..clock import RealClock, real_sleep
from .models import Invoice, Order, Row
from .signing import request_headers, response_is_signed

PREFIX = "/api/rest/v1"
MAX_RESPONSE_BYTES = 20 * 1024 * 1024
MAX_PAGES = 10_000


class Clock(Protocol):
    def now(self) -> datetime: ...


class CCVShopError(Exception):
    """An error answer: HTTP status plus CCV's ``code`` (e.g. "401.13") and ``developermessage``."""

    def __init__(self, status: int, code: str | None, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status} {code or ''}: {message}".replace("  ", " "))
        self.status = status
        self.code = code
        self.developermessage = message
        self.headers = dict(headers or {})


class RateLimited(CCVShopError):
    """Still 429 after the allowed number of waits."""


class ShopUnavailable(CCVShopError):
    """No answer at all: the connection failed, was dropped or timed out (``status`` 0)."""


class SignatureError(Exception):
    """A success answer without a valid x-hash: it is not from the shop (or was changed on the way)."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    uri: str  # what was signed: path and query as sent

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class CCVShopClient:
    api_root: str  # "https://shop.example" or the simulator's "http://127.0.0.1:8802"
    public_key: str
    secret_key: str
    clock: Clock = field(default_factory=RealClock)
    sleep: Callable[[float], Any] = real_sleep
    timeout: float = 30.0
    max_rate_waits: int = 3
    date_style: str = "Z"
    verify_responses: bool = True
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        root = self.api_root.rstrip("/")
        self.api_root = root[: -len(PREFIX)] if root.endswith(PREFIX) else root

    # -- the wire ------------------------------------------------------------------------------------------

    def url(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        if path.startswith(("http://", "https://")):
            target = path
        else:
            target = f"{self.api_root}{PREFIX}/{path.lstrip('/')}"
        if query:
            encoded = urlencode([(k, _query_value(v)) for k, v in query.items() if v is not None])
            target += ("&" if "?" in target else "?") + encoded
        return target

    def request(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None) -> Answer:
        """One API call (with waits on 429); raises ``CCVShopError`` or ``SignatureError``."""
        method = method.upper()
        data = b"" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        target = self.url(path, query)
        waits = 0
        while True:
            answer = self._send(method, target, data)
            if answer.status == 429 and waits < self.max_rate_waits:
                waits += 1
                self.sleep(_retry_after(answer.headers))
                continue
            break
        if 200 <= answer.status < 300:
            if self.verify_responses and not response_is_signed(self.public_key, self.secret_key, method,
                                                                answer.uri, answer.body, answer.headers):
                raise SignatureError(f"{method} {answer.uri}: the answer's x-hash does not match (or is missing)")
            return answer
        error = _error(answer)
        if answer.status == 429:
            raise RateLimited(error.status, error.code, error.developermessage, error.headers)
        raise error

    def _send(self, method: str, target: str, data: bytes) -> Answer:
        prepared = self.session.prepare_request(requests.Request(method, target, data=data or None))
        uri = prepared.path_url  # exactly what goes on the request line
        prepared.headers.update(request_headers(self.public_key, self.secret_key, method, uri, data,
                                                self.clock.now(), self.date_style))
        prepared.headers["Accept"] = "application/vnd.verto.webshop+json, application/json"
        if data:
            prepared.headers["Content-Type"] = "application/json"
        try:
            response = self.session.send(prepared, timeout=self.timeout, stream=True, allow_redirects=False)
            try:
                body = _read(response)
            finally:
                response.close()
        except requests.RequestException as exc:
            raise ShopUnavailable(0, None, f"no answer from the shop ({method} {uri}): {type(exc).__name__}: "
                                           f"{exc}") from exc
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body, uri)

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query).json()

    def iter_collection(self, path: str, size: int | None = None, **filters: Any) -> Iterator[dict]:
        """Every item of a collection, page after page (``next`` is followed as the shop gives it)."""
        query = {**filters, **({"size": size} if size else {})}
        page = self.request("GET", path, query).json()
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            yield from page.get("items") or []
            following = page.get("next")
            if not following or following in seen:
                return
            seen.add(following)
            page = self.request("GET", self._same_origin(following)).json()
        raise CCVShopError(0, None, f"more than {MAX_PAGES} pages in {path}")

    def _same_origin(self, link: str) -> str:
        """A ``next`` link must point at the shop it came from (never follow one elsewhere)."""
        origin, mine = urlsplit(link), urlsplit(self.api_root)
        if (origin.scheme, origin.netloc) != (mine.scheme, mine.netloc):
            raise CCVShopError(0, None, f"refusing to follow a link to another host: {link}")
        return link

    # -- typed access --------------------------------------------------------------------------------------

    def orders(self, **filters: Any) -> Iterator[Order]:
        """Orders, e.g. ``orders(is_paid=True, min_create_date="2026-11-01")``."""
        return (Order.from_json(item) for item in self.iter_collection("orders/", **filters))

    def order(self, order_id: int) -> Order:
        return Order.from_json(self.get(f"orders/{order_id}/"))

    def order_rows(self, order_id: int) -> list[Row]:
        return [Row.from_json(item) for item in self.iter_collection(f"orders/{order_id}/orderrows/")]

    def order_invoices(self, order_id: int) -> list[Invoice]:
        return [Invoice.from_json(item) for item in self.iter_collection(f"orders/{order_id}/invoices/")]

    def invoices(self, **filters: Any) -> Iterator[Invoice]:
        return (Invoice.from_json(item) for item in self.iter_collection("invoices/", **filters))

    def invoice(self, invoice_id: int) -> Invoice:
        return Invoice.from_json(self.get(f"invoices/{invoice_id}/"))

    def invoice_rows(self, invoice_id: int) -> list[Row]:
        return [Row.from_json(item) for item in self.iter_collection(f"invoices/{invoice_id}/invoicerows/")]

    def paymethods(self) -> list[dict]:
        return list(self.iter_collection("paymethods/"))

    def update_order(self, order_id: int, **changes: Any) -> None:
        """PATCH an order (e.g. ``status=5``, ``paid=True``); amounts as numbers with at most two decimals."""
        self.request("PATCH", f"orders/{order_id}/", body=changes)

    def webhooks(self) -> list[dict]:
        return list(self.iter_collection("webhooks/"))

    def create_webhook(self, event: str, address: str, is_active: bool = True) -> dict:
        return self.request("POST", "webhooks/", body={"event": event, "address": address,
                                                       "is_active": is_active}).json()

    def delete_webhook(self, webhook_id: int) -> None:
        self.request("DELETE", f"webhooks/{webhook_id}/")

    def apps(self) -> list[dict]:
        return list(self.iter_collection("apps/"))

    def mark_installed(self, app_id: int) -> None:
        """The last step of an app install (App-Example-Code: PATCH apps/{id} ``{"is_installed": true}``)."""
        self.request("PATCH", f"apps/{app_id}/", body={"is_installed": True})


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _read(response: requests.Response) -> bytes:
    parts, size = [], 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise CCVShopError(response.status_code, None, f"answer larger than {MAX_RESPONSE_BYTES} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return max(1.0, float(headers.get("retry-after", "60")))
    except ValueError:
        return 60.0


def _error(answer: Answer) -> CCVShopError:
    try:
        data = json.loads(answer.body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return CCVShopError(answer.status, data.get("code"), str(data.get("developermessage", "")), answer.headers)
    text = answer.body[:300].decode("utf-8", errors="replace")
    return CCVShopError(answer.status, None, text, answer.headers)
