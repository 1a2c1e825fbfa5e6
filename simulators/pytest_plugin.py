"""koppelsim as a pytest plugin (entry point ``pytest11``), usable from any project's test suite.

Fixtures:

* ``koppelsim_config`` (session) — extra configuration, a dict like a koppelsim YAML file. Override it
  in your ``conftest.py`` to add accounts or change delays.
* ``koppelsim_start`` (session) — the start instant of the virtual clock.
* ``make_koppelsim`` (session) — every simulator and the admin API on free ports, a virtual clock,
  state in a temporary directory.
* ``koppelsim`` (function) — the same runtime, reset to its configured state before each test.
* ``digipoort`` (function) — connection details of the Digipoort simulator plus its model.
* ``make_vies`` / ``vies``, ``make_ccvshop`` / ``ccvshop``, ``make_twinfield`` / ``twinfield`` — per HTTP
  simulator a session-scoped handle (URLs, keys, a ready OAuth client and user, the model) and a function-scoped
  one that resets just that simulator first. Clients sign and expire tokens on ``koppelsim.clock``: the
  virtual clock, not the wall clock (``ccvshop.client()`` is koppelsim's own client, already on it).

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
    from clients.ccvshop.client import CCVShopClient

    from .ccvshop.models import CCVShopModel
    from .core.runtime import Runtime
    from .digipoort.models import DigipoortModel
    from .twinfield.models import TwinfieldModel
    from .vies.models import ViesModel


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


# -- the HTTP simulators: VIES, CCV Shop, Twinfield -----------------------------------------------------------
# Each has a session-scoped ``make_<sim>`` (what the session's runtime serves) and a function-scoped ``<sim>``
# that puts only that simulator back to its configured state: a test of a shop integration pays for a CCV
# reset, not for every simulator's.


@dataclass
class ViesHandle:
    """The VIES simulator: where its WSDLs are, and the numbers it knows."""

    base_url: str
    wsdl_url: str  # checkVatService.wsdl, the production service's; what stdnum's check_vies takes
    test_wsdl_url: str  # checkVatTestService.wsdl: the EU test service's magic numbers (100 valid, 200 invalid, ...)
    model: "ViesModel"

    def add_number(self, number: str, valid: bool = True, name: str | None = None,
                   address: str | None = None) -> dict:
        """Make a member state know ``number`` (with its country prefix, e.g. ``NL123456782B01``)."""
        from .vies.config import KnownNumber

        return self.model.put_number(KnownNumber(number, valid=valid, name=name, address=address))

    def set_available(self, country: str, available: bool) -> dict:
        """A member state's service down (``MS_UNAVAILABLE``) or up again."""
        return self.model.set_available(country, available)

    def requests(self, **filters: str) -> list[dict]:
        """The checks VIES answered, oldest first."""
        return self.model.requests(**filters)

    def reset(self, runtime: "Runtime") -> None:
        runtime.reset("vies")


@dataclass
class CCVShopHandle:
    """The CCV Shop simulator: the API root and the key pair a client signs with."""

    base_url: str  # what CCVShopClient takes: http://127.0.0.1:<port>
    api_url: str  # the REST root: {base_url}/api/rest/v1/
    public_key: str
    secret_key: str
    clock: "Clock"
    model: "CCVShopModel"

    def client(self, **options: Any) -> "CCVShopClient":
        """koppelsim's own client, signing with the *simulated* time: the shop refuses an ``x-date`` more than
        five minutes from its own clock, and in tests that clock is the virtual one."""
        from clients.ccvshop.client import CCVShopClient

        return CCVShopClient(self.base_url, self.public_key, self.secret_key, clock=self.clock, **options)

    def create_order(self, options: dict | None = None, notify: bool = True) -> dict:
        """A generated order (``options`` as in ``given.ccvshop.orders``), as the API would show it."""
        return self.model.create_order(options, notify=notify)

    def orders(self, filters: dict | None = None) -> list[dict]:
        return self.model.orders(filters)

    def reset(self, runtime: "Runtime") -> None:
        runtime.reset("ccvshop")


@dataclass
class TwinfieldHandle:
    """The Twinfield simulator: login host and cluster in one, and a ready OAuth client and user."""

    base_url: str  # login host: {base_url}/auth/authentication/connect/authorize, /token, ...
    cluster_url: str  # what accesstokenvalidation's twf.clusterUrl says; the SOAP services live under it
    client_id: str
    client_secret: str
    redirect_uri: str  # registered for client_id (exact match)
    organisation: str
    user: str
    password: str
    office: str | None  # the user's first office (administratie)
    clock: "Clock"
    model: "TwinfieldModel"

    @property
    def wsdl_url(self) -> str:
        return f"{self.cluster_url}/webservices/processxml.asmx?wsdl"

    def access_token(self, user: str | None = None, organisation: str | None = None) -> str:
        """A fresh access token without the login page (valid for ``token_lifetime`` of simulated time)."""
        from .core.clock import format_instant

        client = self.model.directory.client(self.client_id)
        answer = self.model.auth.issue(client, organisation or self.organisation, user or self.user,
                                       "openid twf.user twf.organisation twf.organisationUser offline_access",
                                       format_instant(self.clock.now()))
        return answer["access_token"]

    def bookings(self, **filters: str) -> list[dict]:
        """Every booking line by line (filters: office, code, kind sales|memo, invoicenumber, location)."""
        return self.model.bookings(**filters)

    def customers(self, office: str | None = None) -> list[dict]:
        return self.model.dimensions(office or self.office, "DEB")

    def reset(self, runtime: "Runtime") -> None:
        runtime.reset("twinfield")


@pytest.fixture(scope="session")
def make_vies(make_koppelsim: Koppelsim) -> ViesHandle:
    sim = make_koppelsim.runtime.simulators["vies"]
    wsdl = make_koppelsim.endpoint("vies-soap").url
    base = wsdl.split("/taxation_customs/")[0]
    return ViesHandle(base, wsdl, wsdl.replace("checkVatService.wsdl", "checkVatTestService.wsdl"), sim.model)


@pytest.fixture
def vies(make_koppelsim: Koppelsim, make_vies: ViesHandle) -> ViesHandle:
    make_vies.reset(make_koppelsim.runtime)
    return make_vies


@pytest.fixture(scope="session")
def make_ccvshop(make_koppelsim: Koppelsim) -> CCVShopHandle:
    sim = make_koppelsim.runtime.simulators["ccvshop"]
    base = sim.listener.url.rstrip("/")
    return CCVShopHandle(base, make_koppelsim.endpoint("ccvshop-http").url, sim.config.public_key,
                         sim.config.secret_key, make_koppelsim.clock, sim.model)


@pytest.fixture
def ccvshop(make_koppelsim: Koppelsim, make_ccvshop: CCVShopHandle) -> CCVShopHandle:
    make_ccvshop.reset(make_koppelsim.runtime)
    return make_ccvshop


@pytest.fixture(scope="session")
def make_twinfield(make_koppelsim: Koppelsim) -> TwinfieldHandle:
    sim = make_koppelsim.runtime.simulators["twinfield"]
    if not sim.config.clients or not sim.config.users:
        raise pytest.UsageError("koppelsim_config: the twinfield section needs at least one client and one user")
    client, user = sim.config.clients[0], sim.config.users[0]  # the configured first ones: the test's own
    offices = sim.model.directory.user_offices(user.organisation, user.user)
    return TwinfieldHandle(sim.login_url, sim.cluster_url, client.client_id, client.client_secret,
                           client.redirect_uris[0] if client.redirect_uris else "", user.organisation,
                           user.user, user.password, offices[0] if offices else None, make_koppelsim.clock, sim.model)


@pytest.fixture
def twinfield(make_koppelsim: Koppelsim, make_twinfield: TwinfieldHandle) -> TwinfieldHandle:
    make_twinfield.reset(make_koppelsim.runtime)
    return make_twinfield
