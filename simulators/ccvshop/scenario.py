"""The CCV Shop words of the scenario language: ``given.ccvshop``, ``ccv.*`` steps, ``ccvshop.*`` expectations.

```yaml
given:
  ccvshop:
    orders: [{as: icp1, country: DE, icp: true}]
    receiver: {events: [orders.updated.ispaid], fail: 1}   # a webhook receiver, registered for these events
steps:
  - ccv.pay: {order: icp1, transaction_id: tr_1}
  - expect: {ccvshop.received: {count: 0}}                # the first attempt got a 500
  - advance: 1m                                           # the retry is due
  - ccv.fetch: {as: paid, filters: {is_paid: true}, count: 1}
expect:
  ccvshop.received: {count: 1, signed: true, has: [{event: orders.updated.ispaid, body: {paid: true}}]}
```

Orders are named with ``as`` and referred to by that name. Steps that change the shop send the webhooks
they cause before the next step (at the scenario clock's now); retries wait for ``advance``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from clients.ccvshop import CCVShopClient, CCVShopError, SignatureError, WebhookReceiver
from clients.ccvshop.signing import hash_message

from ..core.matching import difference, matches
from ..scenario.vocabulary import DURATION, Vocabulary
from . import resources, totals
from .auth import format_x_date
from .datagen import OPTIONS_SCHEMA
from .models import SIM
from .webhooks import EVENTS

_NAME = {"type": "string", "description": "the name an earlier 'as' gave"}
_ORDER = {**OPTIONS_SCHEMA, "properties": {**OPTIONS_SCHEMA["properties"],
                                           "as": {"type": "string", "description": "a name for this order"}}}
_SETTINGS = {"type": "object", "additionalProperties": False, "x-noun": "setting", "properties": {
    "get_per_minute": {"type": "integer", "minimum": 1}, "write_per_minute": {"type": "integer", "minimum": 1},
    "total_per_minute": {"type": ["integer", "null"], "minimum": 1},
    "max_clock_skew": DURATION, "default_page_size": {"type": "integer", "minimum": 1},
    "max_page_size": {"type": "integer", "minimum": 1},
    "webhook_retry_delays": {"type": "array", "items": DURATION, "maxItems": 20},
    "webhook_timeout": {"type": "number", "exclusiveMinimum": 0},
    "ordernumber_prefix": {"type": ["string", "null"]}, "invoicenumber_prefix": {"type": ["string", "null"]}}}
GIVEN_SCHEMA = {"type": "object", "additionalProperties": False, "x-noun": "ccvshop setting", "properties": {
    "keys": {"type": "object", "additionalProperties": False, "properties": {
        "public_key": {"type": "string"}, "secret_key": {"type": "string"}}},
    "settings": _SETTINGS,
    "orders": {"type": "array", "items": _ORDER, "description": "orders in the shop before the first step"},
    "rules": {"type": "array", "items": {
        "type": "object", "required": ["when", "error"], "additionalProperties": False, "x-noun": "rule field",
        "properties": {"when": {"type": "object", "x-noun": "field", "additionalProperties": False, "properties": {
            "method": {"type": "string"}, "resource": {"type": "string"}, "path": {"type": "string"},
            "uri": {"type": "string"}}},
            "error": {"type": "object", "required": ["code"], "additionalProperties": False, "properties": {
                "code": {"type": "string", "pattern": "^[45][0-9][0-9][.][0-9]{1,3}$"}, "message": {"type": "string"},
                "retry_after": {"type": "integer", "minimum": 0}}},
            "times": {"type": "integer", "minimum": 1}}},
        "description": "scripted errors: requests like 'when' get this CCV error ('times' of them, or all)"},
    "receiver": {"type": "object", "additionalProperties": False, "properties": {
        "events": {"type": "array", "items": {"enum": list(EVENTS)}, "minItems": 1},
        "fail": {"type": "integer", "minimum": 0, "description": "answer 500 to this many deliveries first"}}},
}}
_PATTERNS = {"type": "array", "items": {"type": "object", "x-noun": "field"}, "minItems": 1}
_LISTING = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    "count": {"type": "integer", "minimum": 0}, "has": _PATTERNS, "none": _PATTERNS}}


@dataclass
class ShopState:
    orders: dict[str, int] = field(default_factory=dict)
    invoices: dict[str, int] = field(default_factory=dict)
    fetched: dict[str, list[dict]] = field(default_factory=dict)
    receiver: WebhookReceiver | None = None
    client: CCVShopClient | None = None


def _state(run) -> ShopState:
    return run.state.setdefault(SIM, ShopState())


def _sim(run):
    return run.runtime.simulators[SIM]


def _order_id(run, name: str) -> int:
    state = _state(run)
    if name in state.orders:
        return state.orders[name]
    raise AssertionError(f"no order named {name!r} (named so far: {', '.join(state.orders) or 'none'})")


def _client(run) -> CCVShopClient:
    state = _state(run)
    if state.client is None:
        config = _sim(run).config
        endpoint = run.runtime.endpoint("ccvshop-http")
        # The client waits out a 429 by moving the scenario's clock: simulated minutes, no real sleep.
        state.client = CCVShopClient(f"http://{endpoint.host}:{endpoint.port}", config.public_key, config.secret_key,
                                     clock=run.clock, sleep=lambda seconds: run.runtime.scheduler.advance(seconds),
                                     timeout=10)
        run.cleanups.append(state.client.session.close)
    return state.client


def _settle(run) -> None:
    """Send the webhooks the last step caused (due now) before the next step looks."""
    _sim(run).model.webhooks.drain()


def vocabulary() -> Vocabulary:
    vocab = Vocabulary()
    vocab.given(SIM, GIVEN_SCHEMA, _given, "CCV Shop keys, settings, orders and a webhook receiver.")

    @vocab.step("ccv.order", _ORDER)
    def order(run, args: dict) -> None:
        """A new order in the shop (generated; options such as country, b2b, icp, vat_included, shipping)."""
        options = {k: v for k, v in args.items() if k != "as"}
        created = _sim(run).model.create_order(options)
        _state(run).orders[args.get("as", str(created["id"]))] = created["id"]
        _settle(run)

    @vocab.step("ccv.pay", {"type": "object", "required": ["order"], "additionalProperties": False, "properties": {
        "order": _NAME, "transaction_id": {"type": "string"}}})
    def pay(run, args: dict) -> None:
        """The order is paid (the PSP's part): paid and transaction_id set, orders.updated.ispaid sent."""
        _sim(run).model.mark_paid(_order_id(run, args["order"]), args.get("transaction_id"))
        _settle(run)

    @vocab.step("ccv.status", {"type": "object", "required": ["order", "status"], "additionalProperties": False,
                               "properties": {"order": _NAME, "status": {"type": "integer", "minimum": 1,
                                                                         "maximum": 14}}})
    def status(run, args: dict) -> None:
        """The shop owner changes the order status (orders.updated.status)."""
        _sim(run).model.set_status(_order_id(run, args["order"]), args["status"])
        _settle(run)

    for kind in ("invoice", "credit"):
        def make(run, args: dict, credit: bool = kind == "credit") -> None:
            invoice = _sim(run).model.create_invoice(_order_id(run, args["order"]), credit, args.get("status"))
            _state(run).invoices[args.get("as", str(invoice["id"]))] = invoice["id"]
            _settle(run)

        vocab.step(f"ccv.{kind}", {"type": "object", "required": ["order"], "additionalProperties": False,
                                   "properties": {"order": _NAME, "as": {"type": "string"},
                                                  "status": {"enum": ["paid", "unpaid", "reimbursed"]}}},
                   "The order's invoice." if kind == "invoice" else
                   "A credit invoice for an invoiced order (amounts negated).")(make)

    @vocab.step("ccv.invoice_status", {"type": "object", "required": ["invoice", "status"],
                                       "additionalProperties": False, "properties": {
                                           "invoice": _NAME, "status": {"enum": ["paid", "unpaid", "reimbursed"]}}})
    def invoice_status(run, args: dict) -> None:
        """An invoice's status changes (invoices.updated.status)."""
        state = _state(run)
        if args["invoice"] not in state.invoices:
            raise AssertionError(f"no invoice named {args['invoice']!r}")
        _sim(run).model.set_invoice_status(state.invoices[args["invoice"]], args["status"])
        _settle(run)

    @vocab.step("ccv.fetch", {"type": "object", "additionalProperties": False, "properties": {
        "resource": {"enum": ["orders", "invoices", "paymethods", "webhooks", "apps"], "default": "orders"},
        "filters": {"type": "object", "x-noun": "filter"}, "size": {"type": "integer", "minimum": 1},
        "as": {"type": "string"}, "count": {"type": "integer", "minimum": 0},
        "fails": {"type": "string", "description": "the fetch must fail with an error like this ('*429.10*')"}}})
    def fetch(run, args: dict) -> None:
        """Read a collection through the real client, page by page (429s waited out on the clock)."""
        resource = args.get("resource", "orders")
        try:
            items = list(_client(run).iter_collection(f"{resource}/", size=args.get("size"),
                                                      **(args.get("filters") or {})))
        except (CCVShopError, SignatureError) as exc:
            if "fails" not in args:
                raise AssertionError(f"fetching {resource} failed: {exc}") from exc
            if not fnmatchcase(str(exc), args["fails"]):
                raise AssertionError(f"fetching {resource} failed with {exc!s}, expected {args['fails']!r}") from exc
            return
        if "fails" in args:
            raise AssertionError(f"fetching {resource} was expected to fail ({args['fails']!r}) but gave "
                                 f"{len(items)} item(s)")
        _state(run).fetched[args.get("as", resource)] = items
        if "count" in args and len(items) != args["count"]:
            raise AssertionError(f"fetched {len(items)} {resource}, expected {args['count']}")

    @vocab.step("ccv.patch", {"type": "object", "required": ["order", "set"], "additionalProperties": False,
                              "properties": {"order": _NAME, "set": {"type": "object", "x-noun": "property"},
                                             "fails": {"type": "string"}}})
    def patch(run, args: dict) -> None:
        """PATCH an order through the real client (what a koppeling may set, e.g. status)."""
        try:
            _client(run).update_order(_order_id(run, args["order"]), **args["set"])
        except CCVShopError as exc:
            if "fails" in args and fnmatchcase(str(exc), args["fails"]):
                return
            raise AssertionError(f"the PATCH failed: {exc}") from exc
        if "fails" in args:
            raise AssertionError(f"the PATCH was expected to fail ({args['fails']!r}) but succeeded")
        _settle(run)

    @vocab.step("ccv.request", _REQUEST_SCHEMA)
    def raw(run, args: dict) -> None:
        """A hand-made HTTP request (signed, badly signed or not at all) and the answer it must get."""
        _raw_request(run, args)

    @vocab.expectation("ccvshop.orders", _LISTING)
    def orders(run, expected: dict) -> None:
        """The shop's orders, as the API renders them: how many, and orders like these."""
        model = _sim(run).model
        _check_listing("order", [resources.order(o, model.base_url) for o in model.orders()], expected)

    @vocab.expectation("ccvshop.invoices", _LISTING)
    def invoices(run, expected: dict) -> None:
        """The shop's invoices (debit and credit)."""
        model = _sim(run).model
        _check_listing("invoice", [resources.invoice(i, model.base_url) for i in model.invoices()], expected)

    @vocab.expectation("ccvshop.order", {"type": "object", "x-noun": "order name",
                                         "additionalProperties": {"type": "object", "x-noun": "field"}})
    def one_order(run, expected: dict) -> None:
        """Fields of named orders, e.g. {icp1: {is_intra_community_order: true, paid: true}}."""
        model = _sim(run).model
        for name, pattern in expected.items():
            rendered = resources.order(model.order(_order_id(run, name)), model.base_url)
            problems = difference(pattern, rendered)
            if problems:
                raise AssertionError(f"order {name}: " + "; ".join(problems))

    @vocab.expectation("ccvshop.consistent", {"type": "object", "x-noun": "order name",
                                              "additionalProperties": {"type": "boolean"}})
    def consistent(run, expected: dict) -> None:
        """Whether each named order's amounts add up (false for an order made with inconsistent_total)."""
        model = _sim(run).model
        for name, want in expected.items():
            order_id = _order_id(run, name)
            problems = totals.problems(model.order(order_id), model.order_rows(order_id))
            if (not problems) != want:
                raise AssertionError(f"order {name}: expected {'consistent' if want else 'inconsistent'} totals, "
                                     f"problems: {problems or 'none'}")

    @vocab.expectation("ccvshop.deliveries", {**_LISTING, "properties": {**_LISTING["properties"]}})
    def deliveries(run, expected: dict) -> None:
        """Webhook deliveries as the shop sees them: {event, status (pending/delivered/failed), attempts, body}."""
        _check_listing("delivery", _sim(run).model.webhooks.deliveries(), expected)

    @vocab.expectation("ccvshop.received", {**_LISTING, "properties": {
        **_LISTING["properties"], "signed": {"type": "boolean", "description": "every accepted one had a valid x-hash"}}})
    def received(run, expected: dict) -> None:
        """What the scenario's webhook receiver accepted (200): {event, body: {...}}."""
        receiver = _state(run).receiver
        if receiver is None:
            raise AssertionError("no receiver: give given.ccvshop.receiver")
        accepted = receiver.accepted()
        views = [{"event": r.path.strip("/"), "body": r.data, "verified": r.verified} for r in accepted]
        if expected.get("signed") and not all(v["verified"] for v in views):
            raise AssertionError(f"not every delivery had a valid x-hash: {[v['verified'] for v in views]}")
        _check_listing("received webhook", views, {k: v for k, v in expected.items() if k != "signed"})

    @vocab.expectation("ccvshop.fetched", {"type": "object", "x-noun": "fetch name", "additionalProperties": _LISTING})
    def fetched(run, expected: dict) -> None:
        """What a ccv.fetch step got through the client (by its 'as' name)."""
        for name, listing in expected.items():
            if name not in _state(run).fetched:
                raise AssertionError(f"nothing was fetched as {name!r}")
            _check_listing(f"fetched {name}", _state(run).fetched[name], listing)

    return vocab


def _given(run, value: dict) -> None:
    sim, state = _sim(run), _state(run)
    changes = {**(value.get("keys") or {}), **(value.get("settings") or {})}
    if changes:
        try:  # one copy of the configuration for both, checked as a whole: never half applied
            sim.configure(**changes)
        except (TypeError, ValueError) as exc:  # the message names the setting
            raise ValueError(f"given.ccvshop: {exc}") from exc
    for rule in value.get("rules", []):
        run.runtime.rules.add(SIM, rule)
    for spec in value.get("orders", []):
        created = sim.model.create_order({k: v for k, v in spec.items() if k != "as"}, notify=False)
        state.orders[spec.get("as", str(created["id"]))] = created["id"]
    if "receiver" in value:
        spec = value["receiver"]
        keys: dict[str, str] = {}
        receiver = WebhookReceiver(keys=lambda path: keys.get(path.strip("/")), fail_first=spec.get("fail", 0))
        receiver.start()
        run.cleanups.append(receiver.stop)
        state.receiver = receiver
        for event in spec.get("events", ["orders.created", "orders.updated.ispaid", "orders.updated.status"]):
            registered = sim.model.webhooks.create({"event": event, "address": f"{receiver.url}/{event}"})
            keys[event] = registered["key"]


_REQUEST_SCHEMA = {"type": "object", "required": ["path", "status"], "additionalProperties": False, "properties": {
    "method": {"enum": ["GET", "POST", "PATCH", "PUT", "DELETE"], "default": "GET"},
    "path": {"type": "string", "description": "path and query as sent, e.g. /api/rest/v1/orders/{order1}/?x=1 "
                                              "({name}: the id of the order or invoice of that name)"},
    "body": {"description": "text sent as it is, or an object sent as JSON"},
    "sign": {"enum": ["valid", "none", "wrong_secret", "wrong_body"], "default": "valid"},
    "date_offset": {"type": "string", "description": "x-date this far from the clock: '+6m', '-4m59s'"},
    "date_style": {"enum": ["Z", "+00:00", "+0000"]},
    "status": {"type": "integer", "description": "the HTTP status the answer must have"},
    "code": {"type": "string", "description": "the CCV error code it must have, e.g. 401.12"}}}


def _raw_request(run, args: dict) -> None:
    import json

    import requests

    from ..core.clock import parse_duration

    config, endpoint = _sim(run).config, run.runtime.endpoint("ccvshop-http")
    method = args.get("method", "GET")
    path = _with_ids(run, args["path"])
    body = args.get("body", b"")
    data = body.encode() if isinstance(body, str) else (json.dumps(body).encode() if body != b"" else b"")
    moment = run.clock.now()
    offset = args.get("date_offset")
    if offset:
        delta = parse_duration(offset.lstrip("+-"))
        moment = moment - delta if offset.startswith("-") else moment + delta
    date = format_x_date(moment)
    style = args.get("date_style", "Z")
    if style != "Z":
        date = date[:-1] + style
    headers = {}
    sign = args.get("sign", "valid")
    if sign != "none":
        secret = config.secret_key + ("-wrong" if sign == "wrong_secret" else "")
        signed_body = data + (b" " if sign == "wrong_body" else b"")
        headers = {"x-public": config.public_key, "x-date": date,
                   "x-hash": hash_message(secret, config.public_key, method, path, signed_body, date)}
    response = requests.request(method, f"http://{endpoint.host}:{endpoint.port}{path}", data=data or None,
                                headers=headers, timeout=10)
    problems = []
    if response.status_code != args["status"]:
        problems.append(f"status {response.status_code}, expected {args['status']}")
    if "code" in args:
        try:
            code = response.json().get("code")
        except ValueError:
            code = None
        if code != args["code"]:
            problems.append(f"code {code!r}, expected {args['code']!r}")
    if problems:
        raise AssertionError(f"{method} {path}: {'; '.join(problems)} (answer: {response.text[:300]})")
    _settle(run)


def _with_ids(run, path: str) -> str:
    """``/api/rest/v1/orders/{order1}/`` with the id of the order (or invoice) named order1."""
    state = _state(run)
    names = {**state.orders, **state.invoices}

    def replace(match: "re.Match") -> str:
        if match.group(1) not in names:
            raise AssertionError(f"{{{match.group(1)}}} in the path names no order or invoice "
                                 f"(named: {', '.join(names) or 'none'})")
        return str(names[match.group(1)])

    return re.sub(r"\{([^{}/?&]+)\}", replace, path)


def _check_listing(what: str, items: list[dict], expected: dict) -> None:
    if "count" in expected and len(items) != expected["count"]:
        raise AssertionError(f"{len(items)} {what}(s), expected {expected['count']}")
    for pattern in expected.get("has", []):
        if not any(matches(pattern, item) for item in items):
            closest = min(items, key=lambda i: len(difference(pattern, i)), default=None)
            detail = "; ".join(difference(pattern, closest)) if closest is not None else "there are none"
            raise AssertionError(f"no {what} like {pattern!r} (closest: {detail})")
    for pattern in expected.get("none", []):
        if any(matches(pattern, item) for item in items):
            raise AssertionError(f"a {what} like {pattern!r} exists, expected none")


__all__ = ["GIVEN_SCHEMA", "vocabulary"]
