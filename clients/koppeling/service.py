"""The koppeling as one object: sync orders, run payments, and the API the dashboard is built on.

Dashboard API (stable; the web page is built against exactly this):

* ``reporting() -> list[dict]`` - the *Reporting* tab: every posted order/invoice, oldest first::

      {"id": "order-339323562", "kind": "order", "number": "5869", "invoicenumber": "5869",
       "customer": "4000", "total": "82.20", "twinfield": {"kind": "transaction", "number": "202600001"},
       "payment": {"state": "matched", "memo_number": "202600001"} | None, "posted_at": "2026-11-20T09:00:00Z",
       "notes": ["VAT number 'NL123' is not a valid EU VAT number (...): left off the debtor"]}

* ``errors() -> list[dict]`` - the *Errors* tab: orders/invoices (and payments) that could not be posted::

      {"id": "order-339323562" | "payment-order-339323562", "kind": "order" | "invoice" | "payment",
       "number": "5869", "check": "total" | "vies" | "vatcode" | "posted" | "rounding" | "customer" |
       "debtor" | "twinfield" | "unknown" | "shop" | "invoicenumber" | "payment", "reason": "...", "retry": bool,
       "since": "2026-11-20T09:00:00Z"}

  ``check: unknown``: Twinfield never answered and did not show the booking yet; it is still ``posting``
  and every next run looks again (a late commit is recognised) before posting it again.

  ``retry`` true: nothing is wrong with the order (VIES or Twinfield could not be reached); every next run
  tries again on its own.
* ``error_detail(id) -> dict`` - *more info*: the entry of ``errors()`` plus ``messages`` (Twinfield's texts),
  ``request`` (the XML sent, when one was sent), ``sale`` (the order in short: lines, amounts, VAT rates) and
  ``attempts``. Unknown id: ``KeyError``.
* ``process_again(id, wait=False) -> dict`` - *process again*: clears the error and processes the order (or
  payment) now; returns its ``reporting()`` entry when it got posted, else its ``errors()`` entry. Only what
  ``errors()`` lists (``KeyError`` otherwise: a matched payment never becomes an error). When another run
  holds the state it raises ``KoppelingBusy`` at once (the dashboard shows "busy"); ``wait=True`` (the
  ``retry`` command) waits for it, up to ``lock_timeout``.

Runs: ``sync()`` settles what a kill or timeout left open (every item whose request was sent and not refused,
whatever its state), then posts every new order/invoice;
``payments()`` is one payment run (six a day: ``next_payment_run``). Both return counts. A failure of one
order (the shop or Twinfield unreachable, a malformed order) is that order's Errors entry, never the run's.

One at a time: ``sync``, ``payments`` and ``process_again`` hold an exclusive lock on ``<state>.lock`` across
processes (``lock.py``), and each item, customer and payment is claimed with a compare-and-set in the state
file besides, so the daemon, the dashboard and ``retry`` on one state file never post anything twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Protocol

from clients.ccvshop import CCVShopClient, CCVShopError
from clients.twinfield import Tokens, TwinfieldClient, TwinfieldError, TwinfieldOAuth

from ..clock import real_sleep
from .config import KoppelingConfig
from .customers import Customers
from .lock import StateLock
from .payments import Payments
from .posting import MALFORMED, TRANSIENT, UNKNOWN, Poster, was_sent
from .store import KoppelingStore
from .vies import ViesClient

# Where a test makes the koppeling die like kill -9 (os._exit, no clean-up): a real crash of a real process.
CRASH_ENV = "KOPPELSIM_KOPPELING_CRASH_AT"
CRASH_POINTS = ("after_intent", "after_booking_sent", "before_customer_created", "after_customer_created",
                "after_payment_intent", "after_memo_sent", "after_match")


class Clock(Protocol):
    def now(self) -> datetime: ...


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)


def next_payment_run(after: datetime, runs_per_day: int) -> datetime:
    """When the next payment run is due: ``runs_per_day`` evenly over the UTC day (6: 00:00, 04:00, ...)."""
    step = timedelta(days=1) / runs_per_day
    moment = after.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    while moment <= after:
        moment += step
    return moment


def parse_interval(text: str) -> timedelta:
    """``15m``, ``1h``, ``90s`` or a number of seconds."""
    text = str(text).strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text and text[-1] in units:
        return timedelta(seconds=float(text[:-1]) * units[text[-1]])
    return timedelta(seconds=float(text))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Koppeling:
    config: KoppelingConfig
    store: KoppelingStore
    shop: CCVShopClient
    twinfield: TwinfieldClient
    vies: ViesClient
    clock: Clock
    crash: Callable[[str], None] = crash_point

    def __post_init__(self) -> None:
        self.lock = StateLock(self.store.path)
        now = lambda: _stamp(self.clock.now())  # noqa: E731 - the one place time is read
        customers = Customers(self.store, self.twinfield, self.config.office, now, self.crash)
        self.poster = Poster(self.config, self.store, self.shop, self.twinfield, self.vies, customers, now,
                             self.crash)
        self.payment_runner = Payments(self.config, self.store, self.shop, self.twinfield, now, self.crash)

    @classmethod
    def open(cls, config: KoppelingConfig, state: str | Path, clock: Clock, sleep: Callable[[float], Any] = real_sleep,
             crash: Callable[[str], None] = crash_point) -> "Koppeling":
        """Open the state file and connect: stored tokens when there are, else the login page once."""
        store = KoppelingStore(state)
        tw = config.twinfield
        oauth = TwinfieldOAuth(tw.login_url, tw.client_id, tw.client_secret, tw.redirect_uri, clock,
                               timeout=config.twinfield_timeout)
        saved = store.tokens()
        if saved:
            tokens = Tokens(saved["access_token"], datetime.fromisoformat(saved["expires_at"]),
                            saved.get("refresh_token"), claims=saved.get("claims") or {})
        else:
            tokens = oauth.login(tw.organisation, tw.user, tw.password)
        save = lambda t: store.save_tokens({"access_token": t.access_token, "expires_at": t.expires_at.isoformat(),  # noqa: E731
                                            "refresh_token": t.refresh_token, "claims": t.claims})
        twinfield = TwinfieldClient(oauth, tokens, clock, sleep=sleep, office=config.office,
                                    timeout=config.twinfield_timeout, on_tokens=save)
        twinfield.ensure_token()
        save(twinfield.tokens)
        shop = CCVShopClient(config.shop.api_root, config.shop.public_key, config.shop.secret_key, clock=clock,
                             sleep=sleep, timeout=config.shop_timeout)
        return cls(config, store, shop, twinfield, ViesClient(config.vies_url, config.vies_timeout), clock, crash)

    def close(self) -> None:
        self.store.close()
        self.shop.session.close()
        self.twinfield.http.close()
        self.vies.http.close()

    # -- runs ----------------------------------------------------------------------------------------------------

    def sync(self) -> dict[str, int]:
        """Settle what was left ``posting``, then post every new order (or invoice) and retry the retryable.
        Waits for a run of another process on the same state to end (``KoppelingBusy`` after the timeout)."""
        with self.lock.hold(timeout=self.config.lock_timeout):
            self.poster.begin_run()
            return self._sync()

    def _sync(self) -> dict[str, int]:
        counts = {"posted": 0, "errors": 0, "settled": 0, "skipped": 0}
        for item in self.store.items("posting", "error"):
            if not was_sent(item):
                continue
            try:
                if self.poster.settle(item):
                    counts["settled"] += 1
            except (*TRANSIENT, *MALFORMED, TwinfieldError):
                pass  # still unknown: looked at again before anything is sent for it
        filters = {"min_create_date": self.config.since} if self.config.since else {}
        # Only the ids and numbers of the list: one order the client cannot read must not stop the others
        # (each is read in full, on its own, when it is posted). A failing list is the run's failure.
        path = "orders/" if self.config.source == "orders" else "invoices/"
        found = []
        for raw in self.shop.iter_collection(path, **filters):
            try:
                found.append(_reference(self.config.source, raw))
            except MALFORMED:
                continue  # no id: nothing can be recorded for it
        for kind, source_id, number in found:
            item = self.store.add_item(kind, source_id, number, _stamp(self.clock.now()))
            if item["state"] == "posted" or (item["state"] == "error" and not item["retry"]):
                counts["skipped"] += 1
                continue
            self._post_one(item)
            counts["posted" if self.store.item(kind, source_id)["state"] == "posted" else "errors"] += 1
        return counts

    def _post_one(self, item: dict) -> None:
        """Post one item; whatever goes wrong is this item's Errors entry, not the run's end."""
        try:
            self.poster.post(item)
        except (*TRANSIENT, *MALFORMED, TwinfieldError) as exc:
            now = self.store.item(item["kind"], item["source_id"]) or item
            if now["state"] == "posting" and was_sent(now):
                # Sent, answer unknown: stays 'posting', looked up at the next run.
                self.store.set_item(item["kind"], item["source_id"], _stamp(self.clock.now()), check_name=UNKNOWN,
                                    retry=1, reason=f"unknown whether Twinfield booked it ({type(exc).__name__}: "
                                                    f"{exc}); will look again at the next run")
                return
            transient = isinstance(exc, TRANSIENT)
            self.store.set_item(item["kind"], item["source_id"], _stamp(self.clock.now()), state="error",
                                check_name="shop" if isinstance(exc, (CCVShopError, *MALFORMED)) else "twinfield",
                                retry=int(transient), reason=f"{type(exc).__name__}: {exc}"
                                + ("; tried again at the next run" if transient else ""))

    def payments(self) -> dict[str, int]:
        with self.lock.hold(timeout=self.config.lock_timeout):
            return self.payment_runner.run()

    # -- the dashboard ---------------------------------------------------------------------------------------------

    def reporting(self) -> list[dict]:
        result = []
        for item in self.store.items("posted"):
            payment = self.store.payment(item["kind"], item["source_id"])
            result.append({"id": _id(item), "kind": item["kind"], "number": item["number"],
                           "invoicenumber": item["invoicenumber"], "customer": item["customer"],
                           "total": item["total"], "twinfield": {"kind": item["tw_kind"], "number": item["tw_number"]},
                           "payment": {"state": payment["state"], "memo_number": payment["memo_number"]}
                           if payment else None, "posted_at": item["updated_at"],
                           "notes": (item["detail"].get("sale") or {}).get("notes", [])})
        return result

    def errors(self) -> list[dict]:
        result = [{"id": _id(item), "kind": item["kind"], "number": item["number"], "check": item["check_name"],
                   "reason": item["reason"], "retry": bool(item["retry"]), "since": item["updated_at"]}
                  for item in self.store.items("error", "posting")
                  if item["state"] == "error" or item["check_name"] == UNKNOWN]
        for payment in self.store.payments():
            if payment["state"] == "error":
                item = self.store.item(payment["kind"], payment["source_id"]) or {}
                result.append({"id": f"payment-{payment['kind']}-{payment['source_id']}", "kind": "payment",
                               "number": item.get("number"), "check": "payment", "reason": payment["reason"],
                               "retry": False, "since": payment["updated_at"]})
        return result

    def error_detail(self, error_id: str) -> dict:
        entry = next((e for e in self.errors() if e["id"] == error_id), None)
        if entry is None:
            raise KeyError(f"no error {error_id!r} on the Errors list")
        kind, source_id = _parse_id(error_id)
        if kind == "payment":
            payment_kind, payment_id = _parse_id(error_id.removeprefix("payment-"))
            detail = self.store.payment(payment_kind, payment_id)["detail"]
            attempts = 1
        else:
            item = self.store.item(kind, source_id)
            detail, attempts = {"request": item["sent_request"], **item["detail"]}, item["attempts"]
        return {**entry, "messages": detail.get("messages", []), "request": detail.get("request"),
                "sale": detail.get("sale"), "attempts": attempts}

    def process_again(self, error_id: str, wait: bool = False) -> dict:
        with self.lock.hold(wait=wait, timeout=self.config.lock_timeout):
            self.poster.begin_run()
            return self._process_again(error_id)

    def _process_again(self, error_id: str) -> dict:
        # Only what the Errors list shows, read under the lock: a posted order or a matched payment is not
        # an error, and of two presses (two processes) the second finds it gone.
        if not any(e["id"] == error_id for e in self.errors()):
            raise KeyError(f"no error {error_id!r} on the Errors list")
        kind, source_id = _parse_id(error_id)
        if kind == "payment":
            payment_kind, payment_id = _parse_id(error_id.removeprefix("payment-"))
            item = self.store.item(payment_kind, payment_id)
            if item is None or not self.store.drop_payment_error(payment_kind, payment_id):
                raise KeyError(f"no error {error_id!r} on the Errors list")
            try:
                self.payment_runner.one(item, None)
            except (*TRANSIENT, TwinfieldError):
                pass  # nothing known changed: the next payment run goes on from the stored state
        else:
            item = self.store.item(kind, source_id)
            if item is None:
                raise KeyError(f"no error {error_id!r} on the Errors list")
            settled = False
            if was_sent(item):
                try:
                    settled = self.poster.settle(item)
                except (*TRANSIENT, *MALFORMED, TwinfieldError):
                    pass
            if not settled:
                self._post_one(self.store.item(kind, source_id))
        target = error_id.removeprefix("payment-")
        still = [e for e in self.errors() if e["id"] == error_id]
        if still:
            return still[0]
        posted = [e for e in self.reporting() if e["id"] == target]
        if posted:
            return posted[0]
        raise KeyError(f"{error_id} is neither posted nor on the Errors list (waiting for the next payment run)")


def _reference(source: str, raw: dict) -> tuple[str, int, str]:
    if source == "orders":
        return "order", int(raw["id"]), str(raw.get("ordernumber_full") or raw.get("ordernumber") or raw["id"])
    return "invoice", int(raw["id"]), str(raw.get("invoicenumber_full") or raw["id"])


def _id(item: dict) -> str:
    return f"{item['kind']}-{item['source_id']}"


def _parse_id(error_id: str) -> tuple[str, int]:
    kind, _, number = error_id.partition("-")
    if kind == "payment":
        return kind, 0
    if kind not in ("order", "invoice") or not number.isdigit():
        raise KeyError(f"not an item id: {error_id!r} (order-<id>, invoice-<id>, payment-order-<id>)")
    return kind, int(number)
