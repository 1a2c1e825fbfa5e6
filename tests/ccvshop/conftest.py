"""A running CCV Shop simulator (with the admin API) on free ports and a virtual clock, reset per test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from clients.ccvshop import CCVShopClient
from clients.ccvshop.signing import hash_message, x_date
from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections

START = "2026-11-20T08:00:00Z"
TIMEOUT = 10  # real seconds, for real I/O only
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "ccvshop"


def make_runtime(state_dir: Path, **settings: Any) -> Runtime:
    register_config_sections()
    config = config_from_dict({"state_dir": str(state_dir), "admin_port": 0, "clock": "virtual",
                               "ccvshop": {"port": 0, "seed_orders": 0, **settings}})
    return Runtime(config, clock=VirtualClock(START), only=["ccvshop"])


@dataclass
class Shop:
    runtime: Runtime

    @property
    def sim(self):
        return self.runtime.simulators["ccvshop"]

    @property
    def model(self):
        return self.sim.model

    @property
    def config(self):
        return self.sim.config

    @property
    def root(self) -> str:
        endpoint = self.runtime.endpoint("ccvshop-http")
        return f"http://{endpoint.host}:{endpoint.port}"

    @property
    def admin(self) -> str:
        return self.runtime.endpoint("admin").url + "api/ccvshop/"

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def advance(self, delta: str | timedelta) -> None:
        self.runtime.scheduler.advance(delta)

    def client(self, **kwargs: Any) -> CCVShopClient:
        sleep = kwargs.pop("sleep", lambda seconds: self.advance(timedelta(seconds=seconds)))
        return CCVShopClient(self.root, self.config.public_key, self.config.secret_key, clock=self.runtime.clock,
                             sleep=sleep, timeout=TIMEOUT, **kwargs)

    def signed(self, method: str, uri: str, body: bytes = b"", date: str | None = None, secret: str | None = None,
               public: str | None = None, headers: dict | None = None) -> requests.Response:
        """A request signed by hand over exactly ``uri`` and ``body`` (sent as they are)."""
        public = public or self.config.public_key
        date = date or x_date(self.now())
        signature = hash_message(secret or self.config.secret_key, public, method, uri, body, date)
        all_headers = {"x-public": public, "x-date": date, "x-hash": signature, **(headers or {})}
        return requests.request(method, self.root + uri, data=body or None, headers=all_headers, timeout=TIMEOUT)

    def orders(self, count: int = 1, **options: Any) -> list[dict]:
        return [self.model.create_order(options, notify=False) for _ in range(count)]


@pytest.fixture(scope="module")
def shop_runtime(tmp_path_factory) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path_factory.mktemp("ccvshop"))
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture
def shop(shop_runtime: Runtime) -> Shop:
    shop_runtime.reset()  # also ends the settings a test made with sim.configure(...)
    return Shop(shop_runtime)


def reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"the real CCV Shop samples are not here ({path}); they live in ../shared/reference/ccvshop")
    return path
