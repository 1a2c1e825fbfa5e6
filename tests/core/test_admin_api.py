"""The admin HTTP API over real HTTP against a running Runtime (admin API + Digipoort FTP on free ports)."""

from __future__ import annotations

import ftplib
import re
import socket
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
import requests

from simulators.core.admin import MAX_ADMIN_BODY
from simulators.core.clock import VirtualClock, parse_instant
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections
from simulators.core.runtime import settings_for_tests as sim_test_settings

register_config_sections()

START = "2026-11-20T08:00:00Z"
TIMEOUT = 10  # real seconds, for real I/O only
RECURRING = {"cbftp.outage": 1}  # planned by the CB simulator at start and again at every reset


def make_runtime(state_dir) -> Runtime:
    config = config_from_dict({"state_dir": str(state_dir), "admin_port": 0, **sim_test_settings()})
    return Runtime(config, clock=VirtualClock(START))


@pytest.fixture(scope="module")
def rt(tmp_path_factory):
    runtime = make_runtime(tmp_path_factory.mktemp("admin-state"))
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture
def api(rt):
    """A small client for the admin API; the runtime is reset before each test."""
    client = Api(rt.endpoint("admin").url)
    response = client.post("api/reset")
    assert response.status_code == 200, response.text
    return client


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base + path.lstrip("/"), timeout=TIMEOUT, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def now(self) -> datetime:
        return parse_instant(self.get("api/clock").json()["now"])

    def last_journal_id(self) -> int:
        entries = self.get("api/journal").json()
        return entries[-1]["id"] if entries else 0


def assert_error(response: requests.Response, status: int, code: str, *message_parts: str) -> dict:
    """An error answer: the HTTP status, JSON {error: {code, message}}, the message naming the problem."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    for part in message_parts:
        assert part in error["message"], f"{part!r} not in {error['message']!r}"
    return error


def ftp_session(rt: Runtime, *commands: str) -> list[str]:
    """A real FTP control connection to the Digipoort listener; returns the reply to each command."""
    ep = rt.endpoint("digipoort-ftp")
    replies = []
    ftp = ftplib.FTP()
    ftp.connect(ep.host, ep.port, timeout=TIMEOUT)
    try:
        replies.append(ftp.getwelcome())
        for command in commands:
            try:
                replies.append(ftp.sendcmd(command))
            except ftplib.Error as exc:
                replies.append(str(exc))
    finally:
        try:
            ftp.quit()
        except (ftplib.Error, OSError):
            ftp.close()
    return replies


# -- health and endpoints -------------------------------------------------------------------------------


def test_livez_and_readyz(api, rt):
    live = api.get("livez")
    assert live.status_code == 200 and live.json() == {"status": "alive"}
    ready = api.get("readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "endpoints": len(rt.endpoints)}
    assert {e.name for e in rt.endpoints} == {"admin", "digipoort-ftp", "mailbox-smtp", "cb-ftps", "vies-soap",
                                                "ccvshop-http", "twinfield-http"}


def test_endpoints_list_admin_and_digipoort_ftp_with_real_ports(api):
    endpoints = {e["name"]: e for e in api.get("api/endpoints").json()}
    assert set(endpoints) == {"admin", "digipoort-ftp", "mailbox-smtp", "cb-ftps", "vies-soap", "ccvshop-http", "twinfield-http"}

    admin = endpoints["admin"]
    assert (admin["simulator"], admin["protocol"], admin["tls"]) == ("core", "http", "none")
    assert admin["port"] == urlsplit(api.base).port and admin["port"] > 0
    assert admin["url"] == api.base

    ftp = endpoints["digipoort-ftp"]
    assert (ftp["simulator"], ftp["protocol"], ftp["tls"]) == ("digipoort", "ftp", "explicit")
    assert isinstance(ftp["port"], int) and ftp["port"] > 0 and ftp["port"] != admin["port"]
    assert ftp["url"] == f"ftp://{ftp['host']}:{ftp['port']}/"
    assert {"user": "acme", "password": "acme-secret"} in ftp["credentials"]
    # the port is a real, serving FTP listener
    with socket.create_connection((ftp["host"], ftp["port"]), timeout=TIMEOUT) as conn:
        assert conn.makefile("rb").readline().startswith(b"220 ")


# -- clock ----------------------------------------------------------------------------------------------


def test_get_clock_describes_time_and_scheduler(api):
    body = api.get("api/clock").json()
    assert body["kind"] == "virtual"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["now"])
    # reset clears events; what stays is each simulator's recurring ones (CB's weekly maintenance)
    assert body["scheduler"]["by_kind"] == RECURRING and body["scheduler"]["failed"] == 0


def test_post_clock_advance_moves_the_clock(api):
    before = api.now()
    response = api.post("api/clock", json={"advance": "2h"})
    assert response.status_code == 200
    assert parse_instant(response.json()["now"]) == before + timedelta(hours=2)
    assert api.now() == before + timedelta(hours=2)
    api.post("api/clock", json={"advance": "PT1H30M"})
    assert api.now() == before + timedelta(hours=3, minutes=30)


def test_post_clock_advance_takes_a_number_of_seconds(api):
    before = api.now()
    assert api.post("api/clock", json={"advance": 90}).status_code == 200
    assert api.now() == before + timedelta(seconds=90)


def test_post_clock_set_moves_to_the_instant(api):
    target = api.now().replace(microsecond=0) + timedelta(days=1, minutes=7)
    cet = timezone(timedelta(hours=1))
    response = api.post("api/clock", json={"set": target.astimezone(cet).isoformat()})  # an offset form
    assert response.status_code == 200, response.text
    assert parse_instant(response.json()["now"]) == target
    assert api.now() == target
    # setting the current instant is not "backwards"
    assert api.post("api/clock", json={"set": target.isoformat()}).status_code == 200


def test_post_clock_fires_due_events_in_order_each_at_its_due_time(api, rt):
    fired: list[tuple] = []
    kind = "test.admin.ping"
    rt.scheduler.register(kind, lambda payload, due: fired.append((payload["n"], due, rt.clock.now())))
    start = api.now()
    rt.scheduler.schedule(kind, start + timedelta(minutes=90), {"n": 2})
    rt.scheduler.schedule(kind, start + timedelta(minutes=30), {"n": 1})
    rt.scheduler.schedule(kind, start + timedelta(hours=5), {"n": 3})
    pending = api.get("api/clock").json()["scheduler"]
    assert pending["by_kind"] == {**RECURRING, kind: 3}
    assert parse_instant(pending["next_due"]) == start + timedelta(minutes=30)

    body = api.post("api/clock", json={"advance": "2h"}).json()

    assert [(n, due) for n, due, _ in fired] == [(1, start + timedelta(minutes=30)),
                                                  (2, start + timedelta(minutes=90))]
    assert all(seen == due for _, due, seen in fired)
    assert body["scheduler"]["by_kind"] == {**RECURRING, kind: 1}
    assert body["scheduler"]["next_due"] == rt.scheduler.pending()[0]["due"]


def test_post_clock_with_both_or_neither_is_refused(api):
    before = api.now()
    assert_error(api.post("api/clock", json={"advance": "1h", "set": START}), 400, "bad_request",
                 "either 'advance' or 'set', not both")
    assert_error(api.post("api/clock", json={}), 400, "bad_request", "'advance'", "'set'")
    assert_error(api.post("api/clock", json={"forward": "1h"}), 400, "bad_request", "'advance'")
    assert api.now() == before


def test_post_clock_with_a_bad_duration_or_instant_is_refused_readably(api):
    before = api.now()
    error = assert_error(api.post("api/clock", json={"advance": "2x"}), 400, "bad_clock_request")
    assert error["message"] == "not a duration: '2x' (use e.g. 90s, 5m, 2h, 1h30m, 3d or PT2H)"
    assert_error(api.post("api/clock", json={"advance": "P"}), 400, "bad_clock_request", "not a duration")
    assert_error(api.post("api/clock", json={"advance": True}), 400, "bad_clock_request", "not a duration")
    assert_error(api.post("api/clock", json={"set": "next tuesday"}), 400, "bad_clock_request",
                 "not an ISO 8601 date-time: 'next tuesday'")
    assert api.now() == before


def test_post_clock_set_backwards_is_refused(api):
    past = api.now() - timedelta(hours=1)
    assert_error(api.post("api/clock", json={"set": past.isoformat()}), 400, "bad_clock_request", "backwards")


def test_post_clock_negative_advance_is_refused(api):
    assert_error(api.post("api/clock", json={"advance": -300}), 400, "bad_clock_request", "backwards")


@pytest.mark.parametrize("body", ['{"advance": NaN}', '{"advance": 1e20}', '{"advance": "99999999d"}'])
def test_post_clock_absurd_durations_are_a_400_not_a_500(api, body):
    response = api.post("api/clock", data=body, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "bad_clock_request")


# -- journal --------------------------------------------------------------------------------------------


def test_journal_records_a_real_ftp_session_and_filters_it(api, rt):
    since = api.last_journal_id()
    replies = ftp_session(rt, "USER acme", "NOOP")
    assert replies[0].startswith("220 ")
    assert replies[1].startswith("550 ")  # plain FTP login: TLS required first

    ftp_entries = api.get("api/journal", params={"kind": "ftp.*", "since": since}).json()
    kinds = [e["kind"] for e in ftp_entries]
    assert kinds[:4] == ["ftp.connect", "ftp.reply", "ftp.command", "ftp.reply"]
    assert all(k.startswith("ftp.") for k in kinds)
    assert all(e["id"] > since for e in ftp_entries)
    assert [e["id"] for e in ftp_entries] == sorted(e["id"] for e in ftp_entries)
    assert all(e["sim"] == "digipoort" for e in ftp_entries)
    assert len({e["session"] for e in ftp_entries}) == 1

    # any other parameter filters on that field (wildcards allowed)
    refusals = api.get("api/journal", params={"code": "550", "since": since}).json()
    assert [(e["kind"], e["code"]) for e in refusals] == [("ftp.reply", "550")]
    users = api.get("api/journal", params={"kind": "ftp.command", "arg": "acm*", "since": since}).json()
    assert [(e["command"], e["arg"]) for e in users] == [("USER", "acme")]
    globbed = api.get("api/journal", params={"code": "5*", "kind": "ftp.reply", "since": since}).json()
    assert globbed == refusals
    limited = api.get("api/journal", params={"kind": "ftp.*", "since": since, "limit": 2}).json()
    assert limited == ftp_entries[:2]
    assert api.get("api/journal", params={"sim": "digipoort", "since": since, "kind": "ftp.connect"}).json() \
        == ftp_entries[:1]
    assert api.get("api/journal", params={"sim": "cbftp", "since": since}).json() == []
    assert api.get("api/journal", params={"since": ftp_entries[-1]["id"], "kind": "ftp.connect"}).json() == []


def test_journal_entries_carry_clock_time(api, rt):
    api.post("api/clock", json={"advance": "3h"})
    now = api.get("api/clock").json()["now"]
    since = api.last_journal_id()
    ftp_session(rt)
    (connect,) = api.get("api/journal", params={"kind": "ftp.connect", "since": since}).json()
    assert connect["at"] == now


@pytest.mark.parametrize("param", ["since", "limit"])
def test_journal_refuses_non_numeric_since_and_limit(api, param):
    assert_error(api.get("api/journal", params={param: "abc"}), 400, "bad_request",
                 f"query parameter '{param}' must be a whole number, got 'abc'")


def test_journal_limit_zero_returns_nothing(api, rt):
    ftp_session(rt)
    assert api.get("api/journal", params={"limit": 0}).json() == []


def test_delete_journal_empties_it(api, rt):
    ftp_session(rt)
    assert api.get("api/journal").json() != []
    assert api.delete("api/journal").json() == {"cleared": True}
    assert api.get("api/journal").json() == []


# -- rules ----------------------------------------------------------------------------------------------

ICP_RULE = {"sim": "digipoort", "when": {"berichtsoort": "ICP"}, "error": {"code": "ALS140"}, "times": 1}


def test_add_get_list_and_delete_a_rule(api):
    created = api.post("api/rules", json=ICP_RULE)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule == {"id": rule["id"], "sim": "digipoort", "error": {"code": "ALS140"},
                    "when": {"berichtsoort": "ICP"}, "action": "error", "times": 1, "hits": 0, "remaining": 1}

    assert api.get(f"api/rules/{rule['id']}").json() == rule
    assert api.get("api/rules").json() == [rule]
    assert api.get("api/rules", params={"sim": "digipoort"}).json() == [rule]
    assert api.get("api/rules", params={"sim": "cbftp"}).json() == []

    removed = api.delete(f"api/rules/{rule['id']}")
    assert removed.status_code == 200 and removed.json() == {"removed": rule["id"]}
    assert api.get("api/rules").json() == []
    assert_error(api.get(f"api/rules/{rule['id']}"), 404, "not_found", f"no rule with id {rule['id']}")
    assert_error(api.delete(f"api/rules/{rule['id']}"), 404, "not_found", f"no rule with id {rule['id']}")


def test_rules_are_listed_in_the_order_added_and_can_be_cleared(api):
    ids = [api.post("api/rules", json={**ICP_RULE, "when": {"filename": f"{n}.xml"}}).json()["id"]
           for n in range(3)]
    assert [r["id"] for r in api.get("api/rules").json()] == ids == sorted(ids)
    assert api.delete("api/rules", params={"sim": "digipoort"}).json() == {"cleared": True}
    assert api.get("api/rules").json() == []


@pytest.mark.parametrize(
    ("rule", "message_parts"),
    [
        ({"sim": "digipoort", "when": {}, "error": {"code": "XX"}},
         ["rule for digipoort", "error.code", "'XX'"]),
        ({"sim": "digipoort", "when": {}, "error": {"code": "ALS140", "txt": "x"}},
         ["unknown field", "'txt'"]),
        ({"sim": "digipoort", "when": {}, "teleport": {}}, ["unknown Digipoort rule action 'teleport'"]),
        ({"sim": "digipoort", "when": {}, "ftp": {"reply": "hello"}}, ["ftp.reply must be a code and text"]),
        ({"sim": "digipoort", "when": {}, "answer": {"outcome": "maybe"}}, ["answer.outcome must be one of"]),
        ({"sim": "digipoort", "when": {}, "answer": {"after": "2x"}}, ["not a duration: '2x'"]),
        ({"sim": "digipoort", "when": {}}, ["exactly one action", "got none"]),
        ({"sim": "digipoort", "error": {"code": "ALS140"}, "ftp": {"reply": "421 x"}},
         ["exactly one action", "'error'", "'ftp'"]),
        ({"sim": "digipoort", "when": "ICP", "error": {"code": "ALS140"}}, ["'when' must be an object"]),
        # A misspelt field would make a rule that never fires: refused, naming the fields there are.
        ({"sim": "digipoort", "when": {"berichtsort": "ICP"}, "error": {"code": "ALS140"}},
         ["Digipoort 'error' rules match on", "berichtsoort", "not on 'berichtsort'"]),
        ({"sim": "digipoort", "when": {"berichtsoort": "ICP"}, "ftp": {"reply": "421 x"}},
         ["Digipoort 'ftp' rules match on arg, command, user", "not on 'berichtsoort'"]),
        ({"sim": "vies", "when": {"contry": "NL"}, "fault": "MS_UNAVAILABLE"},
         ["VIES rules match on", "country", "not on 'contry'"]),
        ({"sim": "twinfield", "when": {"invoicenumbr": "5870"}, "reject": {"msg": "Nee"}},
         ["Twinfield 'reject' rules match on", "invoicenumber", "not on 'invoicenumbr'"]),
        ({"sim": "twinfield", "when": {"user": "x"}, "reject": {"msg": "Nee"}},
         ["Twinfield 'reject' rules match on", "not on 'user'"]),
        ({"sim": "cbftp", "when": {"cmd": "STOR"}, "ftp": {"reply": "421 x"}},
         ["CB 'ftp' rules match on arg, command, user", "not on 'cmd'"]),
        ({"sim": "digipoort", "error": {"code": "ALS140"}, "times": 0},
         ["'times' must be a positive whole number"]),
        ({"sim": "nope", "error": {"code": "ALS140"}}, ["unknown simulator 'nope'", "digipoort"]),
        ({"when": {}, "error": {"code": "ALS140"}}, ["a rule needs 'sim'"]),
    ],
)
def test_invalid_rules_are_refused_naming_the_problem(api, rule, message_parts):
    assert_error(api.post("api/rules", json=rule), 400, "bad_request", *message_parts)
    assert api.get("api/rules").json() == []


def test_a_non_integer_rule_id_is_not_a_route(api):
    error = assert_error(api.get("api/rules/abc"), 404, "not_found", "no such endpoint: GET /api/rules/abc")
    assert "/api/openapi.json" in error["message"]


def test_an_ftp_rule_fires_once_on_the_real_server(api, rt):
    rule = api.post("api/rules", json={"sim": "digipoort", "when": {"command": "USER"},
                                       "ftp": {"reply": "421 Busy, try later"}, "times": 1}).json()
    since = api.last_journal_id()
    first = ftp_session(rt, "USER acme")
    second = ftp_session(rt, "USER acme")
    assert first[1] == "421 Busy, try later"
    assert second[1].startswith("550 ")  # used up: the normal answer again
    stored = api.get(f"api/rules/{rule['id']}").json()
    assert (stored["hits"], stored["remaining"]) == (1, 0)
    applied = api.get("api/journal", params={"kind": "rule.applied", "since": since}).json()
    assert [(e["rule"], e["command"]) for e in applied] == [(rule["id"], "USER")]


def test_a_named_rule_is_accepted_whatever_the_key_order(api):
    response = api.post("api/rules", json={"sim": "digipoort", "name": "ICP fails once",
                                           "when": {"berichtsoort": "ICP"}, "error": {"code": "ALS140"}})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "ICP fails once"


def test_a_rule_body_cannot_fake_its_id(api):
    refused = api.post("api/rules", json={"sim": "digipoort", "error": {"code": "ALS140"}, "id": 999})
    assert refused.status_code == 400
    assert "['id'] are set by koppelsim" in refused.json()["error"]["message"]
    assert api.get("api/rules").json() == []


# -- reset ----------------------------------------------------------------------------------------------


def test_reset_goes_back_to_the_configured_state(api, rt):
    api.post("api/rules", json=ICP_RULE)
    api.post("api/digipoort/accounts", json={"user": "bob", "password": "pw"})
    rt.scheduler.register("test.admin.reset", lambda payload, due: None)
    rt.scheduler.schedule_in("test.admin.reset", "1h")
    ftp_session(rt)
    before = api.now()

    assert api.post("api/reset").json() == {"reset": "all"}

    assert api.get("api/rules").json() == []
    assert api.get("api/journal").json() == []
    assert api.get("api/clock").json()["scheduler"]["by_kind"] == RECURRING
    assert [a["user"] for a in api.get("api/digipoort/accounts").json()] == ["acme", "hub"]
    assert api.now() == before  # time does not go back


def test_reset_of_one_simulator(api, rt):
    api.post("api/rules", json=ICP_RULE)
    ftp_session(rt)
    assert api.post("api/reset", params={"sim": "digipoort"}).json() == {"reset": "digipoort"}
    assert api.get("api/rules").json() == []
    assert api.get("api/journal").json() != []  # the journal is only cleared by a full reset
    assert api.post("api/reset", json={"sim": "digipoort"}).json() == {"reset": "digipoort"}


def test_reset_of_an_unknown_simulator_is_refused(api):
    assert_error(api.post("api/reset", params={"sim": "exactonline"}), 400, "bad_request",
                 "unknown simulator 'exactonline'", "digipoort")
    assert_error(api.post("api/reset", json={"sim": "exactonline"}), 400, "bad_request", "'exactonline'")


# -- HTTP-level errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["nope", "api/nope", "api/digipoort/nope", "api/rules/1/extra"])
def test_unknown_path_is_a_json_404(api, path):
    assert_error(api.get(path), 404, "not_found", f"no such endpoint: GET /{path}")


@pytest.mark.parametrize(("method", "path"), [("PUT", "api/clock"), ("DELETE", "livez"),
                                              ("POST", "api/journal"), ("PATCH", "api/rules/1"),
                                              ("DELETE", "api/endpoints")])
def test_wrong_method_is_a_json_405(api, method, path):
    assert_error(api.request(method, path, json={}), 405, "method_not_allowed",
                 f"{method} is not allowed on /{path}")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "the request body is not valid JSON"),
        ("{broken", "the request body is not valid JSON"),
        (b"\xff\xfe{", "the request body is not valid JSON"),
        ("[1, 2]", "the request body must be a JSON object"),
        ('"advance"', "the request body must be a JSON object"),
        ("", "this request needs a JSON body"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api, data, message):
    assert_error(api.post("api/clock", data=data, headers={"Content-Type": "application/json"}), 400,
                 "bad_request", message)
    assert_error(api.post("api/rules", data=data), 400, "bad_request", message)


def test_a_body_over_one_megabyte_is_a_json_413(api):
    body = b'{"advance": "' + b"1" * MAX_ADMIN_BODY + b's"}'
    assert_error(api.post("api/clock", data=body, headers={"Content-Type": "application/json"}), 413,
                 "request_entity_too_large")
    assert api.get("livez").status_code == 200  # and the server keeps serving


def test_a_body_just_under_the_limit_is_read(api):
    padding = MAX_ADMIN_BODY - 100
    body = b'{"advance": "1s"' + b" " * padding + b"}"
    assert api.post("api/clock", data=body, headers={"Content-Type": "application/json"}).status_code == 200


def test_a_chunked_body_over_one_megabyte_is_a_413(api):
    def chunks():
        yield b'{"sim": "digipoort", "when": {"x": "'
        for _ in range(MAX_ADMIN_BODY // 1024 + 10):
            yield b"a" * 1024
        yield b'"}, "error": {"code": "ALS140"}}'

    assert_error(api.post("api/rules", data=chunks(), headers={"Content-Type": "application/json"}), 413,
                 "request_entity_too_large")


# -- OpenAPI --------------------------------------------------------------------------------------------


def _flask_routes(rt: Runtime) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in rt.admin.app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


@pytest.fixture(scope="module")
def openapi_doc(rt):
    response = requests.get(rt.endpoint("admin").url + "api/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()


def test_openapi_is_a_3_1_document(openapi_doc):
    assert openapi_doc["openapi"].startswith("3.1.")
    assert openapi_doc["info"]["title"] and openapi_doc["info"]["version"]
    assert isinstance(openapi_doc["paths"], dict) and openapi_doc["paths"]
    assert "Error" in openapi_doc["components"]["schemas"]


def test_openapi_lists_every_route_of_the_app_with_its_methods(openapi_doc, rt):
    routes = _flask_routes(rt)
    assert "/api/rules/{rule_id}" in routes and "/api/digipoort/files/{user}/{folder}" in routes
    documented = {path: set(ops) for path, ops in openapi_doc["paths"].items()}
    assert documented == routes
    for path in documented:
        assert "<" not in path and ">" not in path


def test_openapi_operations_are_complete(openapi_doc):
    operation_ids = []
    for path, operations in openapi_doc["paths"].items():
        path_params = set(re.findall(r"\{(\w+)\}", path))
        for method, op in operations.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            assert op["summary"].strip(), f"{method.upper()} {path} has an empty summary"
            assert "\n" not in op["summary"]
            assert op["responses"]
            assert all(isinstance(r["description"], str) for r in op["responses"].values())
            operation_ids.append(op["operationId"])
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == path_params, f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                assert param["in"] in {"path", "query"}
                if param["in"] == "path":
                    assert param["required"] is True
            if "requestBody" in op:
                assert method in {"post", "put", "patch"}
                assert "application/json" in op["requestBody"]["content"]
            assert op["tags"]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def test_openapi_path_parameter_types_follow_the_converters(openapi_doc):
    params = openapi_doc["paths"]["/api/rules/{rule_id}"]["get"]["parameters"]
    assert params == [{"name": "rule_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    files = openapi_doc["paths"]["/api/digipoort/files/{user}/{folder}"]["get"]["parameters"]
    assert [(p["name"], p["schema"]["type"]) for p in files] == [("user", "string"), ("folder", "string")]


def test_openapi_documents_bodies_and_query_parameters(openapi_doc):
    clock = openapi_doc["paths"]["/api/clock"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(clock["properties"]) == {"advance", "set"}
    journal = {p["name"] for p in openapi_doc["paths"]["/api/journal"]["get"]["parameters"]}
    assert {"sim", "kind", "since", "limit"} <= journal
    assert "requestBody" not in openapi_doc["paths"]["/api/clock"]["get"]


def test_openapi_refs_resolve(openapi_doc):
    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    found = list(refs(openapi_doc))
    assert found
    for ref in found:
        assert ref.startswith("#/")
        node = openapi_doc
        for part in ref[2:].split("/"):
            node = node[part]
        assert isinstance(node, dict)


def test_openapi_documents_the_success_status_actually_sent(openapi_doc, api):
    assert api.post("api/rules", json=ICP_RULE).status_code == 201
    assert "201" in openapi_doc["paths"]["/api/rules"]["post"]["responses"]


def test_openapi_validates_with_openapi_spec_validator(openapi_doc):
    import openapi_spec_validator

    openapi_spec_validator.validate(openapi_doc)


# -- Digipoort admin routes -----------------------------------------------------------------------------


def test_digipoort_codes(api):
    codes = api.get("api/digipoort/codes").json()
    assert set(codes) == {"faults", "statuses", "stubs"}
    faults = {f["code"]: f for f in codes["faults"]}
    assert {"ALS100", "ALS140", "ALS400"} <= set(faults)
    assert all(f["text"] and f["provenance"] for f in codes["faults"])
    assert codes["statuses"]
    assert all({"code", "text", "final", "provenance"} <= set(s) for s in codes["statuses"])
    assert "Happyflow" in {s["aanleverkenmerk"] for s in codes["stubs"]}


def test_digipoort_accounts_create_and_list_without_passwords(api):
    created = api.post("api/digipoort/accounts", json={"user": "bob", "password": "s3cret",
                                                       "berichtsoorten": ["ICP"]})
    assert created.status_code == 201, created.text
    assert created.json() == {"user": "bob", "berichtsoorten": ["ICP"], "identities": None}
    listed = api.get("api/digipoort/accounts")
    assert listed.json() == [
        {"user": "acme", "berichtsoorten": None, "identities": None},
        {"user": "bob", "berichtsoorten": ["ICP"], "identities": None},
        {"user": "hub", "berichtsoorten": None, "identities": None},
    ]
    assert "s3cret" not in listed.text and "acme-secret" not in listed.text and "password" not in listed.text
    assert "hub-secret" not in listed.text
    # the new account's folders exist
    assert api.get("api/digipoort/files/bob/IN").json() == []
    assert api.get("api/digipoort/files/bob/OUT").json() == []


def test_digipoort_account_refusals(api):
    missing = api.post("api/digipoort/accounts", json={"user": "bob"})
    assert_error(missing, 400, "bad_request", "request body: top level: missing 'password'")
    assert "__init__" not in missing.text, "a person's message, not Python's"
    bad = api.post("api/digipoort/accounts", json={"user": "bob", "password": "x", "pasword": "y"})
    assert_error(bad, 400, "bad_request", "pasword")
    assert_error(api.post("api/digipoort/accounts", json={"user": "../evil", "password": "x"}), 400,
                 "bad_request", "'../evil'")
    assert [a["user"] for a in api.get("api/digipoort/accounts").json()] == ["acme", "hub"]


def test_digipoort_files(api):
    assert api.get("api/digipoort/files/acme/IN").json() == []
    assert_error(api.get("api/digipoort/files/nobody/IN"), 404, "not_found", "no Digipoort account 'nobody'")
    assert_error(api.get("api/digipoort/files/acme/TMP"), 400, "bad_request", "folder must be IN or OUT")


def test_digipoort_submissions_start_empty(api):
    response = api.get("api/digipoort/submissions")
    assert response.status_code == 200 and response.json() == []
    assert_error(api.get("api/digipoort/submissions/unknown-kenmerk"), 404, "not_found")


# -- lifecycle of a whole runtime -----------------------------------------------------------------------


def test_stop_releases_the_ports_and_stopping_twice_is_harmless(tmp_path):
    runtime = make_runtime(tmp_path)
    runtime.start()
    admin_port = runtime.endpoint("admin").port
    ftp_port = runtime.endpoint("digipoort-ftp").port
    assert requests.get(runtime.endpoint("admin").url + "livez", timeout=TIMEOUT).status_code == 200
    runtime.stop()
    runtime.stop()
    for port in (admin_port, ftp_port):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_rules_and_journal_survive_a_restart_on_the_same_state_dir(tmp_path):
    first = make_runtime(tmp_path)
    first.start()
    try:
        base = first.endpoint("admin").url
        rule = requests.post(base + "api/rules", json=ICP_RULE, timeout=TIMEOUT).json()
        ftp_session(first)
        journal_before = requests.get(base + "api/journal", timeout=TIMEOUT).json()
    finally:
        first.stop()

    second = make_runtime(tmp_path)
    second.start()
    try:
        base = second.endpoint("admin").url
        assert requests.get(base + "api/rules", timeout=TIMEOUT).json() == [rule]
        journal_after = requests.get(base + "api/journal", timeout=TIMEOUT).json()
        assert journal_after[:len(journal_before)] == journal_before
    finally:
        second.stop()


def test_endpoints_show_the_credentials_as_they_are_now(api):
    assert api.post("api/digipoort/accounts", json={"user": "late", "password": "pw-late"}).status_code == 201
    ftp = next(e for e in api.get("api/endpoints").json() if e["name"] == "digipoort-ftp")
    assert {"user": "late", "password": "pw-late"} in ftp["credentials"]
    assert api.delete("api/digipoort/accounts/late").status_code == 200
    ftp = next(e for e in api.get("api/endpoints").json() if e["name"] == "digipoort-ftp")
    assert all(c["user"] != "late" for c in ftp["credentials"])


def test_the_admin_api_listens_on_admin_host_not_on_the_simulators_host(rt):
    assert rt.config.admin_host == "127.0.0.1"
    assert rt.endpoint("admin").host == "127.0.0.1"
