"""The ``mailbox:`` section of a koppelsim config, and the mailbox's place among the simulators."""

from __future__ import annotations

import pytest

from simulators.core.config import config_from_dict
from simulators.core.errors import ConfigError
from simulators.core.runtime import SIMULATORS, register_config_sections, settings_for_tests
from simulators.mailbox.config import MailboxConfig

register_config_sections()


def test_defaults():
    config = MailboxConfig()
    assert (config.enabled, config.port, config.max_message_bytes, config.hostname) == (
        True, 2525, 25 * 1024 * 1024, "koppelsim.test")


def test_a_yaml_section_is_read_and_checked():
    config = config_from_dict({"mailbox": {"port": 2626, "hostname": "mail.acme.test"}})
    assert config.section("mailbox") == MailboxConfig(port=2626, hostname="mail.acme.test")
    with pytest.raises(ConfigError, match="mailbox.max_size: unknown setting"):
        config_from_dict({"mailbox": {"max_size": 10}}, "koppelsim.yaml")
    with pytest.raises(ConfigError, match="max_message_bytes must be a positive number"):
        config_from_dict({"mailbox": {"max_message_bytes": 0}})
    with pytest.raises(ConfigError, match="hostname must be a host name without spaces"):
        config_from_dict({"mailbox": {"hostname": "mail acme"}})
    with pytest.raises(ConfigError, match="port must be 0-65535"):
        config_from_dict({"mailbox": {"port": 70000}})


def test_registered_before_the_simulators_that_send_mail_and_on_a_free_port_in_tests():
    names = list(SIMULATORS)
    assert names.index("mailbox") < names.index("digipoort")  # started first: others mail to it
    assert settings_for_tests()["mailbox"] == {"port": 0}


def test_a_disabled_mailbox_is_not_started(tmp_path):
    from simulators.core.runtime import Runtime

    config = config_from_dict({"state_dir": str(tmp_path), "mailbox": {"enabled": False, "port": 0}})
    runtime = Runtime(config, only=["mailbox"])
    try:
        assert runtime.simulators == {}
    finally:
        runtime.stop()
