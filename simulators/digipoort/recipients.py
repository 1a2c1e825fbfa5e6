"""The institutions behind Digipoort: who receives a submission, decided by its ``berichtsoort``.

Digipoort is only the postman (SPEC §1): a VAT or ICP return goes on to the Belastingdienst, a filing
of annual accounts to the Kamer van Koophandel. Each recipient answers in its own time and by its own
rules, so QA can script "the Belastingdienst answers in 2 hours, KvK rejects the filing" separately.

[CHOSEN] The routing table and the delays are ours; Logius publishes which berichtsoorten exist, not
how long each recipient takes. The OINs are the public ones of the two bodies (Belastingdienst as in
the real aanleverResponse; KvK from the public OIN register). A berichtsoort no recipient claims goes
to ``default_recipient``, so a submitter of a berichtsoort we do not list still gets an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BELASTINGDIENST = "belastingdienst"
KVK = "kvk"


@dataclass
class Recipient:
    name: str
    oin: str
    berichtsoorten: list[str] = field(default_factory=list)
    answer_delay: str | None = None  # None: the simulator's answer_delay
    # The recipient's own check of what it receives (only the Belastingdienst checks VAT returns).
    checks_vat_returns: bool = False

    def as_public_dict(self) -> dict:
        return {"name": self.name, "oin": self.oin, "berichtsoorten": list(self.berichtsoorten),
                "answer_delay": self.answer_delay, "checks_vat_returns": self.checks_vat_returns}


def default_recipients() -> list[Recipient]:
    return [
        Recipient(BELASTINGDIENST, "00000002003214394002",
                  ["Omzetbelasting", "ICP", "Suppletie", "IHZ", "VPB"], checks_vat_returns=True),
        # [CHOSEN] KvK takes longer than the Belastingdienst's default 10 minutes.
        Recipient(KVK, "00000001003214345000", ["KvK-jaarverantwoording", "KvK-deponering"], answer_delay="1h"),
    ]


def route(recipients: list[Recipient], default_name: str, berichtsoort: str | None) -> Recipient:
    """The recipient of a berichtsoort; the default recipient when none claims it."""
    for recipient in recipients:
        if berichtsoort in recipient.berichtsoorten:
            return recipient
    return recipient_named(recipients, default_name)


def recipient_named(recipients: list[Recipient], name: str) -> Recipient:
    for recipient in recipients:
        if recipient.name == name:
            return recipient
    known = ", ".join(r.name for r in recipients) or "none"
    raise ValueError(f"no Digipoort recipient named {name!r}; known: {known}")
