"""The VIES model's decisions, in process: input rules, the registry, formats, settings, rules, records."""

from __future__ import annotations

import pytest

from simulators.core.errors import BadRequest, KoppelsimError, NotFound
from simulators.vies import errors
from simulators.vies.config import KnownNumber
from simulators.vies.errors import FAULT_CODES, ViesFault
from simulators.vies.models import TEST, Trader


def fault(call) -> str:
    with pytest.raises(ViesFault) as raised:
        call()
    return raised.value.code


@pytest.mark.parametrize("country, number", [
    ("nl", "123456782B01"),  # the WSDL: countryCode [A-Z]{2}
    ("GR", "094259216"),  # VIES calls Greece EL
    ("XX", "123456789"), ("N", "123"), ("NL", ""), ("NL", "1"),
    ("NL", "123456782B011"),  # 13 characters: over the WSDL's 12
    ("NL", "123 456 782"), ("NL", "123-456-782"),  # separators are not in [0-9A-Za-z+*.]
    ("NL", " 123456782B01"),
])
def test_input_outside_the_wsdl_rules_is_invalid_input(vies, country, number):
    assert fault(lambda: vies.model.check(country, number)) == "INVALID_INPUT"


def test_greece_is_el_and_northern_ireland_is_xi(vies):
    assert vies.model.check("EL", "094259216").valid is False  # well-formed, not registered
    vies.model.put_number(KnownNumber("XI980780684", name="NI TRADER LTD"))
    assert vies.model.check("XI", "980780684").name == "NI TRADER LTD"


def test_format_errors_are_invalid_by_default_and_invalid_input_when_configured(vies):
    broken = vies.model.check("IT", "00950501000")  # the real service's own example: check digit wrong
    assert (broken.valid, broken.name, broken.address) == (False, "---", "---")
    vies.sim.configure(format_errors="invalid_input")
    assert fault(lambda: vies.model.check("IT", "00950501000")) == "INVALID_INPUT"
    assert fault(lambda: vies.model.check("NL", "85187947B01")) == "INVALID_INPUT"  # one digit short
    assert vies.model.check("IT", "00950501007").valid is False  # correct digits, just not registered


def test_unknown_numbers_can_be_valid(vies):
    vies.sim.configure(unknown_numbers="valid")
    answer = vies.model.check("IT", "00950501007")
    assert (answer.valid, answer.name, answer.address) == (True, "---", "---")
    assert vies.model.check("IT", "00950501000").valid is False  # format errors still are not


def test_a_known_number_wins_over_its_check_digits(vies):
    """A registry entry is what the member state says, even for a number stdnum would refuse."""
    vies.model.put_number(KnownNumber("NL111111111B01", name="ODD B.V."))
    assert vies.model.check("NL", "111111111B01").valid is True


def test_availability(vies):
    vies.model.set_available("de", False)
    assert fault(lambda: vies.model.check("DE", "136695976")) == "MS_UNAVAILABLE"
    assert {c["country"]: c["available"] for c in vies.model.countries()}["DE"] is False
    vies.model.set_available("DE", True)
    assert vies.model.check("DE", "136695976").valid is True
    with pytest.raises(BadRequest, match="VIES calls Greece EL"):
        vies.model.set_available("GR", False)


def test_rules_apply_after_the_input_check_and_before_the_registry(vies):
    vies.runtime.rules.add("vies", {"when": {"vat": "NL*"}, "fault": "SERVER_BUSY", "times": 1})
    assert fault(lambda: vies.model.check("nl", "123456782B01")) == "INVALID_INPUT"  # input first: no hit
    assert fault(lambda: vies.model.check("NL", "123456782B01")) == "SERVER_BUSY"
    assert vies.model.check("NL", "123456782B01").valid is True


def test_rules_can_target_the_test_service(vies):
    vies.runtime.rules.add("vies", {"when": {"service": "test"},
                                    "answer": {"valid": True, "name": "SCRIPTED"}})
    assert vies.model.check("NL", "302", service=TEST).name == "SCRIPTED"
    assert vies.model.check("NL", "123456782B01").name == "KOPPELSIM TEST B.V."


@pytest.mark.parametrize("rule, message", [
    ({"fault": "NOT_A_FAULT"}, "must name a VIES fault"),
    ({"fault": {"code": "TIMEOUT", "after": "5s"}}, "takes only 'code'"),
    ({"answer": {"valid": "yes"}}, "answer.valid must be true or false"),
    ({"answer": {"colour": "red"}}, "'answer' is an object with"),
    ({"ftp": {"reply": "421 x"}}, "unknown VIES rule action 'ftp'"),
])
def test_a_mistyped_rule_is_refused_when_it_is_set(vies, rule, message):
    with pytest.raises(BadRequest, match=message):
        vies.runtime.rules.add("vies", {"when": {}, **rule})


def test_every_check_is_recorded_and_journaled(vies):
    since = vies.runtime.journal.last_id()
    vies.model.check("NL", "123456782B01")
    fault(lambda: vies.model.check("XX", "1"))
    vies.model.check("BE", "200", service=TEST)
    records = vies.model.requests()
    assert [(r["service"], r["country"], r["number"], r["outcome"], r["fault"]) for r in records] == [
        ("production", "NL", "123456782B01", "valid", None),
        ("production", "XX", "1", "fault", "INVALID_INPUT"),
        ("test", "BE", "200", "invalid", None)]
    assert records[0]["at"] == "2026-11-21T09:30:00.000Z"
    journaled = vies.runtime.journal.entries(sim="vies", kind="vies.check", since=since)
    assert [(e["vat"], e["outcome"]) for e in journaled] == [("NL123456782B01", "valid"), ("XX1", "fault"),
                                                             ("BE200", "invalid")]
    assert [r["number"] for r in vies.model.requests(outcome="fault")] == ["1"]
    with pytest.raises(BadRequest, match="unknown filter 'colour'"):
        vies.model.requests(colour="red")


def test_approx_matching_and_requester(vies):
    answer = vies.model.check("BE", "0403170701", operation="checkVatApprox",
                              requester=("NL", "123456782B01"),
                              trader=Trader(name="NV Exemple", street="rue de la loi 1", postcode="1000",
                                            city="Gent", company_type="BE-1"))
    assert answer.matches == {"name": "1", "street": "1", "postcode": "1", "city": "2", "company_type": "3"}
    assert answer.request_identifier and len(answer.request_identifier) == 16
    invalid = vies.model.check("NL", "999999990B01", operation="checkVatApprox", trader=Trader(name="X"))
    assert invalid.matches == {"name": "3"} and invalid.request_identifier is None
    assert fault(lambda: vies.model.check("NL", "123456782B01", operation="checkVatApprox",
                                          requester=("XX", "123456789"))) == "INVALID_REQUESTER_INFO"
    assert fault(lambda: vies.model.check("NL", "123456782B01", operation="checkVatApprox",
                                          requester=("NL", "123456789B01"))) == "INVALID_REQUESTER_INFO"


def test_reset_restores_the_configured_registry(vies):
    vies.model.put_number(KnownNumber("FR40303265045"))
    vies.model.delete_number("NL123456782B01")
    vies.model.set_available("BE", False)
    vies.model.check("DE", "136695976")
    vies.runtime.reset("vies")
    numbers = {n["number"]: n["source"] for n in vies.model.numbers()}
    assert "FR40303265045" not in numbers and numbers["NL123456782B01"] == "config"
    assert vies.model.unavailable() == set() and vies.model.requests() == []
    with pytest.raises(NotFound):
        vies.model.delete_number("FR40303265045")


def test_fault_constants_and_test_numbers_name_known_faults():
    for name in ("INVALID_INPUT", "INVALID_REQUESTER_INFO", "SERVICE_UNAVAILABLE", "MS_UNAVAILABLE",
                 "TIMEOUT"):
        assert getattr(errors, name) == name and name in FAULT_CODES
    assert set(errors.TEST_FAULTS.values()) <= set(FAULT_CODES)
    # SERVER_BUSY is the one fault no magic number gives
    assert set(FAULT_CODES) - set(errors.TEST_FAULTS.values()) == {"SERVER_BUSY"}
    with pytest.raises(ValueError, match="unknown VIES fault"):
        ViesFault("NOPE")
    assert isinstance(ViesFault("TIMEOUT"), KoppelsimError)
