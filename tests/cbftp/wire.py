"""Logging in to the CB simulator as its customers do (explicit FTPS, PROT P), and CB alone in a runtime of its
own, for the CB tests."""

from __future__ import annotations

import ftplib
import ssl
from datetime import datetime, timedelta

from simulators.cbftp.maintenance import next_outage, outage_around
from simulators.core.clock import VirtualClock, monotonic, real_sleep
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

RELATION, PASSWORD = "7000123", "cb-secret"  # the simulator's configured customer
WAIT_SECONDS = 5.0  # real time for the server to notice what a socket did, or to finish what it does after a reply


def wait_for(condition, what: str, seconds: float = WAIT_SECONDS) -> None:
    """Until ``condition()`` holds (polled; bounded): the server acts on its own thread after a reply."""
    deadline = monotonic() + seconds
    while not condition():
        if monotonic() > deadline:
            raise AssertionError(f"the server did not {what} within {seconds}s")
        real_sleep(0.02)


def clear_of_maintenance(koppelsim, client_window) -> None:
    """The shared clock moved out of CB's outage, away from the next one (2 h), and out of the client's own
    maintenance window (``client_window``: a clients.cbftp Window, which keeps away from the whole hour)."""
    config = koppelsim.runtime.simulators["cbftp"].model.config.maintenance
    outage = outage_around(koppelsim.now(), config)
    if outage is not None:
        koppelsim.runtime.scheduler.advance_to(outage[1])
    upcoming = next_outage(koppelsim.now(), config)
    if upcoming is not None and upcoming[0] - koppelsim.now() < timedelta(hours=2):
        koppelsim.runtime.scheduler.advance_to(upcoming[0])  # into the window, to be moved past it below
    window_end = client_window.covers(koppelsim.now())
    if window_end is not None:
        koppelsim.runtime.scheduler.advance_to(window_end)


def ftps_login(host: str, port: int, context: ssl.SSLContext, user: str = RELATION, password: str = PASSWORD,
               timeout: float = 10) -> ftplib.FTP_TLS:
    """A logged-in FTPS session with a protected data channel; the connection is closed if any step fails."""
    ftp = ftplib.FTP_TLS(context=context, timeout=timeout)
    ftp.connect(host, port)
    try:
        ftp.auth()
        ftp.login(user, password)
        ftp.prot_p()
    except BaseException:
        ftp.close()
        raise
    return ftp


def runtime_login(runtime, user: str = RELATION, password: str = PASSWORD, timeout: float = 10) -> ftplib.FTP_TLS:
    """``ftps_login`` to the ``cb-ftps`` endpoint of a running koppelsim runtime, trusting its CA."""
    endpoint = runtime.endpoint("cb-ftps")
    return ftps_login(endpoint.host, endpoint.port, runtime.tls.client_context(), user, password, timeout)


class CBAlone:
    """CB alone in a runtime of its own on a virtual clock, FTPS on a free port. The maintenance window is off
    (these tests move the clock by days and months); ``stop`` and ``start`` again on the same state stage a
    restart."""

    def __init__(self, state_dir, at: datetime, **cbftp) -> None:
        register_config_sections()
        self.state_dir, self.cbftp = state_dir, cbftp
        self.runtime: Runtime | None = None
        self._last_login: datetime | None = None
        self.start(at)

    def start(self, at: datetime) -> None:
        settings = settings_for_tests()
        settings["cbftp"].update({"maintenance": {"enabled": False}, **self.cbftp})
        self.runtime = Runtime(config_from_dict({"state_dir": str(self.state_dir), "admin_port": 0, **settings}),
                               clock=VirtualClock(at), only=["mailbox", "cbftp"])
        self.runtime.start(admin=False)

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None

    @property
    def model(self):
        return self.runtime.simulators["cbftp"].model

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def advance(self, duration: str) -> datetime:
        return self.runtime.scheduler.advance(duration)

    def login(self) -> ftplib.FTP_TLS:
        """Explicit FTPS with PROT P, at least 10 simulated minutes after the previous login (CB's rule)."""
        if self._last_login is not None and self.now() - self._last_login < timedelta(minutes=10):
            self.advance("10m")
        self._last_login = self.now()
        return runtime_login(self.runtime)
