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


def test_bodies_are_checked_field_by_field_with_a_400_naming_the_field(runtime):
    def refused(method: str, path: str, body: dict) -> str:
        status, answer = call(runtime, method, path, body)
        assert status == 400, (status, answer)
        return answer["error"]["message"]

    assert "unknown field 'colour'" in refused("POST", "/tenants/a/messages",
                                               {"type": "vat", "period": "2026-10", "colour": "red"})
    # Names the Hub's own parameters once were: a body field, never a keyword argument.
    assert "unknown field 'tenant_id'" in refused("POST", "/tenants/a/messages", {"type": "vat", "tenant_id": "b"})
    assert "'boxes' must be an object" in refused("POST", "/tenants/a/messages",
                                                  {"type": "vat", "period": "2026-10", "boxes": [1, 2]})
    assert "box 1a must be whole euros" in refused("POST", "/tenants/a/messages",
                                                   {"type": "vat", "period": "2026-10", "boxes": {"1a": "10"}})
    assert "'year' must be a whole number" in refused("POST", "/tenants/a/messages", {"type": "kvk", "year": "2025"})
    assert "'type' must be one of" in refused("POST", "/tenants/a/messages", {"period": "2026-10"})
    assert "'relation_ids' must be a list" in refused("POST", "/tenants", {"id": "c", "relation_ids": "7000123"})
    assert "'emails' must be a list of strings" in refused("POST", "/tenants", {"id": "c", "emails": [7]})
    assert "'name' must be a string" in refused("POST", "/tenants", {"id": "c", "name": {"x": 1}})
    assert "unknown field(s) ['exist_ok']" in refused("POST", "/tenants", {"id": "a", "exist_ok": True})
    assert [t["id"] for t in call(runtime, "GET", "/tenants")[1]] == ["a", "b"]  # nothing made on the way
    made = call(runtime, "POST", "/tenants/a/messages", {"type": "vat", "period": "2026-10",
                                                         "boxes": {"1a": 10000, "1a_btw": 2100}})[1]
    assert "unknown field 'number'" in refused("POST", f"/messages/{made['number']}/resubmit", {"number": "x"})
