"""What happens to a submission after transport: decided once, when the ``.ok`` is written.

Precedence: a rule set by a scenario, test or the admin API; then the Logius test-stub names in
``aanleverkenmerk``; then the recipient's own check (the superficial VAT-return check for
Omzetbelasting); otherwise the submission is accepted.

The stub names are real (Logius conformance environment, wus.core client); what each does in an FTP
simulator is [CHOSEN] from its name, as the stub document is not public (see README).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from ..core.clock import parse_duration
from .errors import ALS100, ALS400, FAULTS, HAPPY_DELIVERY, HAPPY_TRANSPORT, Fault
from .vat import check_vat_return

ACCEPTED = "accepted"
REJECTED = "rejected"
DELIVERY_FAILED = "delivery_failed"
TECHNICAL_PROBLEM = "technical_problem"
MAX_DELIVERY_ATTEMPTS = "max_delivery_attempts"
VALIDATION_FAILED = "validation_failed"
OUTCOMES = (ACCEPTED, REJECTED, DELIVERY_FAILED, TECHNICAL_PROBLEM, MAX_DELIVERY_ATTEMPTS, VALIDATION_FAILED)


def transport_statuses(outcome: str) -> tuple[int, ...]:
    """The statuses given at transport (with the .ok), before the answer moment.

    Delivered at once (400) when the recipient will answer; up to 405 when delivery is where it goes
    wrong; up to 200 when Digipoort's own validation will fail (311 follows).
    """
    if outcome in (ACCEPTED, REJECTED):
        return HAPPY_TRANSPORT + HAPPY_DELIVERY
    if outcome == VALIDATION_FAILED:
        return HAPPY_TRANSPORT + HAPPY_DELIVERY[:1]
    return HAPPY_TRANSPORT + HAPPY_DELIVERY[:-1]

# [CHOSEN] how long the "heavy load" stubs make things take.
HEAVY_LOAD_TRANSPORT_DELAY = "5m"
HEAVY_LOAD_EXTRA_ANSWER_DELAY = "1h"


@dataclass
class Plan:
    """The decided future of a transported submission (stored as JSON with it)."""

    outcome: str = ACCEPTED
    after_seconds: float = 600.0
    # (Class, Code, Description) for a recipient rejection, as in the Responsemessage.
    specifications: list[tuple[str, str, str]] = field(default_factory=list)
    reason: str = "default"  # why: "rule 3", "stub Afleverfout", "vat check", "default"
    status_view: str = "normal"  # "normal", "fault" (STS100), "overloaded" (503)
    recipient: str = "belastingdienst"  # the institution that answers (recipients.py)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Plan":
        plan = cls(**{k: v for k, v in data.items() if k != "specifications"})
        plan.specifications = [tuple(s) for s in data.get("specifications", [])]
        return plan


@dataclass(frozen=True)
class Stub:
    name: str
    transport_fault: Fault | None = None
    transport_delay: str | None = None
    outcome: str | None = None
    extra_answer_delay: str | None = None
    status_view: str = "normal"
    behaviour: str = ""


STUBS = {s.name: s for s in (
    Stub("Happyflow", outcome=ACCEPTED, behaviour="accepted: 105 100 110 200 301 301 405 400 500"),
    Stub("AanleverFault", transport_fault=ALS100, behaviour=".error with ALS100"),
    Stub("StatusInformatieFault", outcome=ACCEPTED, status_view="fault",
         behaviour="accepted; the status view answers STS100"),
    Stub("Afleverfout", outcome=DELIVERY_FAILED, behaviour="delivery fails: 405 410 (AFS400)"),
    Stub("Foutuitvragendepartij", outcome=REJECTED, behaviour="recipient rejects: 400 510 + foutmelding"),
    Stub("TechnischProbleemAfleveren", outcome=TECHNICAL_PROBLEM,
         behaviour="420, one retry later delivered and accepted"),
    Stub("MaximaalAantalAfleverpogingen", outcome=MAX_DELIVERY_ATTEMPTS,
         behaviour="420 repeated for 72 h, then AFS600"),
    Stub("ZwaarbelastAanleveren", transport_delay=HEAVY_LOAD_TRANSPORT_DELAY,
         behaviour=f".ok only after {HEAVY_LOAD_TRANSPORT_DELAY} (heavy load)"),
    Stub("OverbelastAanleveren", transport_fault=ALS400, behaviour=".error with ALS400 (overloaded)"),
    Stub("ZwaarbelastStatusInformatie", outcome=ACCEPTED, extra_answer_delay=HEAVY_LOAD_EXTRA_ANSWER_DELAY,
         behaviour=f"accepted, the answer {HEAVY_LOAD_EXTRA_ANSWER_DELAY} later than usual"),
    Stub("OverbelastStatusInformatie", outcome=ACCEPTED, status_view="overloaded",
         behaviour="accepted; the status view answers 503 (overloaded)"),
)}

STUB_REJECTION = ("F", "0999", "Foutmelding van de uitvragende partij (teststub Foutuitvragendepartij).")
DEFAULT_REJECTION = ("F", "0300", "Het bericht is afgekeurd door de uitvragende partij.")


def validate_answer_action(action: dict) -> None:
    """Refuse a malformed ``answer`` rule when it is set, with a message naming the field."""
    unknown = set(action) - {"outcome", "after", "code", "text", "class", "findings"}
    if unknown:
        raise ValueError(f"unknown field(s) in 'answer': {sorted(unknown)}; "
                         "known: outcome, after, code, text, class, findings")
    if "outcome" in action and action["outcome"] not in OUTCOMES:
        raise ValueError(f"answer.outcome must be one of {', '.join(OUTCOMES)}, got {action['outcome']!r}")
    if "after" in action:
        parse_duration(action["after"])
    for key in ("text", "class"):
        if key in action and not isinstance(action[key], str):
            raise ValueError(f"answer.{key} must be text, got {action[key]!r}")
    if "code" in action and (isinstance(action["code"], bool) or not isinstance(action["code"], (str, int))):
        raise ValueError(f"answer.code must be text such as \"0301\", got {action['code']!r}")
    findings = action.get("findings")
    if findings is not None:
        if not isinstance(findings, list) or not findings:
            raise ValueError("answer.findings must be a list of {code, text, class} objects")
        for index, finding in enumerate(findings):
            if not isinstance(finding, dict) or set(finding) - {"code", "text", "class"}:
                raise ValueError(f"answer.findings[{index}] must be an object with code, text and class")
            if not all(isinstance(finding.get(k, ""), (str, int)) for k in ("code", "text", "class")):
                raise ValueError(f"answer.findings[{index}]: code, text and class are text")


def validate_error_action(action: dict) -> None:
    code = action.get("code")
    if code not in FAULTS or not code.startswith("ALS"):
        known = sorted(c for c in FAULTS if c.startswith("ALS"))
        raise ValueError(f"error.code must be one of {', '.join(known)}, got {code!r}")
    unknown = set(action) - {"code", "text"}
    if unknown:
        raise ValueError(f"unknown field(s) in 'error': {sorted(unknown)}; known: code, text")


def plan_from_rule(answer: dict, default_after: float) -> Plan:
    after = parse_duration(answer["after"]).total_seconds() if "after" in answer else default_after
    plan = Plan(outcome=answer.get("outcome", ACCEPTED), after_seconds=after)
    if plan.outcome in (REJECTED, VALIDATION_FAILED):
        findings = answer.get("findings")
        if findings:
            plan.specifications = [(str(f.get("class", "F")), str(f.get("code", "0300")), str(f.get("text", "")))
                                   for f in findings]
        else:
            plan.specifications = [(answer.get("class", "F"), str(answer.get("code", DEFAULT_REJECTION[1])),
                                    answer.get("text", DEFAULT_REJECTION[2]))]
    return plan


def recipient_check(berichtsoort: str, payload: bytes, identity: str, today: date) -> list[tuple[str, str, str]]:
    """The recipient's own verdict: findings as Responsemessage specifications (empty = acceptable)."""
    if berichtsoort != "Omzetbelasting":
        return []
    return [("F", f.code, f.text) for f in check_vat_return(payload, identity=identity, today=today)]


def apply_stub(plan: Plan, stub: Stub) -> Plan:
    plan.reason = f"stub {stub.name}"
    plan.outcome = stub.outcome or plan.outcome
    plan.status_view = stub.status_view
    if stub.extra_answer_delay:
        plan.after_seconds += parse_duration(stub.extra_answer_delay).total_seconds()
    if plan.outcome == REJECTED:
        plan.specifications = [STUB_REJECTION]
    return plan
