"""A hub in a koppelsim without the Digipoort simulator (``--only hub``) cannot send, and says so in its run
instead of reporting a run that did nothing as if all was well; its messages wait, unchanged."""

from __future__ import annotations

from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests


def test_send_receive_without_digipoort_names_the_problem_and_keeps_the_message(tmp_path):
    register_config_sections()
    settings = settings_for_tests()
    config = config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, "clock": "virtual",
                               "hub": settings["hub"]})
    runtime = Runtime(config, clock=VirtualClock("2026-11-20T08:00:00Z"), only=["hub"])
    runtime.start(admin=False)
    try:
        hub = runtime.simulators["hub"].hub
        message = hub.prepare("a", "vat", period="2026-10", boxes={"1a": 10000, "1a_btw": 2100})
        report = hub.send_receive()
        assert report.sent == []
        assert report.problems == ["no Digipoort connection: 1 message(s) stay prepared "
                                   "(start the digipoort simulator with the hub)"]
        assert hub.message(message["number"])["status"] == "prepared"
    finally:
        runtime.stop()


def test_the_commands_that_do_not_send_need_no_ca_certificate(tmp_path):
    """Only send/receive talks to Digipoort over TLS; listing tenants or unknown messages works without the CA
    (a hub state of another instance, whose CA is elsewhere, say)."""
    import subprocess
    import sys

    base = [sys.executable, "-m", "simulators", "hub", "--state", str(tmp_path / "hub"),
            "--ca", str(tmp_path / "none.pem")]
    for action in (["unknown"], ["tenants"], ["status"]):
        shown = subprocess.run(base + action, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
    sending = subprocess.run(base + ["send-receive"], capture_output=True, text=True, timeout=60)
    assert sending.returncode == 1 and "none.pem not found" in sending.stderr
