"""Crash safety of the Twinfield simulator: ``koppelsim sim`` as a real process, killed with SIGKILL at the
moments that matter to a koppeling, and started again on the same state directory.

What must hold after every restart: each booking Twinfield accepted is there exactly once with the number it
was given (also one whose answer never left: killed while the answer was held); numbering goes on without a
gap or a reused number; customers stay; tokens live exactly as long as the (simulated, durable) clock says.

Everything goes over the wire: the real client (``clients.twinfield``) through the login page and SOAP, the
admin API for the clock and for looking. The process runs on the system clock; simulated time moves with
``POST /api/clock``, never by sleeping. Real-time waits are bounded polls.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest
import requests

from clients.twinfield import TwinfieldClient, TwinfieldError, TwinfieldOAuth, TwinfieldUnavailable
from simulators.core.clock import monotonic, parse_instant, real_sleep
from simulators.core.runtime import settings_for_tests
from simulators.process import SimProcess, free_port

pytestmark = pytest.mark.slow
WAIT_SECONDS = 10.0  # real time for the running process to act on something we did
REDIRECT = "http://localhost/callback"


class Sim(SimProcess):
    """`python -m simulators sim` with only Twinfield, on one state directory, started and killed at will."""

    def __init__(self, tmp_path: Path) -> None:
        self.base = ""
        super().__init__(tmp_path, settings_for_tests(), only="twinfield")  # every listener on a free port

    def choose_ports(self) -> None:
        """Fixed ports, so the cluster URL a client took from accesstokenvalidation stays right across a restart
        (as the real cluster's does)."""
        self.settings["twinfield"]["port"] = free_port()
        super().choose_ports()

    def start(self, attempts: int = 3) -> None:
        super().start(attempts)
        [endpoint] = [e for e in self.http("GET", "/api/endpoints") if e["name"] == "twinfield-http"]
        self.base = endpoint["url"].rstrip("/")

    def now(self) -> datetime:
        """The simulated clock, as the running process reads it: the clock the client must live on."""
        return parse_instant(self.http("GET", "/api/clock")["now"])

    def advance(self, duration: str) -> None:
        self.http("POST", "/api/clock", {"advance": duration})

    def bookings(self, **filters: str) -> list[dict]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.http("GET", f"/api/twinfield/bookings{'?' + query if query else ''}")

    def wait_for(self, condition, what: str) -> None:
        deadline = monotonic() + WAIT_SECONDS
        while not condition():
            if monotonic() > deadline:
                raise AssertionError(f"{what} did not happen within {WAIT_SECONDS}s:\n{self.output()}")
            real_sleep(0.05)

    # -- the real client ------------------------------------------------------------------------------

    def oauth(self) -> TwinfieldOAuth:
        return TwinfieldOAuth(self.base, "koppelsim", "koppelsim-secret", REDIRECT, self, timeout=10)

    def client(self, tokens) -> TwinfieldClient:
        return TwinfieldClient(self.oauth(), tokens, self, office="NLA000001", timeout=10)

    def token_state(self, token: str) -> str:
        answer = requests.get(f"{self.base}/auth/authentication/connect/accesstokenvalidation",
                              params={"token": token}, timeout=10)
        return "valid" if answer.status_code == 200 else answer.json()["Message"]


@pytest.fixture
def sim(tmp_path):
    made = Sim(tmp_path)
    yield made
    made.kill9()


def sale(customer: str, amount: str = "121.00") -> list[dict]:
    return [{"type": "total", "dim1": "1300", "dim2": customer, "debitcredit": "debit", "value": amount},
            {"type": "detail", "dim1": "8000", "debitcredit": "credit", "value": "100.00", "vatcode": "VH"}]


def numbers(sim: Sim) -> dict[str, str]:
    """invoicenumber -> booking number, failing on an invoice number booked twice."""
    seen: dict[str, str] = {}
    for booking in sim.bookings(code="VRK"):
        assert booking["invoicenumber"] not in seen, f"{booking['invoicenumber']} is booked twice"
        seen[booking["invoicenumber"]] = booking["number"]
    return seen


def test_accepted_bookings_numbers_and_tokens_survive_kill_9(sim):
    sim.start()
    tokens = sim.oauth().login("KOPPELSIM", "koppeling", "koppeling-secret")
    client = sim.client(tokens)
    customer = client.create_customer("Jan Jansen", "jan@example.com")
    assert client.post_transaction("VRK", sale(customer), invoicenumber="K1") == "202600001"
    sim.advance("30m")

    # 1. killed right after a booking was accepted (its answer was read)
    sim.kill9()
    sim.start()
    assert numbers(sim) == {"K1": "202600001"}
    assert [c["code"] for c in sim.http("GET", "/api/twinfield/dimensions?type=DEB")] == [customer]
    second = sim.client(tokens).create_customer("Piet Pietersen", "piet@example.com")
    assert int(second) == int(customer) + 1  # automatic customer codes go on too: none given twice
    assert sim.token_state(tokens.access_token) == "valid"  # 30 of its 60 simulated minutes used
    client = sim.client(tokens)  # the same tokens, after the restart
    assert client.post_transaction("VRK", sale(customer), invoicenumber="K2") == "202600002"

    # 2. killed after the booking was stored but before its answer left (held by a rule)
    sim.http("POST", "/api/rules", {"sim": "twinfield", "when": {"invoicenumber": "K3"}, "times": 1,
                                    "timeout": {"booked": True, "mode": "hold", "seconds": 3600}})
    outcome: dict[str, BaseException] = {}

    def post_k3() -> None:
        try:
            client.post_transaction("VRK", sale(customer), invoicenumber="K3")
        except BaseException as exc:  # the connection dies with the process
            outcome["error"] = exc

    poster = threading.Thread(target=post_k3)
    poster.start()
    sim.wait_for(lambda: sim.bookings(invoicenumber="K3"), "the held booking K3 being stored")
    sim.kill9()
    poster.join(WAIT_SECONDS)
    assert isinstance(outcome.get("error"), TwinfieldUnavailable), outcome
    sim.start()
    assert numbers(sim) == {"K1": "202600001", "K2": "202600002", "K3": "202600003"}
    # the koppeling did not hear back and posts K3 again: refused, nothing doubled, no number spent
    client = sim.client(tokens)
    with pytest.raises(TwinfieldError) as twice:
        client.post_transaction("VRK", sale(customer), invoicenumber="K3")
    assert twice.value.texts == ["Factuurnummer K3 komt reeds voor."]
    assert client.post_transaction("VRK", sale(customer), invoicenumber="K4") == "202600004"

    # 3. tokens live on the durable simulated clock: the access token dies at 60 minutes, not at a restart
    sim.advance("29m")
    sim.kill9()
    sim.start()
    assert sim.token_state(tokens.access_token) == "valid"
    sim.advance("2m")
    assert sim.token_state(tokens.access_token) == "expired_token"
    fresh = sim.oauth().refresh(tokens.refresh_token)  # the refresh token outlives both
    assert sim.token_state(fresh.access_token) == "valid"
    assert sim.client(fresh).post_transaction("VRK", sale(customer), invoicenumber="K5") == "202600005"
    assert numbers(sim) == {f"K{i}": f"20260000{i}" for i in range(1, 6)}
