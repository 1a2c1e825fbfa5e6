"""CB's passive data ports (seed 002: "data channels are limited to port range 41000:42000").

A runtime of our own with a 5-port sub-range below Linux's ephemeral ports (32768-60999), so no outgoing
socket of another test takes one of them: every 227/229 reply names a port inside the range, and when all
five are busy the client gets 425 ("try again") rather than a port outside the range its firewall allows.
"""

from __future__ import annotations

import ftplib
import io
import os
import socket
import zlib
from contextlib import ExitStack

import pytest

from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

RELATION, PASSWORD = "7000123", "cb-secret"
SIZE = 5


def free_port_block(size: int = SIZE) -> int:
    """The first port of ``size`` consecutive free ports in 20000-31999, spread by worker and process."""
    seed = os.getpid() * 7919 + zlib.crc32(os.environ.get("PYTEST_XDIST_WORKER", "main").encode())
    for attempt in range(400):
        low = 20000 + ((seed + attempt * 97) % (12000 // size)) * size
        with ExitStack() as probes:
            try:
                for port in range(low, low + size):
                    probe = probes.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return low
    raise RuntimeError(f"no {size} consecutive free ports in 20000-31999")


@pytest.fixture
def ranged(tmp_path):
    register_config_sections()
    low = free_port_block()
    settings = settings_for_tests()
    settings["cbftp"].update({"passive_ports": f"{low}-{low + SIZE - 1}"})
    runtime = Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings}),
                      clock=VirtualClock("2026-11-20T09:00:00Z"), only=["mailbox", "cbftp"])
    runtime.start(admin=False)
    try:
        yield runtime, range(low, low + SIZE)
    finally:
        runtime.stop()


class RecordingFTP(ftplib.FTP_TLS):
    """ftplib, alternating PASV and EPSV for its data channels and noting every port the server names."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ports: list[int] = []
        self._epsv = False

    def makepasv(self):
        self._epsv = not self._epsv
        if self._epsv:
            host, port = ftplib.parse229(self.sendcmd("EPSV"), self.sock.getpeername())
        else:
            _, port = ftplib.parse227(self.sendcmd("PASV"))
            host = self.sock.getpeername()[0]
        self.ports.append(port)
        return host, port


def login(runtime: Runtime) -> RecordingFTP:
    endpoint = runtime.endpoint("cb-ftps")
    ftp = RecordingFTP(context=runtime.tls.client_context(), timeout=10)
    ftp.connect(endpoint.host, endpoint.port)
    ftp.auth()
    ftp.login(RELATION, PASSWORD)
    ftp.prot_p()
    return ftp


def close_quietly(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()


def test_every_data_channel_uses_a_port_inside_the_range(ranged):
    runtime, ports = ranged
    model = runtime.simulators["cbftp"].model
    invoice = model.issue_invoice(RELATION)
    ftp = login(runtime)
    try:
        for round_ in range(4):
            scan = io.BytesIO(b"%PDF-1.4\n%%EOF\n")
            assert ftp.storbinary(f"STOR in/scan{round_}.pdf", scan).startswith("226")
            assert ftp.nlst("in") == []
            ftp.retrlines("LIST out", lambda line: None)
        pdf = io.BytesIO()
        ftp.retrbinary(f"RETR out/{invoice['pdf_name']}", pdf.write)
        assert pdf.getvalue() == model.invoice_bytes(invoice["number"], "pdf")
        for _ in range(3):  # replies only (each replaces the previous listener)
            assert ftp.makepasv()[1] in ports
    finally:
        close_quietly(ftp)
    assert len(ftp.ports) == 16
    outside = [p for p in ftp.ports if p not in ports]
    assert outside == [], f"passive ports outside {ports.start}-{ports.stop - 1}: {outside}"
    assert len(set(ftp.ports)) > 1, "the server keeps to one port: the range is not used"
    assert model.findings() == []


def test_when_every_port_of_the_range_is_busy_the_client_gets_425_and_never_another_port(ranged):
    runtime, ports = ranged
    with ExitStack() as stack:
        holders = {}
        for port in ports:  # someone else's listeners on all five ports
            holder = stack.enter_context(socket.socket())
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            holder.bind(("127.0.0.1", port))
            holder.listen(1)
            holders[port] = holder
        ftp = login(runtime)
        try:
            for command in ("PASV", "EPSV"):
                with pytest.raises(ftplib.error_temp) as busy:
                    ftp.sendcmd(command)
                reply = str(busy.value)
                assert reply.startswith("425") and "every passive port of the range is in use" in reply, reply
            with pytest.raises(ftplib.error_temp) as busy:
                ftp.nlst("out")
            assert str(busy.value).startswith("425")
            assert ftp.ports == []  # no 227/229 was ever given
            # One port comes free: the next data channel uses exactly that one, and works.
            freed = ports[2]
            holders.pop(freed).close()
            assert ftp.nlst("in") == []
            assert ftp.ports == [freed]
        finally:
            close_quietly(ftp)
    assert runtime.simulators["cbftp"].model.findings() == []
