"""The Twinfield words of the scenario language: ``given.twinfield``, ``twinfield.*`` steps and expectations.

Steps drive the real client (``clients.twinfield``) over real sockets: ``twinfield.connect`` logs in
through the HTML login page (OAuth code flow), then the koppeling's actions - customers, bookings,
matching, searches - or a raw ``twinfield.post`` / ``twinfield.http``. ``twinfield.bookings`` states
the bookings that must exist, line by line.

```yaml
given:
  twinfield:
    customers: [{code: "4000", name: Jan Jansen, email: jan@example.com}]
    rules: [{when: {kind: transaction, invoicenumber: "5870"}, reject: {msg: "Periode is gesloten."}}]
steps:
  - twinfield.connect: {user: koppeling, password: koppeling-secret}
  - twinfield.book: {journal: VRK, invoicenumber: "5869", lines: [...]}
expect:
  twinfield.bookings:
    has: [{code: VRK, invoicenumber: "5869", lines: [{type: total, dim2: "4000", value: 121.00}, ...]}]
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Callable

import requests

from clients.twinfield import TwinfieldClient, TwinfieldOAuth

from ..core.config import build
from ..scenario.vocabulary import Vocabulary
from .booking_patterns import booking_difference, describe_booking, explain_no_match, row_matches, value_matches_amount
from .config import Client, Dimension, Office, Organisation, User, VatCode
from .models import SIM
from .scenario_schemas import (BOOK_SCHEMA, BOOKINGS_SCHEMA, CLIENT_SCHEMA, CONNECT_SCHEMA, CUSTOMER_SCHEMA,
                               CUSTOMERS_SCHEMA, GIVEN_SCHEMA, HTTP_SCHEMA, MATCH_SCHEMA, POST_SCHEMA, SEARCH_SCHEMA,
                               TOKENS_SCHEMA)


@dataclass
class TwinfieldScenarioState:
    clients: dict[str, TwinfieldClient] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # booking names -> numbers
    last_error: str | None = None


def _state(run) -> TwinfieldScenarioState:
    return run.state.setdefault(SIM, TwinfieldScenarioState())


def _sim(run):
    return run.runtime.simulators[SIM]


def _client(run, name: str | None) -> TwinfieldClient:
    state = _state(run)
    if not state.clients:
        raise AssertionError("no Twinfield client is connected: start with a 'twinfield.connect' step")
    if name is None:
        return next(iter(state.clients.values()))
    if name not in state.clients:
        raise AssertionError(f"no connected Twinfield client {name!r}; connected: {', '.join(state.clients)}")
    return state.clients[name]


def _attempt(run, action: Callable[[], Any], fails: str | None, what: str) -> Any:
    """Run a client action that must succeed, or (with ``fails``) fail with a matching error."""
    state = _state(run)
    try:
        result = action()
    except Exception as exc:  # every client error: TwinfieldError, TwinfieldFault, OAuthError, unavailable
        text = f"{type(exc).__name__}: {exc}"
        state.last_error = text
        if fails is None:
            raise AssertionError(f"{what} failed: {text}") from exc
        if not fnmatchcase(text, fails) and not fnmatchcase(str(exc), fails):
            raise AssertionError(f"{what} failed with {text!r}, expected {fails!r}") from exc
        return None
    if fails is not None:
        raise AssertionError(f"{what} was expected to fail ({fails!r}) but succeeded")
    return result


def _s(value: Any) -> str:
    return "" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))


def vocabulary() -> Vocabulary:
    vocab = Vocabulary()
    vocab.given(SIM, GIVEN_SCHEMA, _given, "Twinfield offices, users, clients, customers, ledger, VAT codes, rules.")

    @vocab.step("twinfield.connect", CONNECT_SCHEMA)
    def connect(run, args: dict | None) -> None:
        """Log in through the login page (OAuth code flow) as a user; the client then refreshes on its own."""
        args = args or {}
        sim = _sim(run)
        directory = sim.model.directory
        client_id = args.get("client_id") or directory.clients()[0]["client_id"]
        client_row = directory.client(client_id) or {"secret": "", "redirect_uris": ["http://localhost/callback"]}
        oauth = TwinfieldOAuth(sim.login_url, client_id, client_row["secret"], client_row["redirect_uris"][0],
                               run.clock, timeout=10)
        user = args.get("user", "koppeling")
        password = args.get("password") or directory.user_password(args.get("organisation", "KOPPELSIM"), user) or ""
        kwargs = {"scope": args["scope"]} if "scope" in args else {}
        tokens = _attempt(run, lambda: oauth.login(args.get("organisation", "KOPPELSIM"), user, password,
                                                   allow=not args.get("deny", False), **kwargs),
                          args.get("fails"), "the login")
        if tokens is None:
            return
        offices = directory.user_offices(args.get("organisation", "KOPPELSIM"), user)
        client = TwinfieldClient(oauth, tokens, run.clock, sleep=lambda s: run.runtime.scheduler.advance(s),
                                 office=args.get("office") or (offices[0] if offices else None), timeout=10)
        _state(run).clients[args.get("as") or user] = client

    @vocab.step("twinfield.customer", CUSTOMER_SCHEMA)
    def customer(run, args: dict) -> None:
        """Create a customer (dimension DEB) through the client; no code = Twinfield numbers it."""
        client = _client(run, args.get("client"))
        fields = {k: _s(args[k]) for k in ("code", "email", "country", "city", "postcode", "vatnumber") if k in args}
        _attempt(run, lambda: client.create_customer(args["name"], office=args.get("office"), **fields),
                 args.get("fails"), "creating the customer")

    @vocab.step("twinfield.book", BOOK_SCHEMA)
    def book(run, args: dict) -> None:
        """Post a booking (sales VRK or memo MEMO) through the client, line by line."""
        client = _client(run, args.get("client"))
        lines = [{k: _s(v) for k, v in line.items()} for line in args["lines"]]
        number = _attempt(run, lambda: client.post_transaction(
            args["journal"], lines, invoicenumber=_s(args.get("invoicenumber")) or None,
            date=_s(args.get("date")) or None, destiny=args.get("destiny", "temporary"), office=args.get("office"),
            raisewarning=args.get("raisewarning", True), autobalancevat=args.get("autobalancevat", False)),
            args.get("fails"), f"booking {args['journal']} {args.get('invoicenumber', '')}".strip())
        if number and args.get("as"):
            _state(run).names[args["as"]] = number

    @vocab.step("twinfield.match", MATCH_SCHEMA)
    def match(run, args: dict) -> None:
        """Match (afletteren): given lines, or every open item of a customer's invoice number."""
        client = _client(run, args.get("client"))

        def act():
            lines = [tuple(_s(v) for v in line) for line in args.get("lines", [])]
            if not lines:
                items = client.open_items(customer=_s(args.get("customer")) or None,
                                          invoicenumber=_s(args.get("invoicenumber")) or None, office=args.get("office"))
                lines = [(i["code"], i["number"], i["line"]) for i in items]
            return client.match(lines, office=args.get("office"))

        _attempt(run, act, args.get("fails"), "matching")

    @vocab.step("twinfield.post", POST_SCHEMA)
    def post(run, args: dict) -> None:
        """A raw ProcessXmlString request; optionally the result it must have and messages it must carry."""
        client = _client(run, args.get("client"))
        root = _attempt(run, lambda: client.process_xml(args["xml"], args.get("office")), args.get("fails"),
                        "the ProcessXml request")
        if root is None:
            return
        if "result" in args and root.get("result") != str(args["result"]):
            raise AssertionError(f"result is {root.get('result')!r}, expected {args['result']!r}: "
                                 f"{[el.get('msg') for el in root.iter() if el.get('msg')]}")
        found = [part for el in root.iter() if el.get("msg") for part in el.get("msg").split("//")]
        for pattern in args.get("msgs", []):
            if not any(fnmatchcase(m, pattern) for m in found):
                raise AssertionError(f"no message like {pattern!r}; the answer carries {found}")

    @vocab.step("twinfield.search", SEARCH_SCHEMA)
    def search(run, args: dict) -> None:
        """A Finder search; optionally the total and the rows it must return."""
        client = _client(run, args.get("client"))
        options = {k: _s(v) for k, v in (args.get("options") or {}).items()}
        found = _attempt(run, lambda: client.search(args["type"], args.get("pattern", "*"), args.get("field", 0),
                                                    options=options, office=args.get("office")),
                         args.get("fails"), f"the {args['type']} search")
        if found is None:
            return
        if "total" in args and found.total != args["total"]:
            raise AssertionError(f"{found.total} rows found, expected {args['total']}: {found.rows}")
        for wanted in args.get("rows", []):
            if not any(row_matches(wanted, row) for row in found.rows):
                raise AssertionError(f"no row like {wanted}; rows: {found.rows}")

    @vocab.step("twinfield.http", HTTP_SCHEMA)
    def http(run, args: dict) -> None:
        """A raw HTTP request to the Twinfield listener (bad input, WSDLs): the status it must get."""
        base = _sim(run).base_url
        body = args.get("body", "")
        if args.get("token"):
            body = body.replace("{token}", _client(run, None).ensure_token().access_token)
        headers = {"Content-Type": args.get("content_type", "text/xml; charset=utf-8"), **(args.get("headers") or {})}
        response = requests.request(args.get("method", "POST" if body else "GET"), base + args["path"],
                                    data=body.encode("utf-8") if body else None, headers=headers, timeout=10)
        if "status" in args and response.status_code != args["status"]:
            raise AssertionError(f"HTTP {response.status_code}, expected {args['status']}: {response.text[:300]}")
        for text in args.get("contains", []):
            if text not in response.text:
                raise AssertionError(f"the answer does not contain {text!r}: {response.text[:300]}")

    @vocab.step("twinfield.expire_tokens", {"type": ["object", "null"], "additionalProperties": False,
                                            "properties": {"kind": {"enum": ["access", "refresh", "session"]}}})
    def expire_tokens(run, args: dict | None) -> None:
        """Token-expiry helper: every token of a kind (default access) stops working now."""
        _sim(run).model.auth.expire(None, (args or {}).get("kind", "access"))

    @vocab.expectation("twinfield.bookings", BOOKINGS_SCHEMA)
    def bookings(run, expected: dict) -> None:
        """Which bookings exist, line by line: count, has (patterns, lines exact and in order), none."""
        views = _sim(run).model.bookings()
        _name_numbers(run, expected)
        if "count" in expected and len(views) != expected["count"]:
            raise AssertionError(f"{len(views)} booking(s), expected {expected['count']}: "
                                 + "; ".join(describe_booking(v) for v in views))
        for pattern in expected.get("has", []):
            if not any(not booking_difference(pattern, v) for v in views):
                raise AssertionError(explain_no_match(pattern, views))
        for pattern in expected.get("none", []):
            found = [v for v in views if not booking_difference(pattern, v)]
            if found:
                raise AssertionError(f"expected no booking like {pattern}, found {describe_booking(found[0])}")

    @vocab.expectation("twinfield.customers", CUSTOMERS_SCHEMA)
    def customers(run, expected: dict) -> None:
        """The customers (dimensions DEB) that exist: count and patterns (code, name, email, vatnumber)."""
        views = _sim(run).model.dimensions(expected.get("office"), "DEB")
        if "count" in expected and len(views) != expected["count"]:
            raise AssertionError(f"{len(views)} customer(s), expected {expected['count']}: "
                                 f"{[(v['code'], v['name']) for v in views]}")
        for pattern in expected.get("has", []):
            if not any(all(value_matches_amount(exp, v.get(k)) for k, exp in pattern.items()) for v in views):
                raise AssertionError(f"no customer like {pattern}; customers: "
                                     f"{[(v['office'], v['code'], v['name'], v['email']) for v in views]}")

    @vocab.expectation("twinfield.client", CLIENT_SCHEMA)
    def client_view(run, expected: dict) -> None:
        """What the client went through: refreshes, the last error, the cluster it found."""
        state = _state(run)
        if "last_error" in expected:
            want = expected["last_error"]
            if want is None and state.last_error is not None:
                raise AssertionError(f"the last error is {state.last_error!r}, expected none")
            if want is not None and not fnmatchcase(state.last_error or "", want):
                raise AssertionError(f"the last error is {state.last_error!r}, expected {want!r}")
        if "refreshes" in expected or "cluster_url" in expected:
            client = _client(run, expected.get("client"))
            if "refreshes" in expected and client.refreshes != expected["refreshes"]:
                raise AssertionError(f"the client refreshed {client.refreshes} time(s), expected "
                                     f"{expected['refreshes']}")
            if "cluster_url" in expected and not fnmatchcase(client.tokens.cluster_url or "", expected["cluster_url"]):
                raise AssertionError(f"cluster {client.tokens.cluster_url!r}, expected {expected['cluster_url']!r}")

    @vocab.expectation("twinfield.tokens", TOKENS_SCHEMA)
    def tokens(run, expected: dict) -> None:
        """Tokens the login host issued (of a kind, default access): how many, how many still active."""
        kind = expected.get("kind", "access")
        rows = [t for t in _sim(run).model.auth.tokens() if t["kind"] == kind]
        for key, got in (("issued", len(rows)), ("active", sum(1 for t in rows if t["active"]))):
            if key in expected and got != expected[key]:
                raise AssertionError(f"{got} {kind} token(s) {key}, expected {expected[key]}")

    return vocab


# -- given ----------------------------------------------------------------------------------------------------


def _given(run, value: dict) -> None:
    sim = _sim(run)
    model = sim.model
    where = str(run.scenario.path)
    if value.get("settings"):
        try:  # on a copy of the configuration: the runtime's own instance stays as configured
            sim.configure(**value["settings"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"given.twinfield.settings: {exc}") from exc
    for raw in value.get("organisations", []):
        model.directory.put_organisation(build(Organisation, raw, where, "given.twinfield.organisations"))
    for raw in value.get("offices", []):
        model.put_office(build(Office, raw, where, "given.twinfield.offices"))
    for raw in value.get("users", []):
        model.directory.put_user(build(User, raw, where, "given.twinfield.users"))
    for raw in value.get("clients", []):
        model.directory.put_client(build(Client, raw, where, "given.twinfield.clients"))
    for raw in value.get("ledger", []):
        model.put_dimension(build(Dimension, raw, where, "given.twinfield.ledger"))
    for raw in value.get("customers", []):
        model.put_dimension(build(Dimension, {**raw, "type": "DEB"}, where, "given.twinfield.customers"))
    for raw in value.get("vat_codes", []):
        raw = dict(raw)
        office = raw.pop("office", None)
        raw["percentages"] = [{**p, "percentage": str(p["percentage"])} for p in raw.get("percentages", [])]
        model.put_vat_code(office, build(VatCode, raw, where, "given.twinfield.vat_codes"))
    for rule in value.get("rules", []):
        if _holds(rule):
            raise ValueError("given.twinfield.rules: a delay or hold keeps the answer until the simulated clock "
                             "reaches its due time, and a scenario is one actor: nobody could move the clock "
                             "while its step waits. Script what the client sees with timeout (drop or gateway).")
        run.runtime.rules.add(SIM, rule)


def _holds(rule: Any) -> bool:
    """A rule that keeps an answer until the clock moves on (``delay``, ``timeout`` in mode ``hold``)."""
    if not isinstance(rule, dict):
        return False
    timeout = rule.get("timeout")
    return "delay" in rule or (isinstance(timeout, dict) and timeout.get("mode") == "hold")


def _name_numbers(run, expected: dict) -> None:
    """Booking names given with ``as:`` may stand for numbers in patterns (``number: "@sale"``)."""
    names = _state(run).names
    for group in ("has", "none"):
        for pattern in expected.get(group, []):
            number = pattern.get("number")
            if isinstance(number, str) and number.startswith("@"):
                pattern["number"] = names.get(number[1:], number)
