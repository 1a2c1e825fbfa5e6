"""The VIES admin API under /api/vies/ over real HTTP; its place in /api/endpoints and in OpenAPI."""

from __future__ import annotations

import pytest


def test_numbers_list_add_replace_remove(vies):
    listed = vies.api("GET", "api/vies/numbers").json()
    assert {"number": "DE136695976", "country": "DE", "valid": True, "name": None, "address": None,
            "source": "config"} in listed
    added = vies.api("POST", "api/vies/numbers", json={"number": "at u13585627", "name": "TEST GMBH"})
    assert added.status_code == 201
    assert added.json() == {"number": "ATU13585627", "country": "AT", "valid": True, "name": "TEST GMBH",
                            "address": None, "source": "api"}
    replaced = vies.api("POST", "api/vies/numbers", json={"number": "ATU13585627", "valid": False})
    assert replaced.json()["valid"] is False
    assert vies.api("DELETE", "api/vies/numbers/atu13585627").json() == {"removed": "ATU13585627"}
    gone = vies.api("DELETE", "api/vies/numbers/ATU13585627")
    assert gone.status_code == 404 and "GET /api/vies/numbers" in gone.json()["error"]["message"]


@pytest.mark.parametrize("body, message", [
    ({"number": "US123456789"}, "is not a VIES number"),
    ({"number": "NL1234567890123"}, "is not a VIES number"),
    ({"numbr": "NL123456782B01"}, "numbr: unknown setting"),
    ({}, "number"),
])
def test_a_bad_number_is_refused_with_a_reason(vies, body, message):
    response = vies.api("POST", "api/vies/numbers", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_countries_unavailable_and_back(vies):
    countries = vies.api("GET", "api/vies/countries").json()
    assert len(countries) == 28 and all(c["available"] for c in countries)
    assert {"country": "EL", "available": True} in countries
    assert {"country": "XI", "available": True} in countries
    down = vies.api("POST", "api/vies/countries/nl", json={"available": False})
    assert down.json() == {"country": "NL", "available": False}
    assert {"country": "NL", "available": False} in vies.api("GET", "api/vies/countries").json()
    assert vies.api("POST", "api/vies/countries/NL", json={"available": True}).status_code == 200
    assert vies.api("POST", "api/vies/countries/US", json={"available": False}).status_code == 400
    assert vies.api("POST", "api/vies/countries/NL", json={"available": "no"}).status_code == 400


def test_requests_are_listed_and_filtered(vies, envelope):
    vies.post(envelope("NL", "123456782B01"))
    vies.post(envelope("NL", "301"), service="checkVatTestService")
    listed = vies.api("GET", "api/vies/requests").json()
    assert [(r["service"], r["number"], r["outcome"], r["fault"]) for r in listed] == [
        ("production", "123456782B01", "valid", None), ("test", "301", "fault", "MS_UNAVAILABLE")]
    assert len(vies.api("GET", "api/vies/requests?service=test").json()) == 1
    bad = vies.api("GET", "api/vies/requests?colour=red")
    assert bad.status_code == 400 and "filters:" in bad.json()["error"]["message"]


def test_codes_tell_provenance(vies):
    codes = vies.api("GET", "api/vies/codes").json()
    provenance = {f["code"]: f["provenance"] for f in codes["faults"]}
    assert provenance["MS_UNAVAILABLE"] == "wsdl" and provenance["VAT_BLOCKED"] == "test-wsdl"
    assert codes["test_numbers"]["100"] == "valid"
    assert codes["test_numbers"]["601"] == "MS_MAX_CONCURRENT_REQ_TIME"


def test_rules_through_the_core_api(vies, envelope):
    added = vies.api("POST", "api/rules", json={"sim": "vies", "when": {"country": "BE"},
                                                 "fault": "MS_MAX_CONCURRENT_REQ", "times": 1})
    assert added.status_code == 201, added.text
    answer = vies.post(envelope("BE", "0403170701")).content
    assert b"<faultstring>MS_MAX_CONCURRENT_REQ</faultstring>" in answer
    refused = vies.api("POST", "api/rules", json={"sim": "vies", "when": {}, "fault": "BUSY"})
    assert refused.status_code == 400 and "must name a VIES fault" in refused.json()["error"]["message"]


def test_reset_through_the_api(vies, envelope):
    vies.api("POST", "api/vies/countries/NL", json={"available": False})
    vies.post(envelope("NL", "123456782B01"))
    assert vies.api("POST", "api/reset", json={"sim": "vies"}).json() == {"reset": "vies"}
    assert vies.api("GET", "api/vies/requests").json() == []
    assert b"<ns2:valid>true</ns2:valid>" in vies.post(envelope("NL", "123456782B01")).content


def test_endpoint_and_openapi(vies):
    endpoints = {e["name"]: e for e in vies.api("GET", "api/endpoints").json()}
    soap = endpoints["vies-soap"]
    assert (soap["simulator"], soap["protocol"], soap["tls"]) == ("vies", "http", "none")
    assert soap["url"] == vies.wsdl_url() and soap["port"] > 0
    paths = vies.api("GET", "api/openapi.json").json()["paths"]
    assert {"/api/vies/numbers", "/api/vies/numbers/{number}", "/api/vies/countries",
            "/api/vies/countries/{country}", "/api/vies/requests", "/api/vies/codes"} <= set(paths)
    assert paths["/api/vies/numbers"]["post"]["tags"] == ["vies"]
