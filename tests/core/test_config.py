"""Configuration: YAML into dataclasses, refusing unknown or mistyped settings by file and field."""

from __future__ import annotations

import re
import textwrap

import pytest

from simulators.core.config import SimConfig, TLSConfig, config_from_dict, load_config, sections
from simulators.core.errors import ConfigError
from simulators.core.runtime import register_config_sections

register_config_sections()

from simulators.digipoort.config import Account, DigipoortConfig  # noqa: E402


def write(tmp_path, text: str, name: str = "koppelsim.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_digipoort_section_is_registered():
    assert sections()["digipoort"] is DigipoortConfig


def test_defaults_without_a_file():
    config = load_config()
    assert isinstance(config, SimConfig)
    assert config.admin_port == 8800 and config.host == "127.0.0.1" and config.clock == "system"
    assert config.tls == TLSConfig()
    assert isinstance(config.simulators["digipoort"], DigipoortConfig)
    assert config.section("digipoort").accounts == [Account("acme", "acme-secret"), Account("hub", "hub-secret")]


def test_an_empty_file_gives_the_defaults(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert config.admin_port == 8800 and config.section("digipoort").port == 2121


def test_a_full_file_builds_nested_dataclasses(tmp_path):
    path = write(tmp_path, """
        state_dir: /tmp/ks
        admin_port: 9900
        port_offset: 100
        clock: virtual
        start: "2026-11-20T09:00:00+01:00"
        tls:
          cert: certs/server.pem
          key: certs/server.key
        digipoort:
          port: 3121
          plain_ftp: true
          login_failure_delay: 1
          answer_delay: 2h
          accounts:
            - user: acme
              password: s3cret
            - user: bob
              password: pw
              berichtsoorten: [ICP, Omzetbelasting]
              identities: ["001000044B37"]
    """)
    config = load_config(path)
    assert (config.state_dir, config.admin_port, config.port_offset, config.clock) == (
        "/tmp/ks", 9900, 100, "virtual")
    assert config.start == "2026-11-20T09:00:00+01:00"
    assert config.tls == TLSConfig(cert="certs/server.pem", key="certs/server.key", ca=None)
    dp = config.section("digipoort")
    assert isinstance(dp, DigipoortConfig)
    assert dp.port == 3121 and dp.plain_ftp is True and dp.answer_delay == "2h"
    assert dp.login_failure_delay == 1.0 and isinstance(dp.login_failure_delay, float)
    assert dp.accounts == [
        Account("acme", "s3cret"),
        Account("bob", "pw", berichtsoorten=["ICP", "Omzetbelasting"], identities=["001000044B37"]),
    ]
    assert all(isinstance(a, Account) for a in dp.accounts)


def test_an_unknown_setting_in_a_section_names_file_and_field(tmp_path):
    path = write(tmp_path, """
        digipoort:
          acounts: []
    """)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = info.value.message
    assert message.startswith(f"{path}: digipoort.acounts: unknown setting")
    assert "accounts" in message.split("known settings here:")[1]  # the near miss is listed
    assert info.value.code == "config_error"


def test_an_unknown_top_level_setting_names_file_and_field(tmp_path):
    path = write(tmp_path, "admin_prot: 1\n")
    pattern = rf"^{re.escape(str(path))}: admin_prot: unknown setting; known settings here: .*admin_port"
    with pytest.raises(ConfigError, match=pattern):
        load_config(path)


def test_an_unknown_setting_in_a_list_item_names_its_index(tmp_path):
    path = write(tmp_path, """
        digipoort:
          accounts:
            - {user: acme, password: x}
            - {user: bob, pasword: y}
    """)
    with pytest.raises(ConfigError, match=r"digipoort\.accounts\[1\]\.pasword: unknown setting"):
        load_config(path)


def test_a_missing_required_field_is_named(tmp_path):
    path = write(tmp_path, "digipoort: {accounts: [{user: acme}]}\n")
    with pytest.raises(ConfigError, match=r"digipoort\.accounts\[0\]: .*password"):
        load_config(path)


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"admin_port": "8800"}, "admin_port", "expected a whole number, got '8800'"),
        ({"admin_port": True}, "admin_port", "expected a whole number, got True"),
        ({"admin_port": 1.5}, "admin_port", "expected a whole number"),
        ({"host": None}, "host", "expected text, got NoneType"),
        ({"host": ["a"]}, "host", "expected text, got list"),
        ({"tls": "yes"}, "tls", "expected a mapping, got str"),
        ({"digipoort": {"plain_ftp": "yes"}}, "digipoort.plain_ftp", "expected true or false, got 'yes'"),
        ({"digipoort": {"login_failure_delay": "fast"}}, "digipoort.login_failure_delay",
         "expected a number"),
        ({"digipoort": {"accounts": {"user": "acme"}}}, "digipoort.accounts", "expected a list, got dict"),
        ({"digipoort": {"accounts": ["acme"]}}, "digipoort.accounts[0]", "expected a mapping, got str"),
        ({"digipoort": {"accounts": [{"user": "a", "password": "b", "identities": "x"}]}},
         "digipoort.accounts[0].identities", "expected a list, got str"),
        ({"digipoort": [1]}, "digipoort", "expected a mapping, got list"),
    ],
)
def test_wrong_types_are_refused_naming_the_field(data, field, says):
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, "settings.yaml")
    assert info.value.message.startswith(f"settings.yaml: {field}: ")
    assert says in info.value.message


def test_optional_settings_accept_null():
    config = config_from_dict({"start": None, "tls": {"cert": None},
                               "digipoort": {"passive_ports": None, "accounts": [
                                   {"user": "a", "password": "b", "berichtsoorten": None}]}})
    assert config.start is None and config.tls.cert is None
    assert config.section("digipoort").accounts[0].berichtsoorten is None


def test_overrides_apply_on_top_of_the_file_and_none_is_ignored(tmp_path):
    path = write(tmp_path, """
        admin_port: 9900
        state_dir: from-file
        digipoort: {port: 3121}
    """)
    config = load_config(path, overrides={"admin_port": 0, "state_dir": None, "port_offset": 5})
    assert config.admin_port == 0
    assert config.state_dir == "from-file"  # None means "not given on the command line"
    assert config.port_offset == 5
    assert config.section("digipoort").port == 3121


def test_overrides_are_checked_like_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"admin_port: expected a whole number"):
        load_config(write(tmp_path, ""), overrides={"admin_port": "x"})


def test_a_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(missing))}: cannot read the configuration file"):
        load_config(missing)


def test_invalid_yaml_is_named(tmp_path):
    path = write(tmp_path, "digipoort: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: not valid YAML"):
        load_config(path)


def test_a_top_level_that_is_not_a_mapping_is_refused(tmp_path):
    path = write(tmp_path, "- a\n- b\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: the top level must be a mapping"):
        load_config(path)


def test_errors_without_a_file_say_configuration():
    with pytest.raises(ConfigError, match=r"^configuration: nope: unknown setting"):
        config_from_dict({"nope": 1})


@pytest.mark.parametrize("value", [False, [], 0])
def test_a_section_that_is_not_a_mapping_is_refused_even_when_falsy(value):
    with pytest.raises(ConfigError, match=r"digipoort: expected a mapping"):
        config_from_dict({"digipoort": value})


def test_a_top_level_simulators_key_is_not_silently_ignored():
    with pytest.raises(ConfigError, match="simulators"):
        config_from_dict({"simulators": {"digipoort": {"port": 1}}})


def test_a_null_section_means_defaults():
    config = config_from_dict({"digipoort": None})
    assert config.section("digipoort") == DigipoortConfig()


@pytest.mark.parametrize(
    ("offset", "default", "expected"),
    [(0, 2121, 2121), (100, 2121, 2221), (100, 8800, 8900), (100, 0, 0), (0, 0, 0), (-1000, 2121, 1121)],
)
def test_port_offset_shifts_fixed_ports_but_0_stays_free(offset, default, expected):
    assert SimConfig(port_offset=offset).port(default) == expected


def test_section_builds_a_default_for_a_registered_name_on_first_use():
    config = SimConfig()
    assert config.simulators == {}
    first = config.section("digipoort")
    assert isinstance(first, DigipoortConfig)
    assert config.section("digipoort") is first
