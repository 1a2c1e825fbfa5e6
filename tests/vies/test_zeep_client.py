"""zeep, a real SOAP client, loads the WSDL the simulator serves and calls both operations over HTTP."""

from __future__ import annotations

from datetime import date

import pytest

zeep = pytest.importorskip("zeep", reason="zeep is in the test extras")


@pytest.fixture
def client(vies):
    return zeep.Client(vies.wsdl_url())


def test_the_wsdl_points_zeep_at_this_server(client, vies):
    service = client.wsdl.services["checkVatService"]
    port = service.ports["checkVatPort"]
    assert port.binding_options["address"] == vies.service_url()
    assert set(port.binding._operations) == {"checkVat", "checkVatApprox"}


def test_the_wsdl_is_served_at_the_query_form_too(vies):
    client = zeep.Client(vies.service_url("checkVatTestService") + "?wsdl")
    assert "checkVatTestService" in client.wsdl.services
    assert client.service.checkVat("AT", "100")["valid"] is True


def test_check_vat_valid_invalid_and_a_fault(client):
    answer = client.service.checkVat(countryCode="BE", vatNumber="0403170701")
    assert (answer["countryCode"], answer["vatNumber"], answer["valid"]) == ("BE", "0403170701", True)
    assert answer["name"] == "NV EXEMPLE" and answer["address"] == "RUE DE LA LOI 1\n1000 BRUXELLES"
    assert answer["requestDate"] == date(2026, 11, 21)
    assert client.service.checkVat("NL", "999999990B01")["valid"] is False
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.service.checkVat("GR", "094259216")  # VIES calls Greece EL
    assert fault.value.message == "INVALID_INPUT"


def test_an_empty_number_is_invalid_input(client):
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.service.checkVat("NL", "")
    assert fault.value.message == "INVALID_INPUT"


def test_a_rule_makes_the_next_two_dutch_checks_time_out(client, vies):
    added = vies.api("POST", "api/rules", json={"sim": "vies", "when": {"country": "NL"}, "fault": "TIMEOUT",
                                                 "times": 2})
    assert added.status_code == 201, added.text
    for _ in range(2):
        with pytest.raises(zeep.exceptions.Fault) as fault:
            client.service.checkVat("NL", "123456782B01")
        assert fault.value.message == "TIMEOUT"
    assert client.service.checkVat("BE", "0403170701")["valid"] is True  # Belgium was never affected
    assert client.service.checkVat("NL", "123456782B01")["valid"] is True  # the rule is used up
    assert vies.api("GET", f"api/rules/{added.json()['id']}").json()["remaining"] == 0
    assert [r["fault"] for r in vies.model.requests()] == ["TIMEOUT", "TIMEOUT", None, None]


def test_a_timeout_fault_is_answered_at_once_without_moving_the_clock(client, vies):
    before = vies.runtime.clock.now()
    vies.api("POST", "api/rules", json={"sim": "vies", "when": {}, "fault": {"code": "TIMEOUT"}})
    with pytest.raises(zeep.exceptions.Fault):
        client.service.checkVat("NL", "123456782B01")
    assert vies.runtime.clock.now() == before


def test_an_answer_rule_overrides_the_registry(client, vies):
    vies.api("POST", "api/rules", json={"sim": "vies", "when": {"vat": "NL123456782B01"},
                                        "answer": {"valid": False}, "times": 1})
    assert client.service.checkVat("NL", "123456782B01")["valid"] is False
    assert client.service.checkVat("NL", "123456782B01")["valid"] is True


def test_check_vat_approx_matches_trader_details(client):
    answer = client.service.checkVatApprox(
        countryCode="NL", vatNumber="123456782B01", traderName="koppelsim  test b.v.", traderCity="Amsterdam",
        traderPostcode="9999ZZ", requesterCountryCode="NL", requesterVatNumber="004495445B01")
    assert answer["valid"] is True
    assert answer["traderName"] == "KOPPELSIM TEST B.V."
    assert answer["traderAddress"] == "KERKSTRAAT 00001\n1234AB AMSTERDAM"
    matches = (answer["traderNameMatch"], answer["traderCityMatch"], answer["traderPostcodeMatch"])
    assert matches == ("1", "1", "2")
    assert answer["traderStreetMatch"] is None  # not asked, not answered
    assert len(answer["requestIdentifier"]) == 16 and answer["requestIdentifier"].isalnum()


def test_check_vat_approx_without_requester_has_no_consultation_number(client):
    answer = client.service.checkVatApprox(countryCode="DE", vatNumber="136695976", traderName="X GmbH")
    assert answer["valid"] is True
    assert answer["traderNameMatch"] == "3"  # Germany shares no name: not processed
    assert answer["requestIdentifier"] in (None, "")


def test_check_vat_approx_with_a_bad_requester(client):
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.service.checkVatApprox(countryCode="NL", vatNumber="123456782B01",
                                      requesterCountryCode="NL", requesterVatNumber="123")
    assert fault.value.message == "INVALID_REQUESTER_INFO"


@pytest.mark.parametrize("number, expected", [
    ("100", "valid"), ("200", "invalid"), ("201", "INVALID_INPUT"), ("202", "INVALID_REQUESTER_INFO"),
    ("300", "SERVICE_UNAVAILABLE"), ("301", "MS_UNAVAILABLE"), ("302", "TIMEOUT"), ("400", "VAT_BLOCKED"),
    ("401", "IP_BLOCKED"), ("500", "GLOBAL_MAX_CONCURRENT_REQ"), ("501", "GLOBAL_MAX_CONCURRENT_REQ_TIME"),
    ("600", "MS_MAX_CONCURRENT_REQ"), ("601", "MS_MAX_CONCURRENT_REQ_TIME"),
    ("123456789", "SERVICE_UNAVAILABLE"),
])
def test_every_magic_number_of_the_test_service(vies, number, expected):
    client = zeep.Client(vies.wsdl_url("checkVatTestService"))
    if expected in ("valid", "invalid"):
        answer = client.service.checkVat("NL", number)
        assert answer["valid"] is (expected == "valid")
        assert (answer["name"], answer["address"]) == (
            ("John Doe", "123 Main St, Anytown, UK") if expected == "valid" else ("---", "---"))
    else:
        with pytest.raises(zeep.exceptions.Fault) as fault:
            client.service.checkVat("NL", number)
        assert fault.value.message == expected


def test_the_test_service_ignores_the_registry_and_availability(vies):
    vies.api("POST", "api/vies/countries/NL", json={"available": False})
    client = zeep.Client(vies.wsdl_url("checkVatTestService"))
    assert client.service.checkVat("NL", "100")["valid"] is True
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.service.checkVat("NL", "123456782B01")  # a production number means nothing here
    assert fault.value.message == "SERVICE_UNAVAILABLE"
