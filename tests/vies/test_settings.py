"""Settings on a running VIES simulator (a scenario's ``settings``, a test's): a checked copy of the
configuration that the model and the SOAP app read, refused with the setting's name, ended by a reset."""

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


def given(vocab, runtime, value: dict) -> None:
    """``given.vies`` applied as the runner applies it (a scenario file is not needed for that)."""
    run = SimpleNamespace(runtime=runtime, scenario=SimpleNamespace(path="inline.yaml"), state={},
                          cleanups=[])
    vocab.given_specs["vies"].handler(run, value)


def test_settings_run_on_a_copy_that_the_model_and_the_soap_app_read(vies, vocab, envelope):
    configured = vies.runtime.config.section("vies")
    assert vies.sim.config is configured
    given(vocab, vies.runtime, {"settings": {"fault_http_status": 500, "format_errors": "invalid_input"}})
    assert (configured.fault_http_status, configured.format_errors) == (200, "invalid")  # untouched
    config = vies.sim.config
    assert config is not configured and vies.model.config is config and vies.sim.app.config is config
    assert vies.post(envelope("IT", "00950501000")).status_code == 500  # INVALID_INPUT, as a 500
    vies.runtime.reset()
    assert vies.sim.config is configured and vies.model.config is configured
    assert vies.sim.app.config is configured
    answer = vies.post(envelope("IT", "00950501000"))
    assert answer.status_code == 200 and b"<ns2:valid>false</ns2:valid>" in answer.content


def test_a_timezone_setting_reaches_the_model(vies):
    vies.sim.configure(timezone="UTC")
    assert vies.model.check("NL", "123456782B01").requested_at.utcoffset().total_seconds() == 0
    vies.runtime.reset()
    assert vies.model.check("NL", "123456782B01").requested_at.utcoffset().total_seconds() == 3600


@pytest.mark.parametrize(("settings", "message"), [
    ({"fault_status": 500}, "given.vies.settings: unknown VIES setting 'fault_status'"),
    ({"fault_http_status": 404}, "given.vies.settings: fault_http_status must be 200 or 500, got 404"),
    ({"timezone": "Mars/Olympus"}, "given.vies.settings: timezone must be an IANA zone"),
    ({"numbers": []}, "'numbers' is seed data, not a setting: give it as given.vies.numbers"),
    ({"port": 1234}, "'port' is read only when the simulator starts"),
])
def test_a_setting_the_configuration_refuses_is_named(vies, vocab, settings, message):
    with pytest.raises(ValueError, match=message):
        given(vocab, vies.runtime, {"settings": {"strict_soap_action": True, **settings}})
    assert vies.sim.config is vies.runtime.config.section("vies")  # nothing half applied


def test_a_scenario_with_a_refused_setting_fails_naming_it(tmp_path, vocab):
    path = tmp_path / "status.yaml"
    path.write_text(textwrap.dedent("""
        name: an unknown setting
        given:
          vies:
            settings: {unknown_number: valid}
    """))
    with pytest.raises(Exception, match="unknown_number"):  # refused at load time, by the schema
        run_scenario(load_scenario(path, vocab), vocab)
