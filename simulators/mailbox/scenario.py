"""The mailbox's scenario words: one expectation, ``mailbox.messages``.

```yaml
expect:
  mailbox.messages:
    count: 1
    has:
      - {to: boekhouding@acme.test, subject: "Factuur *", attachments: ["*.pdf", "*.xml"]}
```

A pattern's fields use wildcards; ``to`` and ``attachments`` are lists on a message, and every name a
pattern gives must be among them (other recipients or attachments may be there too).
"""

from __future__ import annotations

from typing import Any

from ..core.matching import value_matches
from ..scenario.vocabulary import Vocabulary
from .models import SIM

_NAMES = {"type": "array", "items": {"type": "string"}, "minItems": 1}
_ONE_OR_MORE = {"anyOf": "expected a name or a list of names"}
MESSAGE_PATTERN = {
    "type": "object", "additionalProperties": False, "minProperties": 1, "x-noun": "message field",
    "properties": {
        "from": {"type": "string", "description": "the sender (envelope MAIL FROM), wildcards allowed"},
        "to": {"anyOf": [{"type": "string"}, _NAMES], "errorMessage": _ONE_OR_MORE,
               "description": "recipient(s) (envelope RCPT TO) that must all be among the message's"},
        "subject": {"type": "string", "description": "wildcards allowed: 'Factuur *'"},
        "attachments": {"anyOf": [{"type": "string"}, _NAMES], "errorMessage": _ONE_OR_MORE,
                        "description": "attachment file name(s) the message must have, e.g. ['*.pdf']"},
    },
}
MESSAGES_SCHEMA = {
    "type": "object", "additionalProperties": False, "minProperties": 1, "x-noun": "mailbox check",
    "properties": {
        "count": {"type": "integer", "minimum": 0, "description": "exactly this many messages were received"},
        "has": {"type": "array", "items": MESSAGE_PATTERN, "minItems": 1,
                "description": "for each pattern, at least one received message matches it"},
    },
}


def vocabulary() -> Vocabulary:
    vocab = Vocabulary()

    @vocab.expectation("mailbox.messages", MESSAGES_SCHEMA)
    def messages(run, expected: dict) -> None:
        """What the test mailbox received: how many messages, and messages like these."""
        views = run.runtime.simulators[SIM].model.views()
        if "count" in expected and len(views) != expected["count"]:
            listed = "; ".join(_describe(v) for v in views) or "none"
            raise AssertionError(f"the mailbox holds {len(views)} message(s), expected {expected['count']}: "
                                 f"{listed}")
        for pattern in expected.get("has", []):
            if not any(not message_difference(pattern, view) for view in views):
                raise AssertionError(explain_missing(pattern, views))

    return vocab


def message_difference(pattern: dict, view: dict) -> list[str]:
    """Why a message (as ``Mailbox.views`` gives it) does not match a pattern; empty when it does."""
    reasons = []
    for key, expected in pattern.items():
        actual = view.get(key)
        if isinstance(actual, list):
            wanted = expected if isinstance(expected, list) else [expected]
            missing = [w for w in wanted if not any(value_matches(w, item) for item in actual)]
            if missing:
                reasons.append(f"{key}: no {', '.join(map(repr, missing))} among {actual!r}")
        elif not value_matches(expected, actual):
            reasons.append(f"{key}: expected {expected!r}, got {actual!r}")
    return reasons


def explain_missing(pattern: dict, views: list[dict], show: int = 3) -> str:
    lines = [f"no message in the mailbox matches {pattern!r}"]
    if not views:
        lines.append("  (the mailbox is empty)")
    ranked = sorted(views, key=lambda v: len(message_difference(pattern, v)))[:show]
    for view in ranked:
        lines.append(f"  closest: {_describe(view)}")
        lines.extend(f"    - {reason}" for reason in message_difference(pattern, view))
    return "\n".join(lines)


def _describe(view: dict[str, Any]) -> str:
    attachments = f", attachments {view['attachments']}" if view["attachments"] else ""
    return f"#{view['id']} from {view['from']!r} to {view['to']!r}, subject {view['subject']!r}{attachments}"
