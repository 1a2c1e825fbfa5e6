"""Two hubs on one Digipoort account: each numbers from CS000001, neither may touch the other's messages.

A hub's reference is number, attempt and its installation id (kept in hub.db); return messages are
linked by that exact reference or by the kenmerk its .ok recorded — never by a name prefix.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from clients.hub.run import CRASH_ENV

BOXES = {"1a": 10000, "1a_btw": 2100}


def cli_hub(runtime, state, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    endpoint = runtime.endpoint("digipoort-ftp")
    command = [sys.executable, "-m", "simulators", "hub", "--state", str(state), "--host", endpoint.host,
               "--port", str(endpoint.port), "--ca", str(runtime.tls.ca_cert), "--at", runtime.clock.now().isoformat(),
               *args]
    return subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120)


def test_the_reference_carries_the_installation_id_within_digipoorts_rules(runtime, hub):
    number = hub.prepare("a", "vat", period="2026-10", boxes=BOXES)["number"]
    hub.send_receive()
    (sub,) = runtime.simulators["digipoort"].model.submissions()
    assert re.fullmatch(r"CS000001-1-[0-9a-f]{6}", sub["contextId"]) and sub["contextId"].endswith(hub.installation)
    assert sub["aanleverkenmerk"] == sub["contextId"] and len(sub["contextId"]) <= 40  # aanleverkenmerk <= 40
    assert hub.store.installation_id(lambda: "ffffff") == hub.installation  # made once, kept
    assert hub.message(number)["status"] == "delivered"


def test_another_hub_on_the_same_account_never_changes_our_messages(runtime, hub, tmp_path):
    mine = hub.prepare("b", "vat", period="2026-10", boxes=BOXES)["number"]  # queued here, not sent yet
    other = tmp_path / "other-hub"
    for args in (["tenant-create", "a", "--vat-number", "001000044B37"],
                 ["prepare", "a", "vat", "--period", "2026-10", "--box", "1a=10000", "--box", "1a_btw=2100"]):
        done = cli_hub(runtime, other, *args)
        assert done.returncode == 0, done.stderr
    # The other hub uploads its CS000001 and stops before it polls: its .ok waits in OUT.
    assert cli_hub(runtime, other, "send-receive", env={CRASH_ENV: "after_upload"}).returncode == 137
    runtime.scheduler.advance("15m")  # the other hub's answer is in OUT too now

    report = hub.send_receive("schedule")
    assert report.unknown == [] and [r["number"] for r in report.returns] == [mine]  # only our own .ok
    assert hub.message(mine)["status"] == "delivered"
    assert [r["kind"] for r in hub.history(mine)["returns"]] == ["ok"]
    user = runtime.simulators["hub"].config.digipoort_user
    left = {f["name"] for f in runtime.simulators["digipoort"].model.files(user, "OUT")}
    assert len(left) == 3 and any(n.startswith("CS000001-1-") and n.endswith(".ok") for n in left)  # theirs

    done = cli_hub(runtime, other, "--json", "send-receive")  # the other hub takes its own
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["unknown"] == []
    theirs = json.loads(cli_hub(runtime, other, "--json", "status", "a").stdout)
    assert [(m["number"], m["status"]) for m in theirs] == [("CS000001", "accepted")]
    refs = [s["contextId"] for s in runtime.simulators["digipoort"].model.submissions()]
    assert len(refs) == len(set(refs)) == 2  # two CS000001-1 submissions, told apart by installation
    runtime.scheduler.advance("15m")
    hub.send_receive()
    assert hub.message(mine)["status"] == "accepted" and hub.unknown()["returns"] == []


def test_an_answer_taken_in_before_its_ok_is_linked_when_the_ok_comes(runtime, hub):
    """The answer is unknown until the .ok of our reference names its kenmerk; then it is ours."""
    number = hub.prepare("a", "vat", period="2026-10", boxes=BOXES)["number"]
    hub.send_receive()
    runtime.scheduler.advance("15m")
    hub.digipoort.poll()  # the answer is in the client's store now, not yet taken in by the hub
    with hub.store.transaction() as db:  # as if the .ok had not been taken in either
        db.execute("UPDATE attempts SET kenmerk=NULL")
        db.execute("DELETE FROM returns")
        db.execute("UPDATE messages SET status='sent'")
    with hub.digipoort.store.transaction() as db:
        db.execute("UPDATE responses SET rowid=rowid+1000 WHERE kind='ok'")  # the .ok now after the answer
    report = hub.send_receive()
    assert [r["status"] for r in report.returns] == ["accepted", "delivered"]  # answer first, then the .ok
    assert hub.message(number)["status"] == "accepted"
    assert hub.unknown()["returns"] == [] and report.unknown == []
    assert [r["kind"] for r in hub.history(number)["returns"]] == ["answer", "ok"]
