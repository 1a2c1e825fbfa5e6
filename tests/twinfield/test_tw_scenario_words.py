"""Twinfield scenario words: a setting given in a scenario reaches the model that was built before it."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import pytest

from simulators.scenario.catalogue import full_vocabulary
from simulators.scenario.loader import load_scenario
from simulators.scenario.runner import bind_core, run_scenario


@pytest.fixture(scope="module")
def vocab():
    vocabulary = full_vocabulary()
    bind_core(vocabulary)
    return vocabulary


def test_the_vat_tolerance_setting_takes_effect(tmp_path, vocab):
    """A vatvalue 0.04 off the computed 21.00 passes under the default tolerance (0.05) and is a blocking
    warning under 0.01; the setting used to be written to the config only, which the model had already read."""
    path = tmp_path / "tolerance.yaml"
    path.write_text(textwrap.dedent("""
        name: a stricter VAT tolerance refuses a 4 cent difference
        given:
          twinfield:
            settings: {vat_tolerance: "0.01"}
            customers: [{code: "4000", name: Jan Jansen}]
        steps:
          - twinfield.connect: {user: koppeling}
          - twinfield.book:
              journal: VRK
              invoicenumber: "T1"
              date: "20261120"
              fails: "*wijkt af van het berekende btw-bedrag*"
              lines:
                - {type: total, dim1: "1300", dim2: "4000", debitcredit: debit, value: "121.04"}
                - {type: detail, dim1: "8000", debitcredit: credit, value: "100.00", vatcode: VH, vatvalue: "21.04"}
        expect:
          twinfield.bookings: {count: 0}
    """))
    result = run_scenario(load_scenario(path, vocab), vocab)
    assert result.status == "passed", result.message


def given(vocab, runtime, value: dict) -> None:
    """``given.twinfield`` applied as the runner applies it (a scenario file is not needed for that)."""
    run = SimpleNamespace(runtime=runtime, scenario=SimpleNamespace(path="inline.yaml"), state={})
    vocab.given_specs["twinfield"].handler(run, value)


def test_settings_run_on_a_copy_of_the_configuration(tw, vocab):
    configured = tw.runtime.config.section("twinfield")
    assert tw.sim.config is configured
    given(vocab, tw.runtime, {"settings": {"token_lifetime": "2h", "rate_limit_per_ip": 7}})
    assert (configured.token_lifetime, configured.rate_limit_per_ip) == ("1h", 1000)  # untouched
    assert tw.sim.config is not configured and tw.model.auth.config is tw.sim.config
    assert tw.sim.limiter.limits["ip"] == 7
    tw.login()
    [token] = [t for t in tw.model.auth.tokens() if t["kind"] == "access"]
    assert token["expires_at"] == "2026-11-20T10:00:00.000Z"  # two hours, as the scenario said
    tw.runtime.reset()
    assert tw.sim.config is configured and tw.sim.limiter.limits["ip"] == 1000


def test_a_setting_the_configuration_refuses_is_named(tw, vocab):
    with pytest.raises(ValueError, match="unknown Twinfield setting 'token_life'"):
        given(vocab, tw.runtime, {"settings": {"token_life": "2h"}})
    with pytest.raises(ValueError, match="'users' is seed data, not a setting"):
        given(vocab, tw.runtime, {"settings": {"users": [{"user": "x", "password": "y"}]}})
    with pytest.raises(ValueError, match="given.twinfield.settings: .*not a duration"):
        given(vocab, tw.runtime, {"settings": {"token_lifetime": "an hour"}})
    assert tw.sim.config is tw.runtime.config.section("twinfield")  # nothing half applied


@pytest.mark.parametrize("rule", [{"when": {}, "delay": {"seconds": 5}},
                                  {"when": {}, "timeout": {"mode": "hold", "seconds": 5}}])
def test_a_rule_that_holds_its_answer_is_refused_in_a_scenario(tw, vocab, rule):
    with pytest.raises(ValueError, match="one actor"):
        given(vocab, tw.runtime, {"rules": [rule]})
    assert tw.runtime.rules.list("twinfield") == []
