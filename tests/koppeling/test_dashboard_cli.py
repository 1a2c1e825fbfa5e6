"""``koppelsim koppeling dashboard``: a real process serving the dashboard over the koppeling's state file."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time

import requests
import yaml

READY_SECONDS = 30.0
PLAIN = {"country": "NL", "b2b": False, "shipping": 0, "payment_option": 0, "extra_costs": 0,
         "credit_points": 0, "coupon": 0, "paymethod_id": 11}


def first_line(process: subprocess.Popen, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            return process.stdout.readline()
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"the dashboard did not start in {seconds:.0f}s: {process.communicate(timeout=10)}")


def test_dashboard_command_serves_the_state_file_on_loopback(world):
    order = world.order(rows=[{"price": 121.00, "tax": 21}], **PLAIN)
    koppeling = world.koppeling("state.db")
    koppeling.sync()
    koppeling.close()
    config = world.workdir / "koppeling.yaml"
    config.write_text(yaml.safe_dump(world.settings()), encoding="utf-8")

    # --at: the simulators run on a virtual clock, so the process reads that instant, not real time.
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators", "koppeling", "--config", str(config), "--state",
         str(world.workdir / "state.db"), "--at", world.clock.now().isoformat(), "dashboard", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = first_line(process, READY_SECONDS)
        assert line.startswith("dashboard on http://127.0.0.1:"), line
        url = line.split()[2].rstrip("/")
        page = requests.get(f"{url}/reporting", timeout=10).text
        number = world.bookings(invoicenumber=order["ordernumber_full"])[0]["number"]
        assert f"transaction <strong>{number}</strong>" in page
        assert requests.get(f"{url}/errors/order-1", timeout=10).status_code == 404
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C; the command handles it even when started with it ignored
        try:
            process.communicate(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
