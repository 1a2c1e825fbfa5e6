"""A Digipoort client run as its own process that dies, like kill -9, at a chosen point.

Scenarios use it to show that a client killed mid-flow resumes without submitting twice or losing an
answer: the process really ends (``os._exit`` at a named point in the client), nothing is simulated.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from clients.digipoort import DigipoortClient
from clients.digipoort.client import CRASH_ENV


def submit_arguments(args: dict, payload: bytes, filename: str, identity: str, run: Any) -> list[str]:
    """The arguments of ``koppelsim digipoort submit`` for a scenario's submit step (payload put in a file)."""
    payload_path = run.workdir / f"payload-{len(list(run.workdir.glob('payload-*')))}-{filename}"
    payload_path.write_bytes(payload)
    command = ["submit", str(payload_path), "--berichtsoort", args["berichtsoort"], "--identity", identity]
    for key in ("identity_type", "rol", "aanleverkenmerk", "eerder_aanleverkenmerk"):
        if key in args:
            command += [f"--{key.replace('_', '-')}", args[key]]
    return command


def run_client_process_that_dies(run: Any, client: DigipoortClient, crash_at: str, action: list[str]) -> str | None:
    """Run the client CLI as its own process, told to die (like kill -9) at ``crash_at``.

    Returns the reference of the newest submission in the client's state afterwards.
    """
    conn = client.connection
    command = [sys.executable, "-m", "simulators", "digipoort", "--host", conn.host, "--port", str(conn.port),
               "--user", conn.user, "--password", conn.password, "--ca", str(run.runtime.tls.ca_cert),
               "--state", str(client.store.path), "--at", run.clock.now().isoformat(), *action]
    done = subprocess.run(command, env={**os.environ, CRASH_ENV: crash_at}, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 137:
        raise RuntimeError(f"the client was to die at {crash_at} but exited {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip()[-500:]}")
    rows = client.store.rows("SELECT ref FROM submissions ORDER BY created_at DESC, rowid DESC LIMIT 1")
    return rows[0]["ref"] if rows else None
