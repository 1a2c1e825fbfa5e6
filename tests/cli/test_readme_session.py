"""The README's worked session, run for real: `koppelsim sim` as a process, the client CLI, time travel."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import requests
import yaml

from clients.xbrl import build_vat_return
from simulators.core.clock import monotonic, parse_instant, real_sleep
from simulators.core.runtime import settings_for_tests

STARTUP_TIMEOUT = 20.0  # real seconds for a process to come up on a loaded CI machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_base_and_shifted(offset: int) -> tuple[int, int]:
    """Two ports that are free both as they are and shifted by ``offset``. Taken below Linux's
    ephemeral range (32768-60999), where other tests' port-0 listeners and clients never land."""
    rng = random.Random()
    for _ in range(200):
        ports = rng.sample(range(20000, 30000), 2)
        wanted = ports + [p + offset for p in ports]
        if all(_bindable(p) for p in wanted):
            return ports[0], ports[1]
    raise AssertionError("no free ports found below the ephemeral range")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def config_text(admin_port: int, ftp_port: int) -> str:
    """A koppelsim config: the given admin and Digipoort ports, every other listener on a free port."""
    settings = settings_for_tests()
    settings["digipoort"]["port"] = ftp_port
    settings["admin_port"] = admin_port
    return yaml.safe_dump(settings)


def start_sim(state_dir: Path, admin_port: int, ftp_port: int) -> subprocess.Popen:
    config = state_dir.parent / f"config-{admin_port}.yaml"
    config.write_text(config_text(admin_port, ftp_port))
    process = subprocess.Popen([sys.executable, "-m", "simulators", "sim", "--state-dir", str(state_dir),
                                "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = monotonic() + STARTUP_TIMEOUT
    while monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"koppelsim sim exited early: {process.stdout.read()}")
        try:
            if requests.get(f"http://127.0.0.1:{admin_port}/readyz", timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            real_sleep(0.05)  # waiting for a real process to bind its port, not simulating time
    process.kill()
    raise AssertionError("koppelsim sim did not become ready")


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        out, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


def koppelsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulators", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def sim(tmp_path):
    admin, ftp = free_port(), free_port()
    process = start_sim(tmp_path / "state", admin, ftp)
    yield {"admin": f"http://127.0.0.1:{admin}", "ftp": ftp, "state": tmp_path / "state", "process": process}
    stop(process)


def test_the_readme_session_submit_time_travel_accepted(sim, tmp_path):
    payload = tmp_path / "aangifte.xbrl"
    now = parse_instant(requests.get(f"{sim['admin']}/api/clock", timeout=5).json()["now"])
    payload.write_bytes(build_vat_return(identity="001000044B37", period_start=date(2026, 9, 1),
                                         period_end=date(2026, 9, 30), boxes={"1a": 1000, "1a_btw": 210},
                                         created=now))
    client = ["digipoort", "--port", str(sim["ftp"]), "--ca", str(sim["state"] / "tls" / "ca.pem"),
              "--state", str(tmp_path / "client.db")]
    submitted = koppelsim(*client, "submit", str(payload), "--berichtsoort", "Omzetbelasting",
                          "--identity", "001000044B37")
    assert submitted.returncode == 0, submitted.stderr
    ref = submitted.stdout.strip()
    status = koppelsim(*client, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)[0]["state"] == "transported"

    moved = requests.post(f"{sim['admin']}/api/clock", data='{"advance": "15m"}', timeout=5)
    assert moved.status_code == 200, moved.text

    final = json.loads(koppelsim(*client, "status", "--json").stdout)
    assert [(r["ref"], r["state"]) for r in final] == [(ref, "accepted")]
    subs = requests.get(f"{sim['admin']}/api/digipoort/submissions", timeout=5).json()
    assert [s["contextId"] for s in subs] == [ref]
    assert [s["statuscode"] for s in subs[0]["statuses"]] == [105, 100, 110, 200, 301, 301, 405, 400, 500]


def test_sim_prints_endpoints_and_credentials(tmp_path):
    admin, ftp = free_port(), free_port()
    process = start_sim(tmp_path / "state", admin, ftp)
    out = stop(process)
    assert f"http://127.0.0.1:{admin}/" in out
    assert f"ftp://127.0.0.1:{ftp}/" in out
    assert "user 'acme' password 'acme-secret'" in out
    assert str(tmp_path / "state" / "tls" / "ca.pem") in out


def test_port_offset_lets_two_instances_run_side_by_side(tmp_path):
    offset = 7
    admin, ftp = free_base_and_shifted(offset)
    first = start_sim(tmp_path / "a", admin, ftp)
    try:
        config = tmp_path / "b.yaml"
        config.write_text(config_text(admin, ftp))
        second = subprocess.Popen([sys.executable, "-m", "simulators", "sim", "--state-dir", str(tmp_path / "b"),
                                   "--config", str(config), "--port-offset", str(offset)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = monotonic() + STARTUP_TIMEOUT
            ready = False
            while monotonic() < deadline and not ready and second.poll() is None:
                try:
                    ready = requests.get(f"http://127.0.0.1:{admin + offset}/readyz", timeout=1).ok
                except requests.ConnectionError:
                    real_sleep(0.05)
            assert ready, "the second instance did not come up on the shifted ports"
            endpoints = requests.get(f"http://127.0.0.1:{admin + offset}/api/endpoints", timeout=5).json()
            ports = {e["name"]: e["port"] for e in endpoints if e["name"] in ("admin", "digipoort-ftp")}
            assert ports == {"admin": admin + offset, "digipoort-ftp": ftp + offset}
        finally:
            stop(second)
    finally:
        stop(first)


def test_a_second_instance_on_the_same_ports_says_what_to_do(tmp_path):
    admin, ftp = free_port(), free_port()
    first = start_sim(tmp_path / "a", admin, ftp)
    try:
        config = tmp_path / "same.yaml"
        config.write_text(config_text(admin, ftp))
        clash = koppelsim("sim", "--state-dir", str(tmp_path / "b"), "--config", str(config))
        assert clash.returncode == 1
        assert "--port-offset" in clash.stderr
    finally:
        stop(first)


def test_a_bad_config_file_names_file_and_field(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("digipoort:\n  acounts: []\n")
    done = koppelsim("sim", "--state-dir", str(tmp_path / "s"), "--config", str(config))
    assert done.returncode == 2
    assert "bad.yaml: digipoort.acounts: unknown setting" in done.stderr
