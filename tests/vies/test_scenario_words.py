"""The VIES scenario words: failures explain themselves, mistyped words are refused at load time."""

from __future__ import annotations

import textwrap

import pytest

from simulators.scenario.catalogue import full_vocabulary
from simulators.scenario.loader import ScenarioError, load_scenario
from simulators.scenario.runner import bind_core, run_scenario


@pytest.fixture(scope="module")
def vocab():
    vocabulary = full_vocabulary()
    bind_core(vocabulary)
    return vocabulary


def run(tmp_path, vocab, text: str):
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text))
    return run_scenario(load_scenario(path, vocab), vocab)


def test_a_check_that_answers_otherwise_fails_saying_what_came(tmp_path, vocab):
    result = run(tmp_path, vocab, """
        name: expects a fault that does not come
        steps:
          - vies.check: {number: NL123456782B01, fault: MS_UNAVAILABLE}
    """)
    assert result.status == "failed"
    assert "check of NL123456782B01: expected the fault MS_UNAVAILABLE" in result.message
    assert "'valid': 'true'" in result.message


def test_a_wrong_name_is_shown(tmp_path, vocab):
    result = run(tmp_path, vocab, """
        name: expects another name
        steps:
          - vies.check: {number: NL123456782B01, name: "ACME*"}
    """)
    assert result.status == "failed" and "name 'KOPPELSIM TEST B.V.', expected 'ACME*'" in result.message


def test_an_answer_expected_where_a_fault_comes(tmp_path, vocab):
    result = run(tmp_path, vocab, """
        name: expects an answer
        given:
          vies: {unavailable: [NL]}
        steps:
          - vies.check: {number: NL123456782B01, valid: true}
    """)
    assert result.status == "failed" and "a fault MS_UNAVAILABLE, expected an answer" in result.message


def test_a_check_that_states_nothing_still_fails_on_a_fault(tmp_path, vocab):
    result = run(tmp_path, vocab, """
        name: a bare check
        given:
          vies: {unavailable: [NL]}
        steps:
          - vies.check: {number: NL123456782B01}
    """)
    assert result.status == "failed" and "a fault MS_UNAVAILABLE, expected an answer" in result.message


@pytest.mark.parametrize("expected, message", [
    ("[NL123456782B01]", "checked ['NL123456782B01', 'BE0403170701'], expected exactly ['NL123456782B01']"),
    ("{has: [DE*]}", "never checked ['DE*']"),
    ("{no: [BE*]}", "checked ['BE0403170701'], which must not be checked"),
    ("{count: 1}", "2 checks (['NL123456782B01', 'BE0403170701']), expected 1"),
])
def test_checked_failures(tmp_path, vocab, expected, message):
    result = run(tmp_path, vocab, f"""
        name: checked
        steps:
          - vies.check: {{number: NL123456782B01}}
          - vies.check: {{number: BE0403170701}}
        expect:
          vies.checked: {expected}
    """)
    assert result.status == "failed", result.message
    assert message in result.message


def test_a_post_expectation_that_does_not_hold(tmp_path, vocab):
    result = run(tmp_path, vocab, """
        name: post
        steps:
          - vies.post: {body: "<broken", http_status: 200, faultcode: "env:Server"}
    """)
    assert result.status == "failed"
    assert "HTTP 500, expected 200" in result.message and "faultcode 'env:Client'" in result.message


@pytest.mark.parametrize("text, message", [
    ("steps:\n  - vies.check: {numbr: NL1}\n", "numbr"),
    ("steps:\n  - vies.check: {number: NL1, fault: BUSY}\n", "fault"),
    ("given:\n  vies: {unavailable: [nl]}\n", "unavailable"),
    ("given:\n  vies: {rules: [{when: {}, fault: NOPE}]}\n", "fault"),
    ("given:\n  vies: {settings: {format_errors: maybe}}\n", "format_errors"),
])
def test_mistyped_words_are_refused_when_loading(tmp_path, vocab, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\n" + text)
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, vocab)
    assert "bad.yaml:" in str(refused.value) and message in str(refused.value)
