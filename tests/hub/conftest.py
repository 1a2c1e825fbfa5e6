"""A runtime with Digipoort and the hub on a virtual clock, the admin API served on a free port."""

from __future__ import annotations

import pytest

from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests


@pytest.fixture
def runtime(tmp_path):
    register_config_sections()
    settings = settings_for_tests()
    config = config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, "clock": "virtual",
                               **{name: settings[name] for name in ("mailbox", "digipoort", "hub")}})
    rt = Runtime(config, clock=VirtualClock("2026-11-20T08:00:00Z"), only=["mailbox", "digipoort", "hub"])
    rt.start(admin=True)
    yield rt
    rt.stop()


@pytest.fixture
def hub(runtime):
    return runtime.simulators["hub"].hub
