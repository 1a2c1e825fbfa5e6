"""The admin API's Twinfield routes: seeding, bookings line by line, tokens, codes, endpoints, reset."""

from __future__ import annotations

import pytest
import requests

TIMEOUT = 10


def test_endpoints_list_the_listener_with_users_and_clients(tw):
    listed = {e["name"]: e for e in tw.api("GET", "/api/endpoints").json()}
    entry = listed["twinfield-http"]
    assert entry["url"] == tw.base + "/" and entry["protocol"] == "http"
    creds = entry["credentials"]
    assert {"user": "koppeling", "password": "koppeling-secret", "organisation": "KOPPELSIM",
            "offices": ["NLA000001"]} in creds
    assert any(c.get("client_id") == "koppelsim" and c["client_secret"] == "koppelsim-secret" for c in creds)


def test_the_openapi_document_has_the_twinfield_routes(tw):
    paths = tw.api("GET", "/api/openapi.json").json()["paths"]
    for path in ("/api/twinfield/bookings", "/api/twinfield/tokens", "/api/twinfield/offices",
                 "/api/twinfield/tokens/expire"):
        assert path in paths


def test_seeding_through_the_api_makes_a_new_office_usable(tw):
    assert tw.api("POST", "/api/twinfield/offices", json={"code": "NLA123456", "name": "Nieuwe Winkel"}).status_code == 201
    assert tw.api("POST", "/api/twinfield/users", json={"user": "nieuw", "password": "geheim",
                                                        "offices": ["NLA123456"]}).status_code == 201
    assert tw.api("POST", "/api/twinfield/dimensions", json={"type": "DEB", "code": "5000", "name": "Klant",
                                                             "email": "k@example.com",
                                                             "office": "NLA123456"}).status_code == 201
    assert tw.api("POST", "/api/twinfield/vatcodes", json={
        "code": "VX", "name": "BTW extra", "office": "NLA123456",
        "percentages": [{"date": "20000101", "percentage": "13", "account": "1532"}]}).status_code == 201
    token = tw.login("nieuw", "geheim").access_token
    offices = tw.process("<list><type>offices</type></list>", token, company=None)
    assert [o.text for o in offices] == ["NLA123456"]
    customers = tw.api("GET", "/api/twinfield/dimensions", params={"office": "NLA123456", "type": "DEB"}).json()
    assert [(c["code"], c["email"]) for c in customers] == [("5000", "k@example.com")]
    vat = [v for v in tw.api("GET", "/api/twinfield/vatcodes", params={"office": "NLA123456"}).json()
           if v["code"] == "VX"]
    assert vat[0]["percentages"][0]["percentage"] == "13"
    bad = tw.api("POST", "/api/twinfield/users", json={"user": "x", "password": "y", "offices": ["NLA999999"]})
    assert bad.status_code == 400 and "not an office of KOPPELSIM" in bad.json()["error"]["message"]


def test_bookings_are_listed_line_by_line(tw, customer, sales_xml):
    tw.process(sales_xml("5869"))
    listed = tw.api("GET", "/api/twinfield/bookings", params={"kind": "sales"}).json()
    assert len(listed) == 1
    booking = listed[0]
    assert (booking["code"], booking["number"], booking["invoicenumber"], booking["location"]) == \
        ("VRK", "202600001", "5869", "temporary")
    assert [(ln["type"], ln["dim1"], ln["debitcredit"], ln["value"]) for ln in booking["lines"]] == [
        ("total", "1300", "debit", "121.00"), ("detail", "8000", "credit", "100.00"), ("vat", "1530", "credit", "21.00")]
    one = tw.api("GET", "/api/twinfield/bookings/NLA000001/VRK/202600001").json()
    assert one == booking
    assert tw.api("GET", "/api/twinfield/bookings/NLA000001/VRK/1").status_code == 404
    assert tw.api("GET", "/api/twinfield/bookings", params={"kind": "memo"}).json() == []


def test_tokens_can_be_issued_and_expired_through_the_api(tw):
    issued = tw.api("POST", "/api/twinfield/tokens", json={"user": "koppeling"})
    assert issued.status_code == 201
    token = issued.json()["access_token"]
    listed = tw.api("GET", "/api/twinfield/tokens").json()
    assert [t["kind"] for t in listed if t["active"]] == ["refresh", "access"]
    expired = tw.api("POST", "/api/twinfield/tokens/expire", json={"token": token}).json()
    assert expired == {"expired": 1}
    answer = requests.get(tw.base + "/auth/authentication/connect/accesstokenvalidation", params={"token": token},
                          timeout=TIMEOUT)
    assert answer.json() == {"Message": "expired_token"}


def test_codes_list_faults_and_messages_with_provenance(tw):
    codes = tw.api("GET", "/api/twinfield/codes").json()
    assert {"code": 354, "message": "Access denied. Token invalid.", "http_status": 401, "provenance": "real"} in \
        codes["faults"]
    texts = {m["text"]: m["provenance"] for m in codes["messages"]}
    assert texts["Grootboekrekening 11300 bestaat niet."] == "real"
    assert texts["Dagboek X bestaat niet."] == "chosen"


def test_a_reset_removes_bookings_and_reseeds(tw, customer, sales_xml):
    tw.process(sales_xml("5869"))
    assert tw.api("POST", "/api/reset", params={"sim": "twinfield"}).status_code == 200
    assert tw.bookings() == [] and tw.model.auth.tokens() == []
    assert [o.code for o in tw.model.directory.offices()] == ["NLA000001", "NLA000002", "NLA999999"]
    assert tw.api("GET", "/api/twinfield/dimensions", params={"type": "DEB"}).json() == []


@pytest.mark.parametrize("body, says", [
    ({}, "field 'user' is required"),
    ({"user": ["koppeling"]}, "field 'user' must be a non-empty str"),
    ({"user": "koppeling", "organisation": 7}, "field 'organisation' must be a non-empty str"),
    ({"user": "koppeling", "usr": "x"}, "unknown field 'usr'"),
    ({"user": "nobody"}, "no user 'nobody' in organisation 'KOPPELSIM'"),
    ({"user": "koppeling", "client_id": "elsewhere"}, "no OAuth client 'elsewhere'"),
    ({"user": "koppeling", "scope": "openid admin"}, "unknown: admin"),
    ({"user": "koppeling", "scope": 5}, "field 'scope' must be a non-empty str"),
])
def test_issuing_a_token_refuses_bad_input_with_a_clear_json_error(tw, body, says):
    answer = tw.api("POST", "/api/twinfield/tokens", json=body)
    assert answer.status_code == 400 and says in answer.json()["error"]["message"], answer.text
    assert tw.model.auth.tokens() == []


@pytest.mark.parametrize("body, status, says", [
    ({"kind": "bearer"}, 400, "kind must be one of access, refresh, session"),
    ({"token": 12}, 400, "field 'token' must be a non-empty str"),
    ({"token": "0" * 32}, 404, "no such token"),
    ({"everything": True}, 400, "unknown field 'everything'"),
])
def test_expiring_tokens_refuses_bad_input_with_a_clear_json_error(tw, body, status, says):
    token = tw.token()
    answer = tw.api("POST", "/api/twinfield/tokens/expire", json=body)
    assert answer.status_code == status and says in answer.json()["error"]["message"], answer.text
    assert tw.model.auth.validation(token)  # nothing was expired


def test_a_token_body_that_is_not_an_object_is_refused(tw):
    answer = tw.api("POST", "/api/twinfield/tokens", data="[1, 2]")
    assert answer.status_code == 400 and "JSON object" in answer.json()["error"]["message"]
