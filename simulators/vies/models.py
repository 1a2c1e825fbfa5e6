"""The VIES model: which VAT numbers the member states know, which member states answer, and what a
check of a number says. Nothing here knows about SOAP or HTTP: the protocol layer (``soap.py``) calls
``check`` and writes its result, or the ``ViesFault`` it raises, in the service's own shape.

Every check is recorded (``vies_requests``, newest last) and journaled as ``vies.check``.

The order of a check, production service:
1. the input: a member-state country code and a number of 2-12 letters/digits (the WSDL's pattern),
   else INVALID_INPUT;
2. the fault rules (``fault`` / ``answer``) of the scenario or the admin API;
3. the member state's availability (MS_UNAVAILABLE);
4. the registry of known numbers;
5. the member state's format and check digits (python-stdnum), then ``unknown_numbers``.
The test service answers its magic numbers instead of 3-5 (``errors.TEST_FAULTS``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from ..core.clock import format_instant
from ..core.errors import BadRequest, NotFound
from .config import COUNTRY_PATTERN, MEMBER_STATES, NUMBER_PATTERN, KnownNumber, ViesConfig, check_country
from .errors import (INVALID_INPUT, INVALID_REQUESTER_INFO, MS_UNAVAILABLE, SERVICE_UNAVAILABLE, TEST_FAULTS,
                     TEST_INVALID, TEST_VALID, ViesFault)

if TYPE_CHECKING:
    from ..core.runtime import Context

SIM = "vies"
PRODUCTION, TEST = "production", "test"
# What a rule's ``when`` can match for a check: the keys of the event in ``_rule``.
RULE_EVENT_FIELDS = frozenset({"service", "operation", "country", "number", "vat", "requester"})
UNSHARED = "---"  # what VIES answers for a name or address it cannot or may not give
# The test service's answer for its valid number 100, as public client tests record it
# (macabu/vies vies_test.go; KiboIT VIESClientTest).
TEST_NAME, TEST_ADDRESS = "John Doe", "123 Main St, Anytown, UK"
MATCH_VALID, MATCH_INVALID, MATCH_NOT_PROCESSED = "1", "2", "3"  # the test WSDL's matchCode values
TRADER_FIELDS = ("name", "street", "postcode", "city", "company_type")

SCHEMA = """
CREATE TABLE IF NOT EXISTS vies_numbers (
    number TEXT PRIMARY KEY,          -- with the country prefix: NL123456782B01
    valid INTEGER NOT NULL,
    name TEXT,                        -- NULL: not shared ("---")
    address TEXT,
    source TEXT NOT NULL              -- config | api
);
CREATE TABLE IF NOT EXISTS vies_unavailable (
    country TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS vies_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    service TEXT NOT NULL,            -- production | test
    operation TEXT NOT NULL,          -- checkVat | checkVatApprox
    country TEXT NOT NULL,
    number TEXT NOT NULL,
    requester TEXT,
    outcome TEXT NOT NULL,            -- valid | invalid | fault
    fault TEXT,
    request_identifier TEXT
);
"""


@dataclass
class CheckResult:
    """What a check answers: the fields of checkVatResponse (and checkVatApproxResponse)."""

    country: str
    number: str
    requested_at: datetime  # in the service's zone; the protocol writes its date and offset
    valid: bool
    name: str = UNSHARED
    address: str = UNSHARED
    request_identifier: str | None = None  # checkVatApprox with a requester only
    matches: dict[str, str] = field(default_factory=dict)  # trader field -> match code (approx)


@dataclass
class Trader:
    """What a checkVatApprox request says about the trader (each optional)."""

    name: str | None = None
    company_type: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None

    def given(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


class ViesModel:
    def __init__(self, ctx: "Context", config: ViesConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.store = ctx.store
        self.zone = ZoneInfo(config.timezone)
        self.store.migrate(SIM, SCHEMA)
        self.seed()

    def configure(self, config: ViesConfig) -> None:
        """Use new settings (``ViesSimulator.configure``)."""
        self.config = config
        self.zone = ZoneInfo(config.timezone)

    # -- the registry ------------------------------------------------------------------------------

    def seed(self) -> None:
        """The configured numbers and unavailable member states (API additions are kept)."""
        for known in self.config.numbers:
            self.put_number(known, source="config")
        with self.store.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO vies_unavailable (country) VALUES (?)",
                           [(c,) for c in self.config.unavailable])

    def put_number(self, known: KnownNumber, source: str = "api") -> dict:
        with self.store.transaction() as db:
            db.execute("INSERT INTO vies_numbers (number, valid, name, address, source) VALUES (?,?,?,?,?) "
                       "ON CONFLICT(number) DO UPDATE SET valid=excluded.valid, name=excluded.name, "
                       "address=excluded.address, source=excluded.source",
                       (known.number, int(known.valid), known.name, known.address, source))
        return _number_view(known, source)

    def number(self, vat: str) -> KnownNumber | None:
        rows = self.store.query("SELECT number, valid, name, address FROM vies_numbers WHERE number = ?",
                                (vat.replace(" ", "").upper(),))
        if not rows:
            return None
        number, valid, name, address = rows[0]
        return KnownNumber(number, bool(valid), name, address)

    def numbers(self) -> list[dict]:
        rows = self.store.query("SELECT number, valid, name, address, source FROM vies_numbers "
                                "ORDER BY number")
        return [_number_view(KnownNumber(n, bool(v), name, addr), source)
                for n, v, name, addr, source in rows]

    def delete_number(self, vat: str) -> None:
        with self.store.transaction() as db:
            if db.execute("DELETE FROM vies_numbers WHERE number = ?",
                          (vat.replace(" ", "").upper(),)).rowcount == 0:
                raise NotFound(f"no known VAT number {vat!r} (GET /api/vies/numbers lists them)")

    def countries(self) -> list[dict]:
        down = self.unavailable()
        return [{"country": c, "available": c not in down} for c in MEMBER_STATES]

    def unavailable(self) -> set[str]:
        return {row[0] for row in self.store.query("SELECT country FROM vies_unavailable")}

    def set_available(self, country: str, available: bool) -> dict:
        try:
            code = check_country(country)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        with self.store.transaction() as db:
            if available:
                db.execute("DELETE FROM vies_unavailable WHERE country = ?", (code,))
            else:
                db.execute("INSERT OR IGNORE INTO vies_unavailable (country) VALUES (?)", (code,))
        self.ctx.journal.record(SIM, "vies.availability", None, country=code, available=available)
        return {"country": code, "available": available}

    def requests(self, **filters: str) -> list[dict]:
        """Every check, oldest first; filter on any column (exact value)."""
        columns = ("service", "operation", "country", "number", "outcome", "fault")
        unknown = sorted(set(filters) - set(columns))
        if unknown:
            raise BadRequest(f"unknown filter {unknown[0]!r}; filters: {', '.join(columns)}")
        where = " AND ".join(f"{k} = ?" for k in filters)
        return self.store.query_dicts(
            "SELECT id, at, service, operation, country, number, requester, outcome, fault, "
            f"request_identifier FROM vies_requests {'WHERE ' + where if where else ''} ORDER BY id", tuple(filters.values()))

    def reset(self) -> None:
        with self.store.transaction() as db:
            for table in ("vies_numbers", "vies_unavailable", "vies_requests"):
                db.execute(f"DELETE FROM {table}")
        self.seed()

    # -- a check -----------------------------------------------------------------------------------

    def check(self, country: str, number: str, service: str = PRODUCTION, operation: str = "checkVat",
              requester: tuple[str, str] | None = None, trader: Trader | None = None) -> CheckResult:
        """Answer one check, or raise ``ViesFault``; either way the request is recorded."""
        requester_text = "".join(requester) if requester else None
        try:
            result = self._decide(country, number, service, operation, requester, trader)
        except ViesFault as fault:
            self._record(service, operation, country, number, requester_text, "fault", fault.code, None)
            raise
        self._record(service, operation, country, number, requester_text,
                     "valid" if result.valid else "invalid", None, result.request_identifier)
        return result

    def _decide(self, country: str, number: str, service: str, operation: str,
                requester: tuple[str, str] | None, trader: Trader | None) -> CheckResult:
        if not COUNTRY_PATTERN.fullmatch(country) or country not in MEMBER_STATES \
                or not NUMBER_PATTERN.fullmatch(number):
            raise ViesFault(INVALID_INPUT)
        if requester is not None:
            self._check_requester(*requester)
        answer = self._rule(service, operation, country, number, requester)
        if answer is None:
            answer = self._test_answer(number) if service == TEST \
                else self._production_answer(country, number)
        result = CheckResult(country, number, self.ctx.clock.now().astimezone(self.zone), **answer)
        if operation == "checkVatApprox":
            self._approximate(result, requester, trader or Trader())
        return result

    def _check_requester(self, country: str, number: str) -> None:
        # [CHOSEN] the requester must be a well-formed number of a member state (its check digits too).
        if country not in MEMBER_STATES or not NUMBER_PATTERN.fullmatch(number) \
                or not _passes_checks(country, number):
            raise ViesFault(INVALID_REQUESTER_INFO)

    def _rule(self, service: str, operation: str, country: str, number: str,
              requester: tuple[str, str] | None) -> dict[str, Any] | None:
        rules = self.ctx.rules
        if not (rules.has_action(SIM, "fault") or rules.has_action(SIM, "answer")):
            return None
        # The keys are RULE_EVENT_FIELDS, which a rule's ``when`` is held to.
        event = {"service": service, "operation": operation, "country": country, "number": number,
                 "vat": country + number, "requester": "".join(requester) if requester else None}
        rule = rules.take(SIM, event, ("fault", "answer"))
        if rule is None:
            return None
        self.ctx.journal.record(SIM, "rule.applied", None, rule=rule["id"], vat=country + number)
        if rule["action"] == "fault":
            raise ViesFault(fault_code(rule["fault"]))
        given = rule["answer"]
        valid = bool(given.get("valid", True))
        if not valid:
            return {"valid": False}
        return {"valid": True, "name": given.get("name") or UNSHARED,
                "address": given.get("address") or UNSHARED}

    def _production_answer(self, country: str, number: str) -> dict[str, Any]:
        if country in self.unavailable():
            raise ViesFault(MS_UNAVAILABLE)
        known = self.number(country + number)
        if known is not None:
            if not known.valid:
                return {"valid": False}
            return {"valid": True, "name": known.name or UNSHARED, "address": known.address or UNSHARED}
        if not _passes_checks(country, number):
            if self.config.format_errors == "invalid_input":
                raise ViesFault(INVALID_INPUT)
            return {"valid": False}
        return {"valid": self.config.unknown_numbers == "valid"}

    @staticmethod
    def _test_answer(number: str) -> dict[str, Any]:
        if number == TEST_VALID:
            return {"valid": True, "name": TEST_NAME, "address": TEST_ADDRESS}
        if number == TEST_INVALID:
            return {"valid": False}
        # "For all the other cases, the web service will respond with a SERVICE_UNAVAILABLE error."
        raise ViesFault(TEST_FAULTS.get(number, SERVICE_UNAVAILABLE))

    def _approximate(self, result: CheckResult, requester: tuple[str, str] | None, trader: Trader) -> None:
        """[CHOSEN] checkVatApprox: each trader field given is compared, case and spacing ignored, with
        what is known (the name with the name; street, postcode and city with the address): 1 = VALID,
        2 = INVALID, 3 = NOT_PROCESSED when nothing is known to compare with. A consultation number
        (requestIdentifier) is given when the request names its requester."""
        for key, value in trader.given().items():
            known = result.name if key == "name" else result.address
            if key == "company_type" or not result.valid or known == UNSHARED:
                result.matches[key] = MATCH_NOT_PROCESSED
            elif key == "name":
                result.matches[key] = MATCH_VALID if _squash(value) == _squash(known) else MATCH_INVALID
            else:
                result.matches[key] = MATCH_VALID if _squash(value) in _squash(known) else MATCH_INVALID
        if requester is not None:
            alphabet = string.ascii_uppercase + string.digits
            result.request_identifier = "".join(self.ctx.random.choice(alphabet) for _ in range(16))

    def _record(self, service: str, operation: str, country: str, number: str, requester: str | None,
                outcome: str, fault: str | None, request_identifier: str | None) -> None:
        at = format_instant(self.ctx.clock.now())
        with self.store.transaction() as db:
            db.execute("INSERT INTO vies_requests (at, service, operation, country, number, requester, "
                       "outcome, fault, request_identifier) VALUES (?,?,?,?,?,?,?,?,?)",
                       (at, service, operation, country, number, requester, outcome, fault,
                        request_identifier))
        self.ctx.journal.record(SIM, "vies.check", None, service=service, operation=operation,
                                country=country, number=number, vat=country + number, outcome=outcome,
                                fault=fault)


def fault_code(action: Any) -> str:
    """A rule's ``fault``: ``"MS_UNAVAILABLE"`` or ``{"code": "MS_UNAVAILABLE"}``."""
    return action["code"] if isinstance(action, dict) else str(action)


def _passes_checks(country: str, number: str) -> bool:
    """The member state's own format and check digits, as python-stdnum knows them."""
    try:
        eu_vat.validate(country + number)
    except ValidationError:
        return False
    return True


def _squash(text: str) -> str:
    return " ".join(text.casefold().split())


def _number_view(known: KnownNumber, source: str) -> dict:
    return {"number": known.number, "country": known.country, "valid": known.valid,
            "name": known.name, "address": known.address, "source": source}
