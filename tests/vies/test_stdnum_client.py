"""python-stdnum's own VIES client (``stdnum.eu.vat.check_vies``) against the simulator, over real HTTP.

stdnum reads the WSDL from the module attribute ``stdnum.eu.vat.vies_wsdl`` at every call and caches
one SOAP client per URL (``stdnum.util.get_soap_client``), so pointing that attribute at our WSDL is all
a user's application needs to do in its tests.
"""

from __future__ import annotations

from datetime import date

import pytest

zeep = pytest.importorskip("zeep", reason="stdnum's check_vies needs a SOAP library (zeep: test extras)")

import stdnum.eu.vat as stdnum_vat  # noqa: E402


@pytest.fixture
def check_vies(vies, monkeypatch):
    def check(number: str, service: str = "checkVatService"):
        monkeypatch.setattr(stdnum_vat, "vies_wsdl", vies.wsdl_url(service))
        return stdnum_vat.check_vies(number, timeout=10)

    return check


def test_a_known_valid_number_with_name_and_address(check_vies):
    answer = check_vies("NL 1234.56.782.B01")  # stdnum compacts the number before it asks
    assert answer["countryCode"] == "NL" and answer["vatNumber"] == "123456782B01"
    assert answer["valid"] is True
    assert answer["name"] == "KOPPELSIM TEST B.V."
    assert answer["address"] == "KERKSTRAAT 00001\n1234AB AMSTERDAM"
    assert answer["requestDate"] == date(2026, 11, 21)


def test_a_member_state_that_shares_nothing_answers_dashes(check_vies):
    answer = check_vies("DE136695976")
    assert (answer["valid"], answer["name"], answer["address"]) == (True, "---", "---")


def test_an_unknown_and_a_revoked_number_are_invalid(check_vies):
    unknown = check_vies("NL004495445B02")  # no such registration (its check digits do not hold either)
    assert (unknown["valid"], unknown["name"], unknown["address"]) == (False, "---", "---")
    revoked = check_vies("NL999999990B01")
    assert revoked["valid"] is False


def test_a_number_added_through_the_admin_api_is_answered(check_vies, vies):
    added = vies.api("POST", "api/vies/numbers", json={"number": "FR40303265045", "name": "SOCIETE TEST",
                                                        "address": "1 RUE DE PARIS\n75001 PARIS"})
    assert added.status_code == 201, added.text
    answer = check_vies("FR 40 303 265 045")
    assert (answer["valid"], answer["name"]) == (True, "SOCIETE TEST")


def test_an_unavailable_member_state_raises_the_fault(check_vies, vies):
    assert vies.api("POST", "api/vies/countries/NL", json={"available": False}).status_code == 200
    with pytest.raises(zeep.exceptions.Fault) as fault:
        check_vies("NL123456782B01")
    assert fault.value.message == "MS_UNAVAILABLE"
    assert fault.value.code == "env:Server"
    assert check_vies("BE0403170701")["valid"] is True  # another member state still answers


@pytest.mark.parametrize("number, expected", [
    ("BE100", True),
    ("BE200", False),
])
def test_the_test_service_valid_and_invalid_numbers(check_vies, number, expected):
    answer = check_vies(number, service="checkVatTestService")
    assert answer["valid"] is expected
    assert answer["name"] == ("John Doe" if expected else "---")


@pytest.mark.parametrize("number, fault", [
    ("BE201", "INVALID_INPUT"), ("BE202", "INVALID_REQUESTER_INFO"), ("BE300", "SERVICE_UNAVAILABLE"),
    ("BE301", "MS_UNAVAILABLE"), ("BE302", "TIMEOUT"), ("BE400", "VAT_BLOCKED"), ("BE401", "IP_BLOCKED"),
    ("BE500", "GLOBAL_MAX_CONCURRENT_REQ"), ("BE501", "GLOBAL_MAX_CONCURRENT_REQ_TIME"),
    ("BE600", "MS_MAX_CONCURRENT_REQ"), ("BE601", "MS_MAX_CONCURRENT_REQ_TIME"),
])
def test_the_test_service_fault_numbers(check_vies, number, fault):
    with pytest.raises(zeep.exceptions.Fault) as raised:
        check_vies(number, service="checkVatTestService")
    assert raised.value.message == fault


def test_stdnum_pads_dutch_numbers_so_the_test_service_does_not_see_its_magic_number(check_vies, vies):
    """stdnum turns NL100 into NL000000000100 before it asks; the test service matches the number as sent,
    and answers SERVICE_UNAVAILABLE as for every number that is not one of its own."""
    with pytest.raises(zeep.exceptions.Fault) as raised:
        check_vies("NL100", service="checkVatTestService")
    assert raised.value.message == "SERVICE_UNAVAILABLE"
    assert vies.model.requests()[-1]["number"] == "000000000100"


def test_check_vies_approx_returns_a_consultation_number(vies, monkeypatch):
    monkeypatch.setattr(stdnum_vat, "vies_wsdl", vies.wsdl_url())
    answer = stdnum_vat.check_vies_approx("NL123456782B01", "BE0403170701", timeout=10)
    assert answer["valid"] is True
    assert answer["traderName"] == "KOPPELSIM TEST B.V."
    assert len(answer["requestIdentifier"]) == 16
    assert vies.model.requests()[-1]["requester"] == "BE0403170701"
