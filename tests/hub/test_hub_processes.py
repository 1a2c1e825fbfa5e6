"""The hub as real processes: the CLI on the same state, kill -9 mid-run, two runs at the same time."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from clients.digipoort.client import CRASH_ENV as CLIENT_CRASH_ENV
from clients.hub.run import CRASH_ENV, PAUSE_ENV

BOXES = {"1a": 10000, "1a_btw": 2100}


def cli(runtime, *args: str, env: dict | None = None, **kwargs) -> list[str]:
    endpoint = runtime.endpoint("digipoort-ftp")
    return [sys.executable, "-m", "simulators", "hub", "--state", str(runtime.simulators["hub"].folder),
            "--host", endpoint.host, "--port", str(endpoint.port), "--ca", str(runtime.tls.ca_cert),
            "--at", runtime.clock.now().isoformat(), *args]


def run_cli(runtime, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cli(runtime, *args), env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


def test_the_cli_prepares_and_sends_and_the_tenant_sees_accepted(runtime, hub):
    done = run_cli(runtime, "prepare", "a", "vat", "--period", "2026-10", "--box", "1a=10000", "--box", "1a_btw=2100")
    assert done.returncode == 0, done.stderr
    assert '"number": "CS000001"' in done.stdout
    assert run_cli(runtime, "send-receive").returncode == 0
    runtime.scheduler.advance("15m")
    assert run_cli(runtime, "send-receive").returncode == 0
    status = run_cli(runtime, "status", "a")
    assert "CS000001" in status.stdout and "accepted" in status.stdout
    assert hub.message("CS000001")["status"] == "accepted"  # the same state as the hub inside the runtime


def test_boxes_that_do_not_add_up_are_refused_by_the_cli_naming_the_box(runtime, hub):
    done = run_cli(runtime, "prepare", "a", "vat", "--period", "2026-10", "--box", "1a_btw=2100", "--box", "5a=1")
    assert done.returncode == 1
    assert "box 5a is 1 but the VAT boxes add up to 2100" in done.stderr
    assert hub.statuses() == []


@pytest.mark.parametrize("crash_at", ["after_upload", "after_download"])
def test_a_hub_killed_mid_run_resumes_without_sending_twice_or_losing_an_answer(runtime, hub, crash_at):
    first = hub.prepare("a", "vat", period="2026-10", boxes=BOXES)["number"]
    second = hub.prepare("b", "vat", period="2026-10", boxes=BOXES)["number"]
    if crash_at == "after_download":
        hub.send_receive()
        runtime.scheduler.advance("15m")
    killed = run_cli(runtime, "send-receive", env={CRASH_ENV: crash_at})
    assert killed.returncode == 137, killed.stderr
    hub.send_receive()  # the restarted hub: the killed run's lock is taken over, its work finished
    runtime.scheduler.advance("15m")
    hub.send_receive()
    assert [hub.message(n)["status"] for n in (first, second)] == ["accepted", "accepted"]
    assert len(runtime.simulators["digipoort"].model.submissions()) == 2  # nothing sent twice
    assert [r["kind"] for r in hub.history(first)["returns"]] == ["ok", "answer"]  # nothing counted twice
    assert [r["state"] for r in hub.runs()].count("interrupted") == 1  # the killed one, closed on restart


def test_a_second_run_from_another_process_is_refused_while_the_first_runs(runtime, hub):
    hub.prepare("a", "vat", period="2026-10", boxes=BOXES)
    first = subprocess.Popen(cli(runtime, "send-receive"), env={**os.environ, PAUSE_ENV: "after_lock"},
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "paused at after_lock"
        second = run_cli(runtime, "send-receive")
        assert second.returncode == 3
        assert "a send/receive run is already in progress (run 1, cli" in second.stderr
        with pytest.raises(Exception, match="already in progress"):
            hub.send_receive()  # the hub inside the runtime is refused too
        first.stdin.write("\n")
        first.stdin.flush()
        assert first.wait(timeout=60) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert hub.message("CS000001")["status"] == "delivered"
    assert hub.send_receive().problems == []  # the lock is free again


@pytest.mark.parametrize("point", ["after_data_upload", "after_meta_upload", "after_response_stored"])
def test_the_hub_killed_at_each_of_the_digipoort_clients_crash_points_sends_once_and_loses_nothing(
        runtime, hub, point):
    first = hub.prepare("a", "vat", period="2026-10", boxes=BOXES)["number"]
    second = hub.prepare("b", "vat", period="2026-10", boxes=BOXES)["number"]
    if point == "after_response_stored":
        hub.send_receive()
        runtime.scheduler.advance("15m")
    killed = run_cli(runtime, "send-receive", env={CLIENT_CRASH_ENV: point})
    assert killed.returncode == 137, killed.stderr
    hub.send_receive()
    runtime.scheduler.advance("15m")
    hub.send_receive()
    assert [hub.message(n)["status"] for n in (first, second)] == ["accepted", "accepted"]
    assert len(runtime.simulators["digipoort"].model.submissions()) == 2  # nothing sent twice
    assert hub.unknown() == {"returns": [], "invoices": []}
    for number in (first, second):
        assert [r["kind"] for r in hub.history(number)["returns"]] == ["ok", "answer"]  # nothing counted twice
