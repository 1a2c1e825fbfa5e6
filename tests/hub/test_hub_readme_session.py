"""The README's by-hand hub session, run for real: `koppelsim sim` as a process, `koppelsim hub` CLI
commands on their defaults (the sim's hub folder, its CA), and the admin API's clock advance."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import requests
import yaml

from simulators.core.clock import monotonic, real_sleep
from simulators.core.runtime import settings_for_tests

STARTUP_TIMEOUT = 20.0  # real seconds for a process to come up on a loaded CI machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sim(folder: Path, admin: int, ftp: int) -> subprocess.Popen:
    """`make sim` in ``folder``: state in ./.koppelsim (the default), its own ports."""
    settings = {**settings_for_tests(), "admin_port": admin}
    settings["digipoort"]["port"] = ftp
    (folder / "koppelsim.yaml").write_text(yaml.safe_dump(settings))
    process = subprocess.Popen([sys.executable, "-m", "simulators", "sim", "--config", "koppelsim.yaml"], cwd=folder,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = monotonic() + STARTUP_TIMEOUT
    while monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"koppelsim sim exited early: {process.stdout.read()}")
        try:
            if requests.get(f"http://127.0.0.1:{admin}/readyz", timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            real_sleep(0.05)  # waiting for a real process to bind its port, not simulating time
    process.kill()
    raise AssertionError("koppelsim sim did not become ready")


def test_the_readme_hub_session_by_hand(tmp_path):
    admin, ftp = free_port(), free_port()
    sim = start_sim(tmp_path, admin, ftp)
    try:
        def hub(*args: str) -> subprocess.CompletedProcess:
            # As in the README, with only the port added (the test's sim does not own port 2121).
            done = subprocess.run([sys.executable, "-m", "simulators", "hub", "--port", str(ftp), *args],
                                  cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            return done

        made = json.loads(hub("prepare", "a", "vat", "--period", "2026-10", "--box", "1a=10000",
                              "--box", "1a_btw=2100").stdout)
        assert made["number"] == "CS000001"
        hub("send-receive")
        assert "delivered" in hub("status", "a").stdout
        moved = requests.post(f"http://127.0.0.1:{admin}/api/clock", data='{"advance": "15m"}', timeout=5)
        assert moved.status_code == 200, moved.text
        hub("send-receive")
        status = hub("status", "a").stdout
        assert "CS000001" in status and "accepted" in status
        # The CLI worked on the running sim's own hub: the admin API shows the same message, accepted.
        seen = requests.get(f"http://127.0.0.1:{admin}/api/hub/tenants/a/messages", timeout=5).json()
        assert [(m["number"], m["status"]) for m in seen] == [("CS000001", "accepted")]
        history = json.loads(hub("--json", "history", "CS000001").stdout)
        assert [r["kind"] for r in history["returns"]] == ["ok", "answer"]
    finally:
        sim.terminate()
        try:
            sim.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.communicate()
