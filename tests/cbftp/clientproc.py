"""The CB client in a process of its own that dies where a test says (exit 137, as after kill -9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from clients.cbftp.client import CRASH_ENV

REPO = Path(__file__).resolve().parents[2]
SUBPROCESS_SECONDS = 60

CRASHING_CLIENT = """
import ssl, sys
from datetime import datetime
from clients.cbftp.client import CBClient, CBConnection
from clients.cbftp.store import CBClientStore

host, port, ca, state, inbox, now = sys.argv[1:7]

class FixedClock:
    def now(self):
        return datetime.fromisoformat(now)

connection = CBConnection(host, int(port), "7000123", "cb-secret", "7000123",
                          ssl.create_default_context(cafile=ca), timeout=20)
report = CBClient(connection, CBClientStore(state), inbox, FixedClock()).session()
print("SESSION ENDED", report)
"""


def run_crashing_session(koppelsim, state: Path, point: str) -> subprocess.CompletedProcess:
    """One session of the client on ``state`` (client.db, inbox/) at the simulated now, dying at ``point``."""
    endpoint = koppelsim.endpoint("cb-ftps")
    return subprocess.run(
        [sys.executable, "-c", CRASHING_CLIENT, endpoint.host, str(endpoint.port),
         str(koppelsim.runtime.tls.ca_cert), str(state / "client.db"), str(state / "inbox"),
         koppelsim.now().isoformat()],
        env={**os.environ, CRASH_ENV: point}, cwd=REPO, capture_output=True, timeout=SUBPROCESS_SECONDS)
