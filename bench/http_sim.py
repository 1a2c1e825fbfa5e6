"""koppelsim as the HTTP benchmark starts it: ``koppelsim sim`` with only Twinfield and CCV Shop, on free ports,
and what the wrk scripts need from it (an access token, a customer, shop orders, signatures).

Settings that differ from the defaults, and why:

* the fair-use limits (Twinfield: 1000 credits a minute per IP, a booking costs 3; CCV: 150 GETs a minute)
  are raised out of reach: the benchmark measures how fast the simulators answer, and with the real limits
  nearly every answer would be a (fast) 429. The limiter still counts every request.
* Twinfield's concurrency limit per organisation is raised above wrk's connection count for the same reason.
* 25 generated shop orders: ``GET orders/`` answers its default page of 25 (about 25 KB of JSON).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import requests

from simulators.ccvshop.auth import Keys, digest, format_x_date

from .http_wrk import INVOICE_MARK
from .procs import HOST, BenchError, Child, free_port, http_json, spawn_sim

SHOP_ORDERS = 25
OFFICE, CUSTOMER = "NLA000001", "4000"
TWINFIELD_PATH = "/webservices/processxml.asmx"
CCV_PATH = "/api/rest/v1/orders/"
TNS = "http://www.twinfield.com/"
UNLIMITED = 1_000_000_000
_NO_PROXY = {"http": "", "https": ""}


@dataclass
class HTTPSim:
    child: Child
    admin_port: int
    twinfield_port: int
    ccv_port: int
    public_key: str = ""
    secret_key: str = ""

    @property
    def pid(self) -> int:
        return self.child.pid

    def api(self, method: str, path: str, body: dict | None = None, expect: int = 200):
        status, answer = http_json(method, f"http://{HOST}:{self.admin_port}{path}", body)
        if status != expect:
            raise BenchError(f"{method} {path} answered {status}: {answer}")
        return answer

    def twinfield_url(self) -> str:
        return f"http://{HOST}:{self.twinfield_port}{TWINFIELD_PATH}"

    def ccv_url(self) -> str:
        return f"http://{HOST}:{self.ccv_port}{CCV_PATH}"

    def stop(self) -> None:
        self.child.stop()


def start(workdir: Path, label: str = "koppelsim-http") -> HTTPSim:
    """Spawn ``koppelsim sim`` (Twinfield and CCV Shop only) and wait until it is ready and seeded."""
    workdir.mkdir(parents=True, exist_ok=True)
    admin, twinfield, ccv = free_port(), free_port(), free_port()
    config = {
        "host": HOST, "admin_port": admin,
        "twinfield": {"port": twinfield, "rate_limit_per_ip": UNLIMITED, "rate_limit_per_client": UNLIMITED,
                      "max_concurrent_per_organisation": 10_000},
        "ccvshop": {"port": ccv, "get_per_minute": UNLIMITED, "write_per_minute": UNLIMITED,
                    "seed_orders": SHOP_ORDERS},
        **{name: {"enabled": False} for name in ("digipoort", "cbftp", "vies", "mailbox")},
    }
    child = spawn_sim(workdir, label, config)
    sim = HTTPSim(child, admin, twinfield, ccv)
    try:
        sim.public_key, sim.secret_key = shop_keys(admin)
        wait_for_orders(admin, child, SHOP_ORDERS)
        sim.api("POST", "/api/twinfield/dimensions", {"type": "DEB", "code": CUSTOMER, "name": "Jan Jansen",
                                                      "office": OFFICE}, expect=201)
    except BaseException:
        sim.stop()
        raise
    return sim


def shop_keys(admin: int) -> tuple[str, str]:
    """The shop's API keys (public, secret), as the admin API lists them."""
    status, endpoints = http_json("GET", f"http://{HOST}:{admin}/api/endpoints")
    if status != 200:
        raise BenchError(f"GET /api/endpoints answered {status}: {endpoints}")
    keys = next(c for e in endpoints if e["simulator"] == "ccvshop" for c in e["credentials"] if "secret_key" in c)
    return keys["public_key"], keys["secret_key"]


def wait_for_orders(admin: int, child: Child, count: int, timeout: float = 120.0) -> None:
    """The shop's seed orders are generated just after start (Faker's locales load slowly)."""
    deadline = time.monotonic() + timeout
    while True:
        status, orders = http_json("GET", f"http://{HOST}:{admin}/api/ccvshop/orders")
        if status == 200 and len(orders) >= count:
            return
        if time.monotonic() > deadline or not child.alive():
            raise BenchError(f"the shop did not get its {count} orders within {timeout:.0f} s:\n{child.tail()}")
        time.sleep(0.2)


# -- Twinfield --------------------------------------------------------------------------------------------


def access_token(sim: HTTPSim) -> str:
    """An access token of the shop's user, from the admin API's token route (the token endpoint's answer,
    without the login page: the benchmark measures ProcessXmlString, not the OAuth dance)."""
    return sim.api("POST", "/api/twinfield/tokens", {"user": "koppeling"}, expect=201)["access_token"]


def sales_envelope(token: str, invoicenumber: str, day: str) -> bytes:
    """A ProcessXmlString envelope booking one sales transaction: 121.00 on the customer, 100.00 turnover at
    21 % VAT (the simulator adds the VAT line), as the koppeling posts an order in concept mode."""
    transaction = (
        f'<transaction destiny="temporary"><header><office>{OFFICE}</office><code>VRK</code><date>{day}</date>'
        f"<invoicenumber>{invoicenumber}</invoicenumber><currency>EUR</currency></header><lines>"
        f'<line type="total" id="1"><dim1>1300</dim1><dim2>{CUSTOMER}</dim2><debitcredit>debit</debitcredit>'
        "<value>121.00</value><description>Bestelling</description></line>"
        '<line type="detail" id="2"><dim1>8000</dim1><debitcredit>credit</debitcredit><value>100.00</value>'
        "<vatcode>VH</vatcode><description>Product</description></line></lines></transaction>")
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
            f'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><Header xmlns="{TNS}">'
            f"<AccessToken>{token}</AccessToken><CompanyCode>{OFFICE}</CompanyCode></Header></soap:Header>"
            f'<soap:Body><ProcessXmlString xmlns="{TNS}"><xmlRequest>{escape(transaction)}</xmlRequest>'
            "</ProcessXmlString></soap:Body></soap:Envelope>").encode()


def twinfield_template(sim: HTTPSim) -> bytes:
    """The envelope wrk sends, with ``INVOICE_MARK`` where each request puts its own invoice number."""
    return sales_envelope(access_token(sim), INVOICE_MARK, time.strftime("%Y%m%d"))


def capture_twinfield(sim: HTTPSim, template: bytes) -> requests.Response:
    """One booking through the same envelope: proves it is accepted, and is the answer WireMock will serve."""
    body = template.replace(INVOICE_MARK.encode(), b"CAPTURE-1")
    answer = requests.post(sim.twinfield_url(), data=body, timeout=30, proxies=_NO_PROXY, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{TNS}ProcessXmlString"'})
    if answer.status_code != 200 or b'result="1"' not in answer.content:
        raise BenchError(f"the sales transaction was not booked ({answer.status_code}): {answer.text[:800]}")
    return answer


# -- CCV Shop ---------------------------------------------------------------------------------------------


def signatures(sim: HTTPSim, seconds: int) -> str:
    """``"date hash date hash ..."``: one signature of ``GET orders/`` per second from now on, for the wrk
    script (which cannot compute HMAC-SHA512 itself)."""
    keys = Keys(sim.public_key, sim.secret_key)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    pairs = []
    for offset in range(-2, seconds + 1):
        date = format_x_date(now + timedelta(seconds=offset))
        pairs.append(f"{date} {digest(keys.secret, keys.public, 'GET', CCV_PATH.encode(), b'', date)}")
    return " ".join(pairs)


def capture_ccv(sim: HTTPSim) -> requests.Response:
    keys = Keys(sim.public_key, sim.secret_key)
    date = format_x_date(datetime.now(timezone.utc))
    answer = requests.get(sim.ccv_url(), timeout=30, proxies=_NO_PROXY, headers={
        "x-public": keys.public, "x-date": date,
        "x-hash": digest(keys.secret, keys.public, "GET", CCV_PATH.encode(), b"", date)})
    if answer.status_code != 200 or len(answer.json().get("items", [])) != SHOP_ORDERS:
        raise BenchError(f"GET orders/ did not answer the {SHOP_ORDERS} orders ({answer.status_code}): "
                         f"{answer.text[:500]}")
    return answer
