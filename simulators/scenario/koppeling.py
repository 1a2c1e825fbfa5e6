"""The koppeling's words of the scenario language: ``given.koppeling``, ``koppeling.*`` steps and expectations.

The koppeling is the real one (``clients.koppeling``) against this scenario's CCV Shop, Twinfield and VIES
simulators, over real sockets; its state file lives in the scenario's work directory. Orders are the names
``given.ccvshop.orders`` / ``ccv.order`` gave them (``as``). Bookings are asserted with ``twinfield.bookings``.

```yaml
given:
  ccvshop: {orders: [{as: o1, country: NL, paid: true, paymethod_id: 11}]}
  koppeling: {payment_posting: true, paymethods: {"11": {suspense: "2000"}}}
steps:
  - koppeling.run: {posted: 1}
  - advance: 4h                     # payment runs fire six times a day on the scenario's clock
  - koppeling.kill: {during: run, at: after_booking_sent}   # the CLI as a process that dies like kill -9
  - koppeling.restart:
expect:
  koppeling.reporting: {count: 1, has: [{order: o1, payment: {state: matched}}]}
  koppeling.errors: {count: 0}
```
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta

import yaml

from clients.koppeling import CRASH_ENV, CRASH_POINTS, Koppeling, config_from_dict
from clients.koppeling.service import next_payment_run

from ..core.matching import difference
from .vocabulary import Vocabulary

NAME = "koppeling"
_TARGET = {"type": ["object", "null"], "additionalProperties": False, "required": ["vatcode", "account"],
           "properties": {"vatcode": {"type": "string"}, "account": {"type": "string"},
                          "shipping_account": {"type": "string"}, "payment_account": {"type": "string"}}}
GIVEN_SCHEMA = {"type": ["object", "null"], "additionalProperties": False, "x-noun": "koppeling setting",
                "properties": {
    "office": {"type": "string"}, "debtors_account": {"type": "string"},
    "cost_centre": {"type": ["string", "null"]}, "mode": {"enum": ["concept", "invoice"]},
    "source": {"enum": ["orders", "invoices"]}, "invoicenumber": {"enum": ["order", "invoice"]},
    "payment_posting": {"type": "boolean"}, "since": {"type": "string"},
    "vat": {"type": "object", "x-noun": "country", "description": "country -> {rate: {vatcode, account}}",
            "additionalProperties": {"type": "object", "x-noun": "VAT rate", "additionalProperties": _TARGET}},
    "icp": _TARGET, "international": _TARGET,
    "paymethods": {"type": "object", "x-noun": "paymethod id", "additionalProperties": {
        "type": "object", "additionalProperties": False,
        "properties": {"suspense": {"type": "string"}, "debtor": {"type": "string"}}}},
    "payment_runs_per_day": {"type": "integer", "minimum": 1},
    "schedule_payments": {"type": "boolean", "description": "payment runs as events on the clock (default: "
                                                            "on with payment_posting)"},
    "user": {"type": "string", "description": "the Twinfield user the koppeling connects as"},
    "password": {"type": "string"}}}
_COUNTS = {"posted": {"type": "integer", "minimum": 0}, "errors": {"type": "integer", "minimum": 0},
           "matched": {"type": "integer", "minimum": 0}}
RUN_SCHEMA = {"type": ["object", "null"], "additionalProperties": False, "properties": {**_COUNTS}}
KILL_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["at"], "properties": {
    "during": {"enum": ["run", "payments"], "description": "what the process was doing (default run)"},
    "at": {"enum": list(CRASH_POINTS), "description": "where it dies, like kill -9"}}}
AGAIN_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
                "properties": {"order": {"type": "string"}, "invoice": {"type": "string"},
                               "payment": {"type": "string", "description": "the order whose payment failed"}}}
_ENTRY = {"type": "object", "x-noun": "field", "description": "fields of an entry; 'order'/'invoice' name it"}
_LISTING = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    "count": {"type": "integer", "minimum": 0}, "has": {"type": "array", "items": _ENTRY},
    "none": {"type": "array", "items": _ENTRY}}}


@dataclass
class KoppelingState:
    settings: dict = field(default_factory=dict)
    koppeling: Koppeling | None = None


def _state(run) -> KoppelingState:
    return run.state.setdefault(NAME, KoppelingState())


def _config_dict(run) -> dict:
    runtime = run.runtime
    shop = runtime.simulators["ccvshop"]
    http = runtime.endpoint("ccvshop-http")
    vies = runtime.endpoint("vies-soap")
    settings = dict(_state(run).settings)
    user = settings.pop("user", "koppeling")
    password = settings.pop("password", None) or runtime.simulators["twinfield"].model.directory.user_password(
        "KOPPELSIM", user) or ""
    settings.pop("schedule_payments", None)
    return {"twinfield": {"login_url": runtime.simulators["twinfield"].base_url, "user": user, "password": password},
            "shop": {"api_root": f"http://{http.host}:{http.port}", "public_key": shop.config.public_key,
                     "secret_key": shop.config.secret_key},
            "vies_url": f"http://{vies.host}:{vies.port}", "twinfield_timeout": 10, "vies_timeout": 10,
            "shop_timeout": 10, **settings}


def _koppeling(run) -> Koppeling:
    state = _state(run)
    if state.koppeling is None:
        # A 429 is waited out by moving the scenario's clock: simulated seconds, no real sleep.
        state.koppeling = Koppeling.open(config_from_dict(_config_dict(run), "given.koppeling"),
                                         run.workdir / "koppeling.db", run.clock,
                                         sleep=lambda seconds: run.runtime.scheduler.advance(timedelta(seconds=seconds)),
                                         crash=lambda point: None)
        run.cleanups.append(lambda: _close(state))
    return state.koppeling


def _close(state: KoppelingState) -> None:
    if state.koppeling is not None:
        state.koppeling.close()
        state.koppeling = None


def _named_id(run, kind: str, name: str) -> str:
    shop_state = run.state.get("ccvshop")
    table = getattr(shop_state, "orders" if kind == "order" else "invoices", {}) if shop_state else {}
    if name not in table:
        raise AssertionError(f"no {kind} named {name!r} in the shop (named: {', '.join(table) or 'none'})")
    return f"{kind}-{table[name]}"


def _check_counts(what: str, got: dict, expected: dict) -> None:
    for key in _COUNTS:
        if key in expected and got.get(key, 0) != expected[key]:
            raise AssertionError(f"{what}: {got.get(key, 0)} {key}, expected {expected[key]} ({got})")


def vocabulary() -> Vocabulary:
    vocab = Vocabulary()
    vocab.given(NAME, GIVEN_SCHEMA, _given, "The koppeling's configuration (the simulators' addresses are filled in).")

    @vocab.step("koppeling.run", RUN_SCHEMA)
    def sync(run, args: dict | None) -> None:
        """One sync: settle what was left open, then check and post every new order (or invoice)."""
        _check_counts("the sync", _koppeling(run).sync(), args or {})

    @vocab.step("koppeling.payments", RUN_SCHEMA)
    def payments(run, args: dict | None) -> None:
        """One payment run now (memo bookings of paid, posted orders, then matching)."""
        _check_counts("the payment run", _koppeling(run).payments(), args or {})

    @vocab.step("koppeling.kill", KILL_SCHEMA)
    def kill(run, args: dict) -> None:
        """Run the koppeling CLI as its own process, which dies like kill -9 at a point (exit 137)."""
        _close(_state(run))
        config = run.workdir / "koppeling.yaml"
        config.write_text(yaml.safe_dump(_config_dict(run)), encoding="utf-8")
        action = ["payments"] if args.get("during") == "payments" else ["run", "--once"]
        command = [sys.executable, "-m", "simulators", "koppeling", "--config", str(config), "--state",
                   str(run.workdir / "koppeling.db"), "--at", run.clock.now().isoformat(), *action]
        done = subprocess.run(command, env={**os.environ, CRASH_ENV: args["at"]}, capture_output=True, text=True,
                              timeout=60)
        if done.returncode != 137:
            raise AssertionError(f"the koppeling was to die at {args['at']} but exited {done.returncode}: "
                                 f"{(done.stderr or done.stdout).strip()[-600:]}")

    @vocab.step("koppeling.restart", {"type": "null"})
    def restart(run, args: None) -> None:
        """Start the koppeling afresh from its state file (as a restarted process would)."""
        _close(_state(run))
        _koppeling(run)

    @vocab.step("koppeling.process_again", AGAIN_SCHEMA)
    def process_again(run, args: dict) -> None:
        """The dashboard's *process again* on an order, invoice or payment on the Errors list."""
        kind, name = next(iter(args.items()))
        error_id = _named_id(run, "order" if kind == "payment" else kind, name)
        try:
            _koppeling(run).process_again(("payment-" if kind == "payment" else "") + error_id)
        except KeyError as exc:
            raise AssertionError(str(exc)) from None

    @vocab.expectation("koppeling.errors", _LISTING)
    def errors(run, expected: dict) -> None:
        """The Errors list: entries {order|invoice: name, check, reason, retry, messages, request}; ``messages``
        are Twinfield's texts joined by " | "."""
        koppeling = _koppeling(run)
        entries = [{**e, **koppeling.error_detail(e["id"])} for e in koppeling.errors()]
        for entry in entries:  # one text, so a pattern with wildcards can look for one message
            entry["messages"] = " | ".join(entry["messages"])
        _check(run, "error", entries, expected)

    @vocab.expectation("koppeling.reporting", _LISTING)
    def reporting(run, expected: dict) -> None:
        """The Reporting list: entries {order|invoice: name, number, customer, total, twinfield, payment}."""
        _check(run, "posted item", _koppeling(run).reporting(), expected)

    @vocab.expectation("koppeling.invoices", _LISTING)
    def invoices(run, expected: dict) -> None:
        """Twinfield sales invoices (invoice mode): {invoicenumber, status, customer, header: {...}, lines: [...]}."""
        views = run.runtime.simulators["twinfield"].model.invoice_views()
        _check(run, "Twinfield invoice", [{**v, "id": v["invoicenumber"]} for v in views], expected)

    return vocab


def _given(run, value: dict | None) -> None:
    state = _state(run)
    state.settings = dict(value or {})
    config_from_dict({k: v for k, v in state.settings.items() if k not in ("schedule_payments", "user", "password")},
                     "given.koppeling")  # refuse a bad configuration before anything starts
    if state.settings.get("schedule_payments", state.settings.get("payment_posting", False)):
        runs = state.settings.get("payment_runs_per_day", 6)

        def fire(due) -> None:
            _koppeling(run).payments()
            run.runtime.scheduler.call_at(next_payment_run(due, runs), fire)

        run.runtime.scheduler.call_at(next_payment_run(run.clock.now(), runs), fire)


def _pattern(run, pattern: dict) -> dict:
    resolved = dict(pattern)
    for kind in ("order", "invoice"):
        if kind in resolved:
            name = resolved.pop(kind)
            wanted = _named_id(run, kind, name)
            resolved["id"] = [wanted, f"payment-{wanted}"] if resolved.get("kind") == "payment" else wanted
    return resolved


def _lines_differ(want: list[dict], got: list[dict]) -> list[str]:
    if len(want) != len(got):
        return [f"lines: expected {len(want)}, got {len(got)}"]
    return [f"line {i + 1}: {r}" for i, (w, g) in enumerate(zip(want, got)) for r in difference(w, g)]


def _differs(pattern: dict, entry: dict) -> list[str]:
    """Like ``difference``, and a ``lines`` list is compared line by line, in order."""
    rest = {k: v for k, v in pattern.items() if k != "lines"}
    reasons = difference(rest, entry)
    if "lines" in pattern:
        reasons += _lines_differ(pattern["lines"], entry.get("lines") or [])
    return reasons


def _check(run, what: str, entries: list[dict], expected: dict) -> None:
    if "count" in expected and len(entries) != expected["count"]:
        raise AssertionError(f"{len(entries)} {what}(s), expected {expected['count']}: "
                             + "; ".join(f"{e['id']} {e.get('reason') or e.get('twinfield')}" for e in entries))
    for raw in expected.get("has", []):
        pattern = _pattern(run, raw)
        if not any(not _differs(pattern, e) for e in entries):
            closest = sorted(entries, key=lambda e: len(_differs(pattern, e)))[:2]
            raise AssertionError(f"no {what} like {raw}; closest: "
                                 + " | ".join(f"{e['id']}: {'; '.join(_differs(pattern, e))}" for e in closest)
                                 if closest else f"no {what} like {raw}: there are none")
    for raw in expected.get("none", []):
        pattern = _pattern(run, raw)
        found = [e for e in entries if not _differs(pattern, e)]
        if found:
            raise AssertionError(f"expected no {what} like {raw}, found {found[0]}")
