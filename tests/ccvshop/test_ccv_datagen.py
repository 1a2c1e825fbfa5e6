"""The order generator: consistent amounts over many seeds, deterministic, and every kind of order it promises."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from stdnum.eu import vat as eu_vat

from simulators.ccvshop import totals
from simulators.ccvshop.datagen import OrderOptions, generate
from simulators.ccvshop.money import dec
from simulators.ccvshop.vat import RATES, is_eu
from simulators.ccvshop.vatnumbers import FORMATS, vat_number

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
SEEDS = range(400)


def make(seed: int, **options):
    return generate(OrderOptions.from_dict(options), seed, NOW)


def test_every_generated_order_adds_up_exactly():
    kinds = Counter()
    for seed in SEEDS:
        draft = make(seed)
        assert totals.problems(draft.order, draft.rows) == [], seed
        order = draft.order
        # the formula, written out once more: total = rows + shipping + costs - discounts (+ VAT when excl.)
        subtotal = (dec(order["total_orderrow_price"]) + dec(order["total_shipping"]) + dec(order["paymethod_costs"])
                    + dec(order["extra_payment_option_price"]) + dec(order["extra_costs"])
                    - dec(order["credit_point_discount"]) - dec(order["total_discounts"]))
        expected = subtotal if order["order_row_taxes_included"] else subtotal + dec(order["total_tax"])
        assert dec(order["total_price"]) == expected, seed
        assert dec(order["total_price"]) > 0
        kinds[(order["customer"]["customertype"], order["is_intra_community_order"],
               order["customer"]["billingaddress"]["country_code"] == "NL")] += 1
    # the mix a koppeling must cope with is really there
    assert kinds[("b2c", False, True)] > 100 and kinds[("b2b", False, True)] > 20
    assert kinds[("b2b", True, False)] > 15 and kinds[("b2c", False, False)] > 30


def test_the_same_seed_gives_the_same_order_and_another_seed_another():
    assert make(7).order == make(7).order and make(7).rows == make(7).rows
    assert make(7).order["customer"] != make(8).order["customer"]


def test_vat_of_incl_and_excl_orders():
    incl = make(1, country="NL", b2b=False, vat_included=True, rows=[{"price": 12.10, "tax": 21}], shipping=0,
                payment_costs=0, payment_option=0, extra_costs=0, credit_points=0, coupon=0)
    assert incl.order["total_price"] == 12.1 and incl.order["total_tax"] == 2.1
    excl = make(1, country="NL", b2b=True, vat_included=False, rows=[{"price": 10, "tax": 21}], shipping=0,
                payment_costs=0, payment_option=0, extra_costs=0, credit_points=0, coupon=0)
    assert excl.order["total_price"] == 12.1 and excl.order["total_tax"] == 2.1
    assert excl.order["order_row_taxes_included"] is False and excl.order["customer"]["kvk"]


def test_icp_orders_are_zero_rated_with_a_vat_number_that_passes_its_check_digits():
    for seed in range(60):
        draft = make(seed, icp=True)
        order = draft.order
        country = order["customer"]["billingaddress"]["country_code"]
        assert order["is_intra_community_order"] and is_eu(country) and country != "NL"
        assert order["total_tax"] == 0 and all(r["tax"] == 0 for r in draft.rows)
        assert order["customer"]["btw"].startswith(country) and eu_vat.is_valid(order["customer"]["btw"])
        assert order["customer"]["customertype"] == "b2b" and order["shipping_tax_percentage"] == 0


def test_international_orders_go_outside_the_eu_at_zero_percent():
    for seed in range(30):
        draft = make(seed, international=True)
        country = draft.order["customer"]["billingaddress"]["country_code"]
        assert not is_eu(country) and draft.order["total_tax"] == 0


@pytest.mark.parametrize("country", sorted(RATES))
def test_each_country_sells_at_its_own_rates(country):
    seen = set()
    for seed in range(40):
        draft = make(seed, country=country, b2b=False, reduced_rate=True, margin=False, rows=3)
        seen |= {Decimal(str(r["tax"])) for r in draft.rows}
        assert Decimal(str(draft.order["shipping_tax_percentage"])) == RATES[country].standard
    allowed = {RATES[country].standard, RATES[country].reduced} - {None}
    assert seen <= allowed and RATES[country].standard in seen
    if RATES[country].reduced is not None:
        assert RATES[country].reduced in seen


def test_finland_has_a_rate_that_is_not_a_whole_number():
    draft = make(3, country="FI", b2b=False, rows=[{"price": 100, "tax": 25.5}], shipping=0, coupon=0, extra_costs=0,
                 credit_points=0, payment_option=0, payment_costs=0)
    assert draft.rows[0]["tax"] == 25.5 and draft.order["total_tax"] == 20.32  # 100 * 25.5 / 125.5


def test_costs_surcharges_discounts_and_credit_points_are_all_honoured():
    draft = make(5, country="NL", b2b=False, rows=[{"price": 50, "tax": 21, "count": 2}], shipping=6.95,
                 payment_costs=0.35, payment_option=2.50, extra_costs=-5, extra_costs_description="Korting",
                 credit_points=2.5, coupon=10)
    order = draft.order
    assert (order["total_shipping"], order["paymethod_costs"], order["extra_payment_option_price"],
            order["extra_costs"], order["credit_point_discount"], order["total_discounts"]) == (6.95, 0.35, 2.5, -5,
                                                                                               2.5, 10)
    assert order["total_price"] == 100 + 6.95 + 0.35 + 2.5 - 5 - 2.5 - 10
    assert order["extra_costs_description"] == "Korting" and order["user"]["id"]  # credit points need a user
    assert order["discountcoupon"]["discount"] == 10 and order["extra_price"] == round(0.35 - 2.5, 2)


def test_margin_rows_carry_no_vat():
    draft = make(2, country="NL", b2b=False, margin=True)
    assert all(r["tax"] == 0 and r["memo"] == "Marge" for r in draft.rows)


def test_an_inconsistent_total_is_made_only_when_asked():
    draft = make(4, inconsistent_total=0.05)
    problems = totals.problems(draft.order, draft.rows)
    assert len(problems) == 1 and problems[0].startswith("total_price")


def test_a_vat_number_unknown_to_vies_is_marked():
    assert make(1, icp=True).vat_registered is True
    unregistered = make(1, icp=True, vat_registered=False)
    assert unregistered.vat_registered is False and eu_vat.is_valid(unregistered.order["customer"]["btw"])


@pytest.mark.parametrize("options, fragment", [({"colour": "red"}, "unknown order option"),
                                               ({"shipping": 4.955}, "two decimals"),
                                               ({"shipping": "4.95"}, "two decimals"),
                                               ({"icp": True, "country": "NL"}, "another EU country"),
                                               ({"icp": True, "international": True}, "not both"),
                                               ({"rows": 0}, "rows"), ({"status": 15}, "1-14"),
                                               ({"country": "XX"}, "not one the generator knows")])
def test_bad_options_are_refused_by_name(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        OrderOptions.from_dict(options)


@pytest.mark.parametrize("country", sorted(FORMATS))
def test_vat_numbers_of_every_country_pass_python_stdnum(country):
    rng = random.Random(country)
    numbers = {vat_number(country, rng) for _ in range(25)}
    assert len(numbers) == 25 and all(eu_vat.is_valid(n) and n.startswith(country) for n in numbers)
    assert not eu_vat.is_valid(next(iter(numbers))[:-1] + "Z")


def test_given_customer_fields_are_kept_and_the_rest_generated():
    draft = make(9, country="NL", b2b=True, customer={"email": "inkoop@bakkerij.nl", "kvk": "12345678",
                                                      "billingaddress": {"company": "Bakkerij Brood B.V."}})
    customer = draft.order["customer"]
    assert (customer["email"], customer["kvk"]) == ("inkoop@bakkerij.nl", "12345678")
    assert customer["billingaddress"]["company"] == "Bakkerij Brood B.V."
    assert customer["billingaddress"]["city"] and customer["billingaddress"]["country_code"] == "NL"
    with pytest.raises(ValueError, match="customer"):
        OrderOptions.from_dict({"customer": "Jan"})
