"""Fault rules: when an event looks like this, do that — with a lifetime, in the order added, refused
when malformed."""

from __future__ import annotations

import pytest

from simulators.core.errors import BadRequest, NotFound
from simulators.core.rules import Rules
from simulators.core.store import Store


def demo_validator(rule: dict) -> None:
    """A stand-in simulator's vocabulary: ``error: {code}`` or ``ftp: {reply}``."""
    action = next(k for k in rule if k not in ("when", "name"))
    if action not in ("error", "ftp"):
        raise ValueError(f"unknown action {action!r}; known: error, ftp")
    if not isinstance(rule[action], dict):
        raise ValueError(f"'{action}' must be an object")
    if action == "error" and not str(rule["error"].get("code", "")).startswith("ALS"):
        raise ValueError(f"error.code must start with ALS, got {rule['error'].get('code')!r}")


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path)
    yield store
    store.close()


@pytest.fixture
def rules(store) -> Rules:
    rules = Rules(store)
    rules.register("demo", demo_validator)
    rules.register("other", demo_validator)
    return rules


def test_add_returns_the_stored_rule_with_its_lifetime(rules):
    rule = rules.add("demo", {"when": {"berichtsoort": "ICP"}, "error": {"code": "ALS140"}, "times": 2})
    assert rule == {"id": rule["id"], "sim": "demo", "when": {"berichtsoort": "ICP"},
                    "error": {"code": "ALS140"}, "action": "error", "times": 2, "hits": 0, "remaining": 2}
    assert rules.get(rule["id"]) == rule


def test_a_rule_without_when_matches_everything(rules):
    rule = rules.add("demo", {"error": {"code": "ALS100"}})
    assert rule["when"] == {} and rule["times"] is None and rule["remaining"] is None
    assert rules.take("demo", {"anything": 1}, ["error"])["id"] == rule["id"]


def test_list_is_in_the_order_added_and_filters_by_sim(rules):
    a = rules.add("demo", {"error": {"code": "ALS100"}})
    b = rules.add("other", {"ftp": {"reply": "421 bye"}})
    c = rules.add("demo", {"ftp": {"reply": "550 no"}})
    assert [r["id"] for r in rules.list()] == [a["id"], b["id"], c["id"]]
    assert [r["id"] for r in rules.list("demo")] == [a["id"], c["id"]]
    assert [r["id"] for r in rules.list("other")] == [b["id"]]
    assert rules.list("nobody") == []


def test_remove_and_get_unknown(rules):
    rule = rules.add("demo", {"error": {"code": "ALS100"}})
    rules.remove(rule["id"])
    assert rules.list() == []
    with pytest.raises(NotFound, match=f"no rule with id {rule['id']}"):
        rules.get(rule["id"])
    with pytest.raises(NotFound, match=f"no rule with id {rule['id']}"):
        rules.remove(rule["id"])


def test_clear_all_or_one_sim(rules):
    rules.add("demo", {"error": {"code": "ALS100"}})
    keep = rules.add("other", {"error": {"code": "ALS100"}})
    rules.clear("demo")
    assert [r["id"] for r in rules.list()] == [keep["id"]]
    rules.clear()
    assert rules.list() == []


def test_a_once_rule_fires_once(rules):
    rule = rules.add("demo", {"when": {"cmd": "STOR"}, "ftp": {"reply": "451 oops"}, "times": 1})
    hit = rules.take("demo", {"cmd": "STOR"}, ["ftp"])
    assert hit["id"] == rule["id"] and hit["hits"] == 1 and hit["ftp"] == {"reply": "451 oops"}
    assert rules.take("demo", {"cmd": "STOR"}, ["ftp"]) is None
    stored = rules.get(rule["id"])
    assert stored["hits"] == 1 and stored["remaining"] == 0


def test_an_n_times_rule_fires_n_times(rules):
    rules.add("demo", {"when": {"cmd": "STOR"}, "ftp": {"reply": "451 oops"}, "times": 3})
    results = [rules.take("demo", {"cmd": "STOR"}, ["ftp"]) for _ in range(5)]
    assert [r is not None for r in results] == [True, True, True, False, False]
    assert rules.list()[0]["hits"] == 3 and rules.list()[0]["remaining"] == 0


def test_take_reports_hits_and_remaining_consistently(rules):
    rules.add("demo", {"ftp": {"reply": "451 oops"}, "times": 3})
    hit = rules.take("demo", {}, ["ftp"])
    assert (hit["hits"], hit["remaining"]) == (1, 2)


def test_a_permanent_rule_keeps_firing(rules):
    rule = rules.add("demo", {"when": {"cmd": "STOR"}, "ftp": {"reply": "451 oops"}})
    for _ in range(10):
        assert rules.take("demo", {"cmd": "STOR"}, ["ftp"])["id"] == rule["id"]
    assert rules.get(rule["id"])["hits"] == 10 and rules.get(rule["id"])["remaining"] is None


def test_take_only_counts_matching_events(rules):
    rule = rules.add("demo", {"when": {"cmd": "STOR", "name": "*.xml"}, "ftp": {"reply": "451 oops"},
                              "times": 1})
    assert rules.take("demo", {"cmd": "STOR", "name": "a.txt"}, ["ftp"]) is None
    assert rules.take("demo", {"cmd": "RETR", "name": "a.xml"}, ["ftp"]) is None
    assert rules.take("other", {"cmd": "STOR", "name": "a.xml"}, ["ftp"]) is None  # another sim's events
    assert rules.take("demo", {"cmd": "STOR", "name": "a.xml"}, ["error"]) is None  # another action asked
    assert rules.get(rule["id"])["hits"] == 0
    assert rules.take("demo", {"cmd": "STOR", "name": "a.xml"}, ["ftp"])["id"] == rule["id"]


def test_the_first_added_matching_rule_wins_then_the_next_when_used_up(rules):
    first = rules.add("demo", {"when": {"cmd": "STOR"}, "ftp": {"reply": "451 first"}, "times": 1})
    second = rules.add("demo", {"when": {"cmd": "*"}, "ftp": {"reply": "452 second"}})
    assert rules.take("demo", {"cmd": "STOR"}, ["ftp"])["id"] == first["id"]
    assert rules.take("demo", {"cmd": "STOR"}, ["ftp"])["id"] == second["id"]
    assert rules.take("demo", {"cmd": "RETR"}, ["ftp"])["id"] == second["id"]


def test_take_with_several_actions_returns_the_earliest_rule_among_them(rules):
    ftp = rules.add("demo", {"ftp": {"reply": "421 bye"}})
    rules.add("demo", {"error": {"code": "ALS100"}})
    assert rules.take("demo", {}, ["error", "ftp"])["id"] == ftp["id"]
    assert rules.take("demo", {}, ["error"])["action"] == "error"


def test_has_action_fast_path_follows_add_remove_and_clear(rules):
    assert not rules.has_action("demo", "ftp")
    a = rules.add("demo", {"ftp": {"reply": "421 bye"}})
    assert rules.has_action("demo", "ftp")
    assert not rules.has_action("demo", "error") and not rules.has_action("other", "ftp")
    b = rules.add("demo", {"ftp": {"reply": "550 no"}})
    rules.remove(a["id"])
    assert rules.has_action("demo", "ftp")  # b still there
    rules.remove(b["id"])
    assert not rules.has_action("demo", "ftp")
    rules.add("demo", {"error": {"code": "ALS100"}})
    rules.add("other", {"ftp": {"reply": "421 bye"}})
    rules.clear("demo")
    assert not rules.has_action("demo", "error") and rules.has_action("other", "ftp")
    rules.clear()
    assert not rules.has_action("other", "ftp")


def test_rules_survive_a_restart(tmp_path):
    store = Store(tmp_path)
    before = Rules(store)
    before.register("demo", demo_validator)
    rule = before.add("demo", {"when": {"cmd": "STOR"}, "ftp": {"reply": "451 oops"}, "times": 2})
    before.take("demo", {"cmd": "STOR"}, ["ftp"])
    store.close()
    store2 = Store(tmp_path)
    try:
        after = Rules(store2)
        assert after.has_action("demo", "ftp")  # the fast path is rebuilt from the database
        assert after.get(rule["id"])["hits"] == 1
        assert after.take("demo", {"cmd": "STOR"}, ["ftp"])["hits"] == 2
        assert after.take("demo", {"cmd": "STOR"}, ["ftp"]) is None
    finally:
        store2.close()


# -- refusals -------------------------------------------------------------------------------------------


def test_unknown_simulator_is_refused_naming_the_known_ones(rules):
    with pytest.raises(BadRequest, match=r"unknown simulator 'nope' for a rule; known: \['demo', 'other'\]"):
        rules.add("nope", {"error": {"code": "ALS100"}})


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"when": {}}, "exactly one action besides 'when', got none"),
        ({}, "exactly one action besides 'when', got none"),
        ({"when": {}, "times": 1}, "exactly one action besides 'when', got none"),
        ({"error": {"code": "ALS100"}, "ftp": {"reply": "421 x"}},
         "exactly one action besides 'when', got ['error', 'ftp']"),
        ({"when": "STOR", "error": {"code": "ALS100"}}, "'when' must be an object"),
        ({"when": ["STOR"], "error": {"code": "ALS100"}}, "'when' must be an object"),
        ({"error": {"code": "ALS100"}, "times": 0}, "'times' must be a positive whole number"),
        ({"error": {"code": "ALS100"}, "times": -1}, "'times' must be a positive whole number"),
        ({"error": {"code": "ALS100"}, "times": "1"}, "'times' must be a positive whole number"),
        ({"error": {"code": "ALS100"}, "times": 1.5}, "'times' must be a positive whole number"),
        ({"error": {"code": "ALS100"}, "times": True}, "'times' must be a positive whole number"),
        ({"error": {"code": "XYZ"}}, "rule for demo: error.code must start with ALS, got 'XYZ'"),
        ({"explode": {}}, "rule for demo: unknown action 'explode'"),
        ({"error": "ALS100"}, "rule for demo: 'error' must be an object"),
    ],
)
def test_malformed_rules_are_refused_with_a_clear_message(rules, rule, message):
    with pytest.raises(BadRequest) as info:
        rules.add("demo", rule)
    assert message in info.value.message
    assert info.value.code == "bad_request" and info.value.http_status == 400
    assert rules.list() == []
    assert not rules.has_action("demo", "error")


def test_a_rule_that_is_not_a_mapping_is_refused(rules):
    with pytest.raises(BadRequest, match="must be an object"):
        rules.add("demo", ["error"])  # type: ignore[arg-type]


def test_the_rule_given_is_not_modified(rules):
    given = {"when": {"a": 1}, "error": {"code": "ALS100"}, "times": 1}
    rules.add("demo", given)
    assert given == {"when": {"a": 1}, "error": {"code": "ALS100"}, "times": 1}


def test_a_name_is_kept_and_is_not_an_action(rules):
    rule = rules.add("demo", {"name": "flaky upload", "error": {"code": "ALS100"}})
    assert rule["name"] == "flaky upload" and rule["action"] == "error"


def test_reserved_fields_in_the_body_cannot_override_the_real_ones(rules):
    with pytest.raises(BadRequest, match=r"\['hits', 'id', 'sim'\] are set by koppelsim"):
        rules.add("demo", {"error": {"code": "ALS100"}, "id": 999, "sim": "other", "hits": 5})
    assert rules.list() == []
