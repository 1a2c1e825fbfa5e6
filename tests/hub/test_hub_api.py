"""The hub through the admin HTTP API, over a real socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def call(runtime, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
    admin = runtime.endpoint("admin")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{admin.host}:{admin.port}/api/hub{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_prepare_send_receive_and_see_the_status_through_the_api(runtime):
    assert [t["id"] for t in call(runtime, "GET", "/tenants")[1]] == ["a", "b"]  # the two example tenants
    status, made = call(runtime, "POST", "/tenants/a/messages",
                        {"type": "vat", "period": "2026-10", "boxes": {"1a": 10000, "1a_btw": 2100}})
    assert status == 201 and made["status"] == "prepared"
    status, report = call(runtime, "POST", "/send-receive")
    assert status == 200 and report["sent"] == [made["number"]]
    runtime.scheduler.advance("15m")
    call(runtime, "POST", "/send-receive")
    status, seen = call(runtime, "GET", "/tenants/a/messages")
    assert [(m["number"], m["status"]) for m in seen] == [(made["number"], "accepted")]
    assert "returns" not in seen[0]  # the tenant sees status and reason, not the return messages
    status, history = call(runtime, "GET", f"/messages/{made['number']}")
    assert [r["kind"] for r in history["returns"]] == ["ok", "answer"]
    assert "Verwerkbaar" in history["returns"][1]["content"]
    assert call(runtime, "GET", "/tenants/b/messages")[1] == []


def test_bad_input_gets_clear_errors(runtime):
    status, body = call(runtime, "POST", "/tenants/nobody/messages", {"type": "vat"})
    assert status == 404 and body["error"]["code"] == "unknown_tenant"
    status, body = call(runtime, "POST", "/tenants/a/messages", {"type": "telegram"})
    assert status == 400 and "unknown message type 'telegram'" in body["error"]["message"]
    status, body = call(runtime, "POST", "/tenants/a/messages",
                        {"type": "vat", "period": "2026-10", "boxes": {"1a_btw": 2100, "5g": 5}})
    assert status == 400 and "box 5g is 5" in body["error"]["message"]
    status, body = call(runtime, "POST", "/tenants", {"id": "a"})
    assert status == 409
    status, body = call(runtime, "GET", "/messages/CS999999")
    assert status == 404 and body["error"]["code"] == "unknown_message"
    status, body = call(runtime, "POST", "/tenants", {"id": "c", "name": "Omgeving C", "vat_number": "003000012B01"})
    assert status == 201 and [t["id"] for t in call(runtime, "GET", "/tenants")[1]] == ["a", "b", "c"]
