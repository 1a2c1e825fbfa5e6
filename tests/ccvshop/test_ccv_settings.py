"""Settings on a running shop (a scenario's ``keys`` and ``settings``, a test's): a checked copy of the
configuration that every part reads, refused with the setting's name, ended by a reset."""

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
    """``given.ccvshop`` applied as the runner applies it (a scenario file is not needed for that)."""
    run = SimpleNamespace(runtime=runtime, scenario=SimpleNamespace(path="inline.yaml"), state={},
                          cleanups=[])
    vocab.given_specs["ccvshop"].handler(run, value)


def test_settings_run_on_a_copy_that_every_part_reads(shop, vocab):
    configured = shop.runtime.config.section("ccvshop")
    assert shop.sim.config is configured
    given(vocab, shop.runtime, {"settings": {"get_per_minute": 1, "webhook_retry_delays": ["2m"]},
                                "keys": {"public_key": "other-public"}})
    assert (configured.get_per_minute, configured.public_key) == (150, "ccv-public-koppelsim")  # untouched
    config = shop.sim.config
    assert config is not configured and config.public_key == "other-public"
    assert shop.model.config is config and shop.model.webhooks.config is config
    assert shop.sim.api.limiter.config is config
    assert shop.signed("GET", "/api/rest/v1/apps").status_code == 200  # signed with the new keys
    assert shop.signed("GET", "/api/rest/v1/apps").json()["code"] == "429.10"  # one a minute, as given
    shop.runtime.reset()
    assert shop.sim.config is configured and shop.sim.api.limiter.config is configured
    assert shop.model.webhooks.config is configured
    assert shop.signed("GET", "/api/rest/v1/apps").status_code == 200


@pytest.mark.parametrize(("value", "message"), [
    ({"settings": {"get_per_minut": 1}}, "unknown CCV Shop setting 'get_per_minut'"),
    ({"settings": {"default_page_size": 300}},
     "given.ccvshop: default_page_size may not exceed max_page_size"),
    ({"settings": {"max_clock_skew": "a while"}}, "given.ccvshop: .*a while"),
    ({"keys": {"public_key": "with space"}}, "given.ccvshop: public_key must be a non-empty word"),
    ({"settings": {"seed_orders": 3}}, "'seed_orders' is read only when the simulator starts"),
])
def test_a_setting_the_configuration_refuses_is_named(shop, vocab, value, message):
    with pytest.raises(ValueError, match=message):
        given(vocab, shop.runtime, {**value, "settings": {"get_per_minute": 1, **value.get("settings", {})}})
    assert shop.sim.config is shop.runtime.config.section("ccvshop")  # nothing half applied
    assert shop.sim.api.limiter.config is shop.sim.config


def test_a_scenario_with_a_refused_setting_fails_naming_it(tmp_path, vocab):
    path = tmp_path / "pages.yaml"
    path.write_text(textwrap.dedent("""
        name: a default page larger than the largest
        given:
          ccvshop:
            settings: {default_page_size: 30, max_page_size: 20}
    """))
    result = run_scenario(load_scenario(path, vocab), vocab)
    assert result.status != "passed"
    assert "default_page_size may not exceed max_page_size" in result.message
