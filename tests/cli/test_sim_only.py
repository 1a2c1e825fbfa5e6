"""``koppelsim sim --only``: just the named simulators start, only their config sections are read, and a
wrong name is refused before anything starts."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml

from simulators.core.clock import monotonic, real_sleep
from simulators.core.runtime import settings_for_tests

REPO = Path(__file__).resolve().parents[2]
START_SECONDS = 30.0  # real seconds for a `koppelsim sim` process to answer /readyz


def _koppelsim(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulators", *args]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def _wait_ready(process: subprocess.Popen, admin: str) -> None:
    deadline = monotonic() + START_SECONDS
    while monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"koppelsim sim ended with {process.returncode}: {process.stderr.read()}")
        try:
            if _get_json(f"{admin}/readyz"):
                return
        except OSError:
            real_sleep(0.05)
    raise AssertionError(f"koppelsim sim did not answer /readyz within {START_SECONDS} s")


def test_only_the_named_simulators_start_and_other_sections_are_not_read(tmp_path):
    settings = settings_for_tests()
    # A section of a simulator that is not started may say anything: it is not read this time.
    config = {"admin_port": 0, "digipoort": settings["digipoort"], "mailbox": settings["mailbox"],
              "twinfield": {"no_such_setting": True}}
    (tmp_path / "sim.yaml").write_text(yaml.safe_dump(config))
    process = subprocess.Popen(_koppelsim("sim", "--state-dir", str(tmp_path / "state"), "--config",
                                          str(tmp_path / "sim.yaml"), "--only", "digipoort", "--only", "mailbox",
                                          "--admin-port", "0"),
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("koppelsim is ready"), first + process.stderr.read()
        admin = process.stdout.readline().split()[1].rstrip("/")
        _wait_ready(process, admin)
        names = {endpoint["name"] for endpoint in _get_json(f"{admin}/api/endpoints")}
        assert {"digipoort-ftp", "mailbox-smtp"} <= names
        assert not {name for name in names if name.startswith(("cb-", "twinfield", "ccvshop", "vies"))}, names
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_same_section_is_read_when_its_simulator_starts(tmp_path):
    (tmp_path / "sim.yaml").write_text(yaml.safe_dump({"twinfield": {"no_such_setting": True}}))
    done = subprocess.run(_koppelsim("sim", "--state-dir", str(tmp_path / "state"), "--config",
                                     str(tmp_path / "sim.yaml"), "--only", "twinfield"),
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no_such_setting" in done.stderr and "unknown setting" in done.stderr


def test_a_wrong_name_is_refused_with_the_known_ones(tmp_path):
    done = subprocess.run(_koppelsim("sim", "--state-dir", str(tmp_path / "state"), "--only", "digipoort,twinfeld"),
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unknown simulator 'twinfeld'" in done.stderr and "digipoort, cbftp" in done.stderr
    assert not (tmp_path / "state").exists()
