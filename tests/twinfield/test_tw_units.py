"""Small pieces on their own: fault code constants, amounts and rounding, masks, rule validation."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from simulators.twinfield import errors
from simulators.twinfield.ledger import fits_mask
from simulators.twinfield.money import BadValue, fmt, invoice_period_of, parse_amount, period_of, vat_of
from simulators.twinfield.service import validate_rule


def test_each_fault_constant_carries_its_number_in_its_name():
    constants = {name: value for name, value in vars(errors).items() if isinstance(value, errors.FaultCode)}
    assert constants
    for name, fault in constants.items():
        assert re.match(rf"F{fault.code}_", name), name
        assert errors.FAULT_CODES[fault.code] is fault
    assert errors.FAULT_CODES[354].http_status == 401 and errors.FAULT_CODES[102].http_status == 403


def test_the_balance_text_names_the_missing_side():
    assert errors.balance(Decimal("-0.01"), False) == ("De boeking is niet in balans. Er ontbreekt 0.01 debet.//"
                                                       "De boeking balanceert niet in de basisvaluta. Er ontbreekt "
                                                       "0.01 debet.")
    assert errors.balance(Decimal("21.00"), False).startswith("De boeking is niet in balans. Er ontbreekt 21.00 credit.")
    assert errors.balance(Decimal("-1.5"), True).count("//") == 2


@pytest.mark.parametrize("text,value", [("82.20", "82.20"), ("82.2", "82.20"), ("100", "100.00"),
                                        ("-5.00", "-5.00"), (" 1.00 ", "1.00")])
def test_amounts_are_read_exactly(text, value):
    assert fmt(parse_amount(text)) == value


@pytest.mark.parametrize("text,message", [("1.005", "Het bedrag 1.005 heeft meer dan twee decimalen."),
                                          ("1,00", "Ongeldig bedrag: 1,00."), ("", "Ongeldig bedrag: ."),
                                          ("1e5", "Ongeldig bedrag: 1e5.")])
def test_bad_amounts_have_twinfields_texts(text, message):
    with pytest.raises(BadValue) as refused:
        parse_amount(text)
    assert str(refused.value) == message


def test_vat_rounds_half_up_per_amount():
    assert vat_of(Decimal("0.50"), Decimal(21)) == Decimal("0.11")  # 0.105
    assert vat_of(Decimal("0.50"), Decimal(9)) == Decimal("0.05")  # 0.045: half up, not half even
    assert vat_of(Decimal("-0.50"), Decimal(21)) == Decimal("-0.11")  # symmetric for credits
    assert fmt(Decimal("-0.00")) == "0.00"


def test_periods_are_padded_for_transactions_and_not_for_invoices():
    from datetime import date

    assert period_of(date(2012, 8, 31)) == "2012/08"
    assert invoice_period_of(date(2012, 8, 31)) == "2012/8"


def test_masks_are_character_classes_over_the_whole_code():
    assert fits_mask("4539", "[4-7][0-9][0-9][0-9]")
    assert not fits_mask("1200", "[4-7][0-9][0-9][0-9]") and not fits_mask("45390", "[4-7][0-9][0-9][0-9]")


@pytest.mark.parametrize("rule", [{"when": {}, "reject": {"msg": "x"}}, {"when": {}, "timeout": {"booked": True}},
                                  {"when": {}, "throttle": {"retry_after": 5}}, {"when": {}, "delay": {"seconds": 0.1}}])
def test_valid_rules_pass(rule):
    validate_rule(rule)


@pytest.mark.parametrize("rule", [{"when": {}, "reject": {"msg": 3}}, {"when": {}, "timeout": {"booked": "yes"}},
                                  {"when": {}, "fault": {"code": True}}, {"when": {}, "reject": {"bogus": 1}}])
def test_invalid_rules_are_refused(rule):
    with pytest.raises(ValueError):
        validate_rule(rule)
