"""``koppelsim sim`` as a real process on one state directory: started, killed with SIGKILL at will and
started again - what a restart or crash test needs (ours in tests/, and a user's own).

Ports are fixed for the life of the object (a client reconnects to the same after a restart) and taken
below the kernel's ephemeral range: a port in that range could be handed to any client socket of a
parallel test while the simulator is down between a kill and its restart. Should one be taken all the
same, ``start`` picks new ports and tries again: the state directory is what counts.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from .core.clock import monotonic, real_sleep
from .core.runtime import simulator_class

START_SECONDS = 30.0  # real time for `koppelsim sim` to answer /readyz


def free_port() -> int:
    """A free loopback port below the ephemeral range (see the module's docstring)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except OSError:
        low = 32768  # not Linux: macOS and Windows hand out ports from 49152 up
    pick = random.SystemRandom()
    while True:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", pick.randrange(10000, low)))
            except OSError:
                continue
            return probe.getsockname()[1]


class SimProcess:
    """One ``python -m simulators sim`` on ``tmp_path/state`` with ``settings`` (e.g. ``settings_for_tests()``);
    ``only``: the one simulator to start (the others disabled, for a quicker start). Subclasses that fix a
    listener's port set it in ``choose_ports`` before calling this one's."""

    def __init__(self, tmp_path: Path, settings: dict[str, Any], only: str | None = None) -> None:
        self.state = tmp_path / "state"
        self.settings = settings
        if only is not None:
            for name, section in settings.items():
                if name != only and "enabled" in {f.name for f in fields(simulator_class(name).config_class)}:
                    section["enabled"] = False
        self.config = tmp_path / "koppelsim.yaml"
        self.logs = tmp_path / "logs"
        self.logs.mkdir(exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.choose_ports()

    def choose_ports(self) -> None:
        self.admin_port = free_port()
        self.config.write_text(yaml.safe_dump(self.settings))

    def start(self, attempts: int = 3) -> None:
        """Start and wait (boundedly) for ``/readyz``; a port taken meanwhile means new ports, up to
        ``attempts`` times."""
        self.starts += 1
        log_path = self.logs / f"start{self.starts}.log"
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "simulators", "sim", "--state-dir", str(self.state),
                 "--admin-port", str(self.admin_port), "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                if attempts > 1 and "Address already in use" in log_path.read_text(errors="replace"):
                    self.choose_ports()
                    return self.start(attempts - 1)
                raise AssertionError(f"koppelsim sim exited with {self.process.returncode}:\n{self.output()}")
            try:
                if self.http("GET", "/readyz")["status"] == "ready":
                    return None
            except (OSError, urllib.error.URLError):
                pass
            if monotonic() > deadline:
                raise AssertionError(f"koppelsim sim not ready within {START_SECONDS}s:\n{self.output()}")
            real_sleep(0.05)  # waiting for a real process to bind its ports, not simulating time

    def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def output(self) -> str:
        """The tail of every start's log, for a failure message."""
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.logs.iterdir()))

    def http(self, method: str, path: str, body: dict | None = None) -> Any:
        """A JSON call to the admin API."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())
