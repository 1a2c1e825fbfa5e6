"""One way to say "this looks like that", shared by rules, journal queries and scenario expectations.

A pattern is a dict of field → expected value:

* a string matches with shell-style wildcards (``"5*"``, ``"*.ok"``), case-sensitive;
* a list matches when any of its items matches;
* a dict matches a nested dict field by field;
* anything else (numbers, booleans, null) matches by equality, and numbers also match their text.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Mapping

_MISSING = object()


def value_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, list):
        return any(value_matches(item, actual) for item in expected)
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and matches(expected, actual)
    if actual is _MISSING:
        return False
    if isinstance(expected, str):
        if actual is None:
            return False
        return fnmatchcase(str(actual), expected)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float)) and isinstance(actual, str):
        return actual == str(expected)
    return expected == actual


def matches(pattern: Mapping[str, Any], subject: Mapping[str, Any]) -> bool:
    return all(value_matches(exp, subject.get(key, _MISSING)) for key, exp in pattern.items())


def difference(pattern: Mapping[str, Any], subject: Mapping[str, Any]) -> list[str]:
    """Human-readable reasons why ``subject`` does not match ``pattern`` (empty when it does)."""
    reasons = []
    for key, exp in pattern.items():
        actual = subject.get(key, _MISSING)
        if not value_matches(exp, actual):
            shown = "absent" if actual is _MISSING else repr(actual)
            reasons.append(f"{key}: expected {exp!r}, got {shown}")
    return reasons


def closeness(pattern: Mapping[str, Any], subject: Mapping[str, Any]) -> int:
    """How many fields of ``pattern`` ``subject`` satisfies — to show the nearest misses first."""
    return sum(1 for key, exp in pattern.items() if value_matches(exp, subject.get(key, _MISSING)))
