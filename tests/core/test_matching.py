"""One way to say "this looks like that": globs, any-of lists, nested dicts, numbers vs text."""

from __future__ import annotations

import pytest

from simulators.core.matching import closeness, difference, matches, value_matches

ENTRY = {
    "kind": "ftp.reply",
    "code": "530",
    "status": 530,
    "ratio": 1.5,
    "text": "Login incorrect.",
    "name": "vat-2026-10.xbrl.ok",
    "secure": True,
    "closed": False,
    "session": None,
    "meta": {"berichtsoort": "Omzetbelasting", "identity": {"type": "Fi", "nummer": "001000044B37"}},
    "tags": ["a", "b"],
}


@pytest.mark.parametrize(
    "pattern",
    [
        {},
        {"kind": "ftp.reply"},
        {"kind": "ftp.*"},
        {"kind": "*.reply"},
        {"code": "5*"},
        {"code": "5?0"},
        {"code": "[45]30"},
        {"name": "*.ok"},
        {"code": ["220", "530"]},
        {"code": ["2*", "5*"]},
        {"status": 530},
        {"status": "5*"},  # a glob is matched against a number's text
        {"code": 530},  # a number matches its text
        {"ratio": 1.5},
        {"ratio": "1.5"},
        {"status": 530.0},
        {"secure": True},
        {"closed": False},
        {"session": None},
        {"meta": {"berichtsoort": "Omzet*"}},
        {"meta": {"identity": {"type": "Fi"}}},
        {"meta": {}},
        {"kind": "ftp.reply", "code": "530", "meta": {"identity": {"nummer": "0010*"}}},
        {"code": [{"x": 1}, "530"]},
    ],
)
def test_matching_patterns(pattern):
    assert matches(pattern, ENTRY)
    assert difference(pattern, ENTRY) == []
    assert closeness(pattern, ENTRY) == len(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        {"kind": "FTP.REPLY"},  # case-sensitive
        {"kind": "ftp"},  # a glob must match the whole value
        {"code": "4*"},
        {"code": ["220", "221"]},
        {"code": []},  # any of nothing is nothing
        {"status": 531},
        {"code": 531},
        {"ratio": "1.50"},
        {"secure": 1},  # booleans only equal booleans
        {"closed": 0},
        {"status": True},
        {"missing": "*"},  # an absent field never matches, not even '*'
        {"missing": None},
        {"missing": ["a", "*"]},
        {"missing": {}},
        {"session": "*"},  # null is not text
        {"text": None},
        {"meta": {"berichtsoort": "ICP"}},
        {"meta": {"identity": {"type": "Bsn"}}},
        {"meta": {"nope": "x"}},
        {"kind": {"a": 1}},  # a dict pattern needs a dict
        {"kind": "ftp.reply", "code": "220"},  # every field must match
    ],
)
def test_non_matching_patterns(pattern):
    assert not matches(pattern, ENTRY)
    assert difference(pattern, ENTRY) != []
    assert closeness(pattern, ENTRY) < len(pattern)


def test_value_matches_on_its_own():
    assert value_matches("a*", "abc")
    assert not value_matches("a*", "cba")
    assert value_matches(3, 3)
    assert value_matches(3, "3")
    assert not value_matches("3", 4)
    assert value_matches(None, None)
    assert not value_matches(None, 0)


def test_difference_names_each_differing_field_with_expected_and_actual():
    pattern = {"kind": "ftp.reply", "code": "220", "user": "acme", "meta": {"berichtsoort": "ICP"}}
    reasons = difference(pattern, ENTRY)
    assert reasons == [
        "code: expected '220', got '530'",
        "user: expected 'acme', got absent",
        "meta: expected {'berichtsoort': 'ICP'}, got "
        "{'berichtsoort': 'Omzetbelasting', 'identity': {'type': 'Fi', 'nummer': '001000044B37'}}",
    ]


def test_difference_shows_numbers_and_booleans_as_they_are():
    assert difference({"status": 220, "secure": False}, ENTRY) == [
        "status: expected 220, got 530",
        "secure: expected False, got True",
    ]


def test_closeness_counts_satisfied_fields():
    pattern = {"kind": "ftp.reply", "code": "220", "text": "Login*", "user": "x"}
    assert closeness(pattern, ENTRY) == 2
    assert closeness({}, ENTRY) == 0
