"""CCV Shop, Twinfield and VIES simulators on free ports and a virtual clock, and a koppeling against them.

The koppeling is the real one (``clients.koppeling``) talking over real sockets; only its configuration
points at the simulators. (Fixtures, not imports: with pytest's importlib mode tests cannot import conftest.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from clients.koppeling import Koppeling, config_from_dict
from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict as sim_config
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

START = "2026-11-20T08:00:00Z"
SIMS = ["vies", "ccvshop", "twinfield"]


def make_runtime(state_dir: Path) -> Runtime:
    register_config_sections()
    tests = settings_for_tests()
    config = sim_config({"state_dir": str(state_dir), "admin_port": 0, "clock": "virtual",
                         **{name: tests[name] for name in SIMS}})
    return Runtime(config, clock=VirtualClock(START), only=SIMS)


def koppeling_settings(runtime: Runtime, **overrides: Any) -> dict:
    """The koppeling's configuration pointing at this runtime's simulators."""
    shop = runtime.simulators["ccvshop"]
    endpoint = runtime.endpoint("ccvshop-http")
    vies = runtime.endpoint("vies-soap")
    return {"office": "NLA000001",
            "twinfield": {"login_url": runtime.simulators["twinfield"].base_url, "password": "koppeling-secret"},
            "shop": {"api_root": f"http://{endpoint.host}:{endpoint.port}", "public_key": shop.config.public_key,
                     "secret_key": shop.config.secret_key},
            "vies_url": f"http://{vies.host}:{vies.port}", "twinfield_timeout": 10, "vies_timeout": 10,
            **overrides}


@dataclass
class World:
    runtime: Runtime
    workdir: Path

    @property
    def shop(self):
        return self.runtime.simulators["ccvshop"].model

    @property
    def tw(self):
        return self.runtime.simulators["twinfield"].model

    @property
    def clock(self) -> VirtualClock:
        return self.runtime.clock  # type: ignore[return-value]

    def advance(self, delta: str | float) -> None:
        self.runtime.scheduler.advance(delta if isinstance(delta, str) else timedelta(seconds=delta))

    def order(self, **options: Any) -> dict:
        options.setdefault("create_date", self.clock.now().isoformat())
        return self.shop.create_order(options, notify=False)

    def settings(self, **overrides: Any) -> dict:
        return koppeling_settings(self.runtime, **overrides)

    def koppeling(self, state: str = "koppeling.db", **overrides: Any) -> Koppeling:
        config = config_from_dict(self.settings(**overrides))
        return Koppeling.open(config, self.workdir / state, self.clock, sleep=self.advance,
                              crash=lambda point: None)

    def bookings(self, **filters: str) -> list[dict]:
        return self.tw.bookings(**filters)


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path_factory.mktemp("koppeling-sims"))
    runtime.start(admin=False)
    yield runtime
    runtime.stop()


@pytest.fixture
def world(running: Runtime, tmp_path: Path) -> Iterator[World]:
    running.reset()
    yield World(running, tmp_path)
