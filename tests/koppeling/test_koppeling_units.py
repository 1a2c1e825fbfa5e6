"""The koppeling's pure parts: configuration, the field mapping, the booking arithmetic, truncation."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from clients.ccvshop import Customer
from clients.koppeling import ConfigError, config_from_dict
from clients.koppeling.booking import CheckFailed, booking_lines, check_total, check_vat_codes, price
from clients.koppeling.customers import customer_request, debtor_vat_number
from clients.koppeling.sale import Sale, SaleLine, shop_day
from clients.koppeling.service import next_payment_run
from clients.koppeling.vies import split_number

D = Decimal


def customer(email: str = "jan@example.com", **billing) -> Customer:
    return Customer.from_json({"email": email, "btw": "DE 136695976", "billingaddress": {
        "first_name": "Jan", "last_name": "Jansen", "street": "Kerkstraat", "housenumber": 1,
        "housenumber_suffix": "a", "zipcode": "1234AB", "city": "Amsterdam", "country_code": "NL", **billing}})


def sale(lines: list[SaleLine], total: str, incl: bool = True, total_tax: str = "0", country: str = "NL",
         icp: bool = False) -> Sale:
    return Sale("order", 1, "5869", 1, "5869", "", date(2026, 11, 20), "EUR", incl, True, D(total), D(total_tax),
                country, icp, False, False, False, True, 11, "Mollie iDEAL", "tr_1", customer(), lines)


def test_defaults_map_the_netherlands_and_list_every_eu_country_unmapped():
    config = config_from_dict({})
    assert config.target("NL", D("21")).vatcode == "VH"
    assert config.target("NL", D("9.0")).account == "8010"
    assert config.rates("DE") == [D("19"), D("7"), D("0")]
    assert config.target("DE", D("19")) is None
    assert config.rates("FI")[0] == D("25.5")


def test_configuration_refuses_what_cannot_work():
    with pytest.raises(ConfigError, match="unknown field 'ofice'"):
        config_from_dict({"ofice": "X"})
    with pytest.raises(ConfigError, match="payment_posting is only possible in concept mode"):
        config_from_dict({"mode": "invoice", "payment_posting": True})
    with pytest.raises(ConfigError, match="suspense account or a fixed debtor, not both"):
        config_from_dict({"paymethods": {"11": {"suspense": "2000", "debtor": "4900"}}})
    with pytest.raises(ConfigError, match="expected true or false"):
        config_from_dict({"payment_posting": "yes"})


def test_own_rates_replace_the_defaults_of_their_country_only():
    config = config_from_dict({"vat": {"DE": {"19": {"vatcode": "DEH", "account": "8050"}}}})
    assert config.target("DE", D("19")).vatcode == "DEH"
    assert config.target("DE", D("7")) is None
    assert config.rates("DE") == [D("19")]  # 7 and 0 are not sold at: not the rates of this shop
    assert config.target("NL", D("21")).vatcode == "VH"
    assert config.rates("DK") == [D("25"), D("0")]  # not configured: the EU defaults


def test_a_country_sold_to_at_another_rate_has_that_as_its_highest_and_null_drops_a_rate():
    # Seed 003: "Standaard staan verkopen naar Duitsland op 21%, maar verkoop jij ... met 19% dan kun je dat
    # ... aanpassen"; payment costs go at "het hoogste percentage voor het leveringsland".
    vh = {"vatcode": "VH", "account": "8000"}
    assert config_from_dict({"vat": {"DK": {"21": vh}}}).rates("DK") == [D("21")]
    dropped = config_from_dict({"vat": {"DK": {"21": vh, "25": None}}})
    assert dropped.rates("DK") == [D("21")] and dropped.target("DK", D("25")) is None


def test_total_check_counts_rows_shipping_and_costs():
    ok = sale([SaleLine("turnover", "A", D("100.00"), D("21")), SaleLine("shipping", "Verzendkosten", D("4.95"),
                                                                        D("21"))], "104.95")
    check_total(ok)
    with pytest.raises(CheckFailed) as failed:
        check_total(sale(ok.lines, "105.00"))
    assert failed.value.check == "total" and "104.95" in failed.value.reason
    excl = sale([SaleLine("turnover", "A", D("100.00"), D("21"))], "121.00", incl=False, total_tax="21.00")
    check_total(excl)


def test_missing_vat_code_names_rate_country_and_line():
    with pytest.raises(CheckFailed) as failed:
        check_vat_codes(sale([SaleLine("turnover", "Plaid", D("69.00"), D("21"))], "69.00", country="BE"),
                        config_from_dict({}))
    assert failed.value.check == "vatcode"
    assert failed.value.reason == "no Twinfield VAT code configured for 21% (BE, row 'Plaid')"


def test_rounding_up_to_five_cents_goes_into_the_largest_vat_amount():
    lines = [SaleLine("turnover", "A", D("45.86"), D("9")), SaleLine("payment", "Betaalkosten", D("0.35"), D("21"))]
    total, priced = price(sale(lines, "50.37", incl=False, total_tax="4.16"), config_from_dict({}))
    assert total == D("50.37")
    assert [(p.excl, p.vat) for p in priced] == [(D("45.86"), D("4.09")), (D("0.35"), D("0.07"))]
    assert sum(p.excl + p.vat for p in priced) == total
    with pytest.raises(CheckFailed, match="more than a rounding difference"):
        price(sale(lines, "50.30", incl=False, total_tax="4.09"), config_from_dict({}))


def test_booking_lines_truncate_descriptions_and_swap_sides_for_a_credit():
    long_name = "Schildersdoek 70 x 70 cm linnen op frame, extra dik"
    lines = booking_lines(sale([SaleLine("turnover", long_name, D("-121.00"), D("21"))], "-121.00"),
                          config_from_dict({"cost_centre": "00000"}), "4000", "5869")
    assert lines[0] == {"type": "total", "dim1": "1300", "dim2": "4000", "debitcredit": "credit",
                        "value": "121.00", "description": "5869"}
    assert lines[1]["debitcredit"] == "debit" and lines[1]["value"] == "100.00" and lines[1]["vatvalue"] == "21.00"
    assert lines[1]["description"] == long_name[:35] and lines[1]["dim2"] == "00000"


def test_icp_lines_carry_the_performance_fields():
    icp = sale([SaleLine("turnover", "Koffie", D("200.00"), D("0"))], "200.00", country="DE", icp=True)
    line = booking_lines(icp, config_from_dict({}), "4000", "1")[1]
    assert (line["vatcode"], line["dim1"], line["performancetype"], line["performancecountry"],
            line["performancevatnumber"]) == ("IC", "8100", "goods", "DE", "DE136695976")


def test_customer_request_maps_the_seed_fields_and_cuts_the_e_mail_at_200():
    xml = customer_request("NLA000001", customer("x" * 250 + "@example.com"), vat_number="DE136695976")
    assert "<name>Jan Jansen</name>" in xml and "<vatnumber>DE136695976</vatnumber>" in xml
    assert "<field2>Kerkstraat 1 a</field2>" in xml and "<contact>Jan Jansen</contact>" in xml
    assert f"<email>{'x' * 200}</email>" in xml
    assert "<name>" + "B" * 80 + "</name>" in customer_request("NLA000001", customer(company="B" * 100))


def test_the_vat_number_for_a_debtor_is_checked_first():
    assert debtor_vat_number(customer(), vies_checked=True) == ("DE136695976", None)
    assert debtor_vat_number(customer(), vies_checked=False) == ("DE136695976", None)  # check digits right
    bare = Customer.from_json({"btw": "004495445B01", "billingaddress": {"country_code": "NL"}})
    assert debtor_vat_number(bare, vies_checked=False) == ("NL004495445B01", None)
    wrong = Customer.from_json({"btw": "NL004495446B01", "billingaddress": {"country_code": "NL"}})
    number, note = debtor_vat_number(wrong, vies_checked=False)
    assert number == "" and "'NL004495446B01' is not a valid EU VAT number" in note
    assert debtor_vat_number(Customer.from_json({}), vies_checked=False) == ("", None)


def test_the_booking_day_is_the_dutch_day_of_the_shops_utc_instant():
    assert shop_day(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)) == date(2027, 1, 1)  # CET, +1
    assert shop_day(datetime(2026, 7, 31, 21, 59, tzinfo=timezone.utc)) == date(2026, 7, 31)  # CEST, +2
    assert shop_day(datetime(2026, 7, 31, 22, 0, tzinfo=timezone.utc)) == date(2026, 8, 1)
    assert shop_day(datetime(2022, 11, 7, 21, 51)) == date(2022, 11, 7)  # no zone: UTC, as CCV sends it
    assert shop_day(None) is None


def test_six_payment_runs_a_day():
    after = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    assert next_payment_run(after, 6) == datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    assert next_payment_run(datetime(2026, 11, 20, 20, 0, tzinfo=timezone.utc), 6) == \
        datetime(2026, 11, 21, 0, 0, tzinfo=timezone.utc)


def test_vat_numbers_are_split_as_vies_wants_them():
    assert split_number("DE 136.695.976") == ("DE", "136695976")
    assert split_number("gr094259216") == ("EL", "094259216")
