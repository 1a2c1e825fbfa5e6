"""koppelsim as a pytest plugin (entry point ``pytest11``), usable from any project's test suite.

Fixtures:

* ``koppelsim_config`` (session) — extra configuration, a dict like a koppelsim YAML file. Override it
  in your ``conftest.py`` to add accounts or change delays.
* ``koppelsim_start`` (session) — the start instant of the virtual clock.
* ``make_koppelsim`` (session) — every simulator and the admin API on free ports, a virtual clock,
  state in a temporary directory.
* ``koppelsim`` (function) — the same runtime, reset to its configured state before each test.
* ``digipoort`` (function) — connection details of the Digipoort simulator plus its model.

Example::

    def test_my_vat_export(digipoort, koppelsim):
        my_client = MyClient(digipoort.host, digipoort.port, "acme", "acme-secret", cafile=digipoort.ca_file)
        my_client.send(...)
        koppelsim.advance("2h")
        assert digipoort.submissions()[0]["phase"] == "accepted"
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from .core.clock import Clock
    from .core.journal import Journal
    from .core.lifecycle import Endpoint
    from .core.rules import Rules
    from .core.runtime import Runtime
    from .digipoort.models import DigipoortModel


@dataclass
class Koppelsim:
    """A running koppelsim on a virtual clock, as a test sees it."""

    runtime: "Runtime"

    @property
    def clock(self) -> "Clock":
        return self.runtime.clock

    @property
    def journal(self) -> "Journal":
        return self.runtime.journal

    @property
    def rules(self) -> "Rules":
        return self.runtime.rules

    @property
    def admin_url(self) -> str:
        return self.runtime.endpoint("admin").url

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def advance(self, delta: str | timedelta) -> datetime:
        """Move the clock; every event due on the way fires, in order, instantly."""
        return self.runtime.scheduler.advance(delta)

    def endpoint(self, name: str) -> "Endpoint":
        return self.runtime.endpoint(name)


@dataclass
class DigipoortHandle:
    host: str
    port: int
    user: str
    password: str
    ca_file: str
    model: "DigipoortModel"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the simulator's certificate."""
        return ssl.create_default_context(cafile=self.ca_file)

    def submissions(self, **filters: str) -> list[dict]:
        return self.model.submissions(**filters)

    def files(self, folder: str, user: str | None = None) -> list[str]:
        return [f["name"] for f in self.model.files(user or self.user, folder)]


@pytest.fixture(scope="session")
def koppelsim_config() -> dict:
    return {}


@pytest.fixture(scope="session")
def koppelsim_start() -> str:
    return "2026-11-20T08:00:00Z"


@pytest.fixture(scope="session")
def make_koppelsim(tmp_path_factory: pytest.TempPathFactory, koppelsim_config: dict,
                   koppelsim_start: str) -> Iterator[Koppelsim]:
    from .core.clock import VirtualClock
    from .core.config import config_from_dict
    from .core.runtime import Runtime, register_config_sections, settings_for_tests

    register_config_sections()
    settings: dict[str, Any] = {"state_dir": str(tmp_path_factory.mktemp("koppelsim")), "admin_port": 0,
                                "clock": "virtual"}
    for name, defaults in settings_for_tests().items():
        settings[name] = {**defaults, **(koppelsim_config.get(name) or {})}
    settings.update({k: v for k, v in koppelsim_config.items() if k not in settings})
    runtime = Runtime(config_from_dict(settings, "koppelsim_config fixture"), clock=VirtualClock(koppelsim_start))
    runtime.start()
    yield Koppelsim(runtime)
    runtime.stop()


@pytest.fixture
def koppelsim(make_koppelsim: Koppelsim) -> Koppelsim:
    make_koppelsim.runtime.reset()
    return make_koppelsim


@pytest.fixture
def digipoort(koppelsim: Koppelsim) -> DigipoortHandle:
    sim = koppelsim.runtime.simulators["digipoort"]
    endpoint = koppelsim.endpoint("digipoort-ftp")
    account = sim.config.accounts[0]
    return DigipoortHandle(endpoint.host, endpoint.port, account.user, account.password,
                           str(koppelsim.runtime.tls.ca_cert), sim.model)
