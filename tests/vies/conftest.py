"""A running VIES simulator with the admin API, on free ports and a virtual clock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections

START = "2026-11-21T09:30:00Z"  # 10:30 in Brussels (CET, +01:00)
TIMEOUT = 10  # real seconds, for real I/O only
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "vies"
BASE = "/taxation_customs/vies"


def make_runtime(state_dir: Path, **vies: Any) -> Runtime:
    register_config_sections()
    config = config_from_dict({"state_dir": str(state_dir), "admin_port": 0, "vies": {"port": 0, **vies}})
    return Runtime(config, clock=VirtualClock(START), only=["vies"])


@dataclass
class Vies:
    """What a test needs: the service's URLs, the admin API, the runtime behind them."""

    runtime: Runtime

    @property
    def base(self) -> str:
        endpoint = self.runtime.endpoint("vies-soap")
        return f"http://{endpoint.host}:{endpoint.port}"

    def wsdl_url(self, service: str = "checkVatService") -> str:
        return f"{self.base}{BASE}/{service}.wsdl"

    def service_url(self, service: str = "checkVatService") -> str:
        return f"{self.base}{BASE}/services/{service}"

    @property
    def sim(self):
        return self.runtime.simulators["vies"]

    @property
    def model(self):
        return self.sim.model

    def post(self, body: bytes | str, content_type: str = "text/xml; charset=utf-8",
             service: str = "checkVatService", **headers: str) -> requests.Response:
        data = body.encode() if isinstance(body, str) else body
        return requests.post(self.service_url(service), data=data,
                             headers={"Content-Type": content_type, **headers}, timeout=TIMEOUT)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        base = self.runtime.endpoint("admin").url
        return requests.request(method, base + path.lstrip("/"), timeout=TIMEOUT, **kwargs)


@pytest.fixture(scope="module")
def vies_runtime(tmp_path_factory) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path_factory.mktemp("vies"))
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture
def vies(vies_runtime) -> Vies:
    """The module's simulator, back in its configured state (numbers, availability, rules, requests)."""
    vies_runtime.reset()
    return Vies(vies_runtime)


@pytest.fixture
def runtime_factory():
    """``make_runtime(state_dir, **vies_settings)``, for tests that start and stop their own."""
    return make_runtime


@pytest.fixture
def envelope():
    """``envelope(country, number, operation="checkVat", extra="")``: a request as thin clients write it."""
    return check_envelope


def check_envelope(country: str, number: str, operation: str = "checkVat", extra: str = "") -> str:
    return ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:urn="urn:ec.europa.eu:taxud:vies:services:checkVat:types"><soapenv:Header/><soapenv:Body>'
            f"<urn:{operation}><urn:countryCode>{country}</urn:countryCode>"
            f"<urn:vatNumber>{number}</urn:vatNumber>"
            f"{extra}</urn:{operation}></soapenv:Body></soapenv:Envelope>")
