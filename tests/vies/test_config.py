"""The ``vies:`` section of a koppelsim config, the default port plan, a replacement WSDL."""

from __future__ import annotations

import pytest
import requests

from simulators.core.config import SimConfig, config_from_dict
from simulators.core.errors import ConfigError
from simulators.core.runtime import SIMULATORS, register_config_sections, settings_for_tests, simulator_class
from simulators.vies.config import KnownNumber, ViesConfig

register_config_sections()


def test_defaults():
    config = ViesConfig()
    assert (config.port, config.format_errors, config.unknown_numbers, config.fault_http_status) == (
        8801, "invalid", "invalid", 200)
    assert config.timezone == "Europe/Brussels" and config.unavailable == []
    assert {n.number for n in config.numbers} >= {"NL123456782B01", "DE136695976"}


def test_the_default_port_follows_the_admin_api_and_shifts_with_the_offset():
    assert SimConfig(port_offset=100).port(ViesConfig().port) == 8901
    assert settings_for_tests()["vies"] == {"port": 0}


def test_every_simulator_has_its_own_default_port():
    ports = {"admin": SimConfig().admin_port}
    for name in SIMULATORS:
        port = getattr(simulator_class(name).config_class(), "port", None)
        if port is None:
            continue
        assert port not in ports.values(), f"{name} takes port {port}, already {ports}"
        ports[name] = port
    assert ports["vies"] == 8801


def test_a_yaml_section_is_read_and_checked():
    config = config_from_dict({"vies": {"port": 9901, "unavailable": ["de"],
                                        "numbers": [{"number": "nl123456782b01", "name": "X"}]}})
    section = config.section("vies")
    assert section.port == 9901 and section.unavailable == ["DE"]
    assert section.numbers == [KnownNumber("NL123456782B01", True, "X", None)]


@pytest.mark.parametrize("section, message", [
    ({"unavailable": ["GR"]}, "VIES calls Greece EL"),
    ({"numbers": [{"number": "US1234"}]}, "is not a VIES number"),
    ({"format_errors": "fault"}, "format_errors must be invalid or invalid_input"),
    ({"unknown_numbers": "maybe"}, "unknown_numbers must be invalid or valid"),
    ({"fault_http_status": 503}, "fault_http_status must be 200 or 500"),
    ({"timezone": "Mars/Olympus"}, "timezone must be an IANA zone"),
    ({"max_body_bytes": 0}, "max_body_bytes must be positive"),
    ({"prot": 1}, "vies.prot: unknown setting"),
])
def test_a_bad_setting_is_refused_naming_it(section, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"vies": section}, "koppelsim.yaml")


def test_a_replacement_wsdl_is_served_with_our_address(runtime_factory, tmp_path):
    official = tmp_path / "official.wsdl"
    official.write_text('<?xml version="1.0"?><definitions xmlns="http://schemas.xmlsoap.org/wsdl/" '
                        'xmlns:wsdlsoap="http://schemas.xmlsoap.org/wsdl/soap/">'
                        '<service name="checkVatService">'
                        '<port name="p"><wsdlsoap:address location="http://ec.europa.eu/x/checkVatService"/>'
                        "</port></service></definitions>")
    runtime = runtime_factory(tmp_path / "state", wsdl_path=str(official))
    runtime.start()
    try:
        endpoint = runtime.endpoint("vies-soap")
        served = requests.get(endpoint.url, timeout=10).text
        expected = f"http://{endpoint.host}:{endpoint.port}/taxation_customs/vies/services/checkVatService"
        assert f'location="{expected}"' in served
        assert "ec.europa.eu" not in served
    finally:
        runtime.stop()


def test_a_replacement_wsdl_with_a_doctype_stops_the_start(runtime_factory, tmp_path):
    hostile = tmp_path / "hostile.wsdl"
    hostile.write_text('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><definitions>&x;</definitions>')
    with pytest.raises(ConfigError, match="vies.wsdl_path: .*DOCTYPE"):
        runtime_factory(tmp_path / "state", wsdl_path=str(hostile))
    with pytest.raises(ConfigError, match="vies.wsdl_path"):
        runtime_factory(tmp_path / "state2", wsdl_path=str(tmp_path / "missing.wsdl"))


def test_a_restart_keeps_numbers_added_through_the_api(runtime_factory, tmp_path):
    first = runtime_factory(tmp_path)
    first.simulators["vies"].model.put_number(KnownNumber("FR40303265045", name="GARDÉ"))
    first.stop()
    second = runtime_factory(tmp_path)
    try:
        assert second.simulators["vies"].model.number("FR40303265045").name == "GARDÉ"
    finally:
        second.stop()
