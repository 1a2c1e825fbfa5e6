"""VIES knows the VAT numbers of the CCV Shop simulator's customers when both run in one runtime:
a registered number checks valid (with the shop's name for it, where the member state shares names), an
unregistered one invalid."""

from __future__ import annotations

import pytest

pytest.importorskip("zeep", reason="stdnum's check_vies needs a SOAP library (zeep: test extras)")

import stdnum.eu.vat  # noqa: E402

from simulators.core.config import config_from_dict  # noqa: E402
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests


@pytest.fixture
def runtime(tmp_path):
    register_config_sections()
    settings = settings_for_tests()
    settings["ccvshop"] = {**settings["ccvshop"], "seed_orders": 0}
    runtime = Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings}),
                      only=["vies", "ccvshop"])
    runtime.start(admin=False)
    try:
        yield runtime
    finally:
        runtime.stop()


def check(runtime: Runtime, number: str):
    endpoint = next(e for e in runtime.endpoints if e.name == "vies-soap")
    saved = stdnum.eu.vat.vies_wsdl
    stdnum.eu.vat.vies_wsdl = endpoint.url
    try:
        return stdnum.eu.vat.check_vies(number, timeout=10)  # zeep's answer object
    finally:
        stdnum.eu.vat.vies_wsdl = saved


def shop_numbers(runtime: Runtime) -> list[dict]:
    return [v for v in runtime.simulators["ccvshop"].model.vat_numbers() if v["full"][:2] != "GB"]


def make_icp_orders(runtime: Runtime, count: int) -> None:
    shop = runtime.simulators["ccvshop"].model
    for index in range(count):  # some registered, some not: both answers must follow the shop's data
        shop.create_order({"icp": True, "vat_registered": index % 3 != 0})


def test_numbers_on_shop_orders_are_known_to_vies(runtime):
    make_icp_orders(runtime, 6)
    numbers = [e for e in shop_numbers(runtime) if not e["full"].startswith("DE")]  # DE: see below
    assert {e["registered"] for e in numbers} == {True, False}, numbers
    for entry in numbers:
        answer = check(runtime, entry["full"])
        assert answer.valid is entry["registered"], entry
        if entry["registered"]:
            assert answer.name == entry["name"]


def test_a_german_customer_is_valid_but_its_name_and_address_are_not_shared(runtime):
    """Germany gives VIES neither name nor address: "---" for both, although the shop knows them."""
    shop = runtime.simulators["ccvshop"].model
    shop.create_order({"icp": True, "country": "DE", "vat_registered": True})
    german = [e for e in shop_numbers(runtime) if e["full"].startswith("DE")]
    assert german and german[0]["name"], german
    answer = check(runtime, german[0]["full"])
    assert answer.valid is True
    assert (answer.name, answer.address) == ("---", "---")


def test_after_a_reset_of_vies_alone_it_still_knows_them(runtime):
    make_icp_orders(runtime, 3)
    runtime.reset("vies")
    for entry in shop_numbers(runtime):
        assert check(runtime, entry["full"]).valid is entry["registered"]
