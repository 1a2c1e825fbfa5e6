"""A running Twinfield simulator with the admin API, on free ports and a virtual clock, and what tests need
around it: a logged-in real client, raw SOAP posts, the admin API. (Fixtures, not imports: with pytest's
importlib mode test modules cannot import from conftest.)"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from lxml import etree

from clients.twinfield import Tokens, TwinfieldClient, TwinfieldOAuth
from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections

START = "2026-11-20T08:00:00Z"
TIMEOUT = 10  # real seconds, for real I/O only
TNS = "http://www.twinfield.com/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
REDIRECT = "http://localhost/callback"
REFERENCE = Path("/work/shared/reference/twinfield")


def make_runtime(state_dir: Path, **twinfield: Any) -> Runtime:
    register_config_sections()
    config = config_from_dict({"state_dir": str(state_dir), "admin_port": 0, "twinfield": {"port": 0, **twinfield}})
    return Runtime(config, clock=VirtualClock(START), only=["twinfield"])


def envelope(body: str, token: str | None = None, company: str | None = "NLA000001", session: str | None = None,
             version: str = "1.1") -> bytes:
    ns = SOAP11 if version == "1.1" else "http://www.w3.org/2003/05/soap-envelope"
    header = ""
    if token:
        header += f"<AccessToken>{token}</AccessToken>"
    if session:
        header += f"<SessionID>{session}</SessionID>"
    if company:
        header += f"<CompanyCode>{company}</CompanyCode>"
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{ns}"><soap:Header>'
            f'<Header xmlns="{TNS}">{header}</Header></soap:Header><soap:Body>{body}</soap:Body>'
            f"</soap:Envelope>").encode()


def process_string(xml: str) -> str:
    from xml.sax.saxutils import escape

    return f'<ProcessXmlString xmlns="{TNS}"><xmlRequest>{escape(xml)}</xmlRequest></ProcessXmlString>'


@dataclass
class TW:
    """The Twinfield simulator as a test sees it."""

    runtime: Runtime

    @property
    def sim(self):
        return self.runtime.simulators["twinfield"]

    @property
    def model(self):
        return self.sim.model

    @property
    def clock(self) -> VirtualClock:
        return self.runtime.clock  # type: ignore[return-value]

    @property
    def base(self) -> str:
        return self.sim.base_url

    def advance(self, delta: str) -> None:
        self.runtime.scheduler.advance(delta)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.runtime.endpoint("admin").url + path.lstrip("/"), timeout=TIMEOUT,
                                **kwargs)

    def oauth(self, client_id: str = "koppelsim", secret: str = "koppelsim-secret") -> TwinfieldOAuth:
        return TwinfieldOAuth(self.base, client_id, secret, REDIRECT, self.clock, timeout=TIMEOUT)

    def login(self, user: str = "koppeling", password: str | None = None, organisation: str = "KOPPELSIM",
              **kwargs: Any) -> Tokens:
        password = password or self.model.directory.user_password(organisation, user)
        return self.oauth().login(organisation, user, password, **kwargs)

    def client(self, user: str = "koppeling", office: str = "NLA000001", **kwargs: Any) -> TwinfieldClient:
        oauth = self.oauth()
        tokens = oauth.login("KOPPELSIM", user, self.model.directory.user_password("KOPPELSIM", user))
        return TwinfieldClient(oauth, tokens, self.clock, sleep=lambda s: self.advance(f"{s}s"), office=office,
                               timeout=TIMEOUT, **kwargs)

    def token(self, user: str = "koppeling") -> str:
        return self.login(user).access_token

    def post(self, service: str, body: bytes, soap_action: str | None = None,
             content_type: str = "text/xml; charset=utf-8") -> requests.Response:
        headers = {"Content-Type": content_type}
        if soap_action is not None:
            headers["SOAPAction"] = soap_action
        return requests.post(f"{self.base}/webservices/{service}.asmx", data=body, headers=headers, timeout=TIMEOUT)

    def process(self, xml: str, token: str | None = None, company: str | None = "NLA000001") -> etree._Element:
        """ProcessXmlString over raw HTTP; returns the inner answer document."""
        response = self.post("processxml", envelope(process_string(xml), token or self.token(), company))
        assert response.status_code == 200, response.text
        result = etree.fromstring(response.content).find(f".//{{{TNS}}}ProcessXmlStringResult")
        return etree.fromstring(result.text.encode())

    def bookings(self, **filters: str) -> list[dict]:
        return self.model.bookings(**filters)


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path_factory.mktemp("twinfield"))
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture
def tw(running: Runtime) -> TW:
    running.reset()  # also ends the settings a test made with sim.configure(...)
    return TW(running)


@pytest.fixture
def runtime_factory():
    """``make_runtime(state_dir, **twinfield_settings)`` for tests that start and stop their own."""
    return make_runtime


@pytest.fixture
def soap():
    """Envelope builders: ``soap.envelope(body, token, company)``, ``soap.process_string(xml)``."""
    class _Soap:
        pass

    helper = _Soap()
    helper.envelope = envelope
    helper.process_string = process_string
    helper.TNS = TNS
    helper.SOAP11 = SOAP11
    return helper


@pytest.fixture
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"the public reference material is not here ({REFERENCE}): the replay compares against it")
    return REFERENCE


def sales(invoicenumber: str = "5869", customer: str = "4000", lines: str | None = None, office: str = "NLA000001",
          destiny: str = "temporary", attrs: str = "") -> str:
    """A sales booking's XML: total 121.00 on the customer, one detail of 100.00 at VH, unless ``lines``."""
    lines = lines or (f'<line type="total" id="1"><dim1>1300</dim1><dim2>{customer}</dim2><debitcredit>debit'
                      f"</debitcredit><value>121.00</value><description>{invoicenumber}</description></line>"
                      '<line type="detail" id="2"><dim1>8000</dim1><debitcredit>credit</debitcredit>'
                      "<value>100.00</value><vatcode>VH</vatcode><description>Product</description></line>")
    return (f'<transaction destiny="{destiny}" {attrs}><header><office>{office}</office><code>VRK</code>'
            f"<date>20261120</date><invoicenumber>{invoicenumber}</invoicenumber><currency>EUR</currency>"
            f"</header><lines>{lines}</lines></transaction>")


@pytest.fixture
def sales_xml():
    return sales


@pytest.fixture
def customer(tw: TW) -> str:
    """Customer 4000 in NLA000001 (and NLA000002)."""
    from simulators.twinfield.config import Dimension

    tw.model.put_dimension(Dimension("DEB", "4000", "Jan Jansen", email="jan@example.com"))
    return "4000"


def messages(root: etree._Element) -> list[str]:
    return [part for el in root.iter() if el.get("msg") for part in el.get("msg").split("//")]


@pytest.fixture
def msgs():
    return messages


def redirect_param(location: str, name: str) -> str | None:
    match = re.search(rf"[?&]{name}=([^&]+)", location)
    return match.group(1) if match else None


@pytest.fixture
def param():
    return redirect_param
