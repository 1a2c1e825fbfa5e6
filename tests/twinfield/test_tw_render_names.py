"""The names an answer writes (a customer's, a ledger account's) are kept across answers while no dimension,
VAT code or office changed (``TwinfieldModel.renderer``): a renamed customer shows its new name in the very
next answer."""

from __future__ import annotations

from simulators.twinfield.config import Dimension


def customer_name(answer) -> str | None:
    return next(line.find("dim2").get("name") for line in answer.findall("lines/line") if line.get("type") == "total")


def test_a_renamed_customer_shows_its_new_name_in_the_next_answer(tw, customer, sales_xml):
    first = tw.process(sales_xml("N-1"))
    again = tw.process(sales_xml("N-2"))
    assert first.get("result") == again.get("result") == "1"
    assert customer_name(first) == customer_name(again) == "Jan Jansen"
    tw.model.put_dimension(Dimension("DEB", customer, "Jan Jansen BV", email="jan@example.com"))
    renamed = tw.process(sales_xml("N-3"))
    assert customer_name(renamed) == "Jan Jansen BV"


def test_a_customer_created_after_a_refusal_is_named_once_it_exists(tw, sales_xml):
    refused = tw.process(sales_xml("N-4", customer="4777"))
    assert refused.get("result") == "0"
    tw.model.put_dimension(Dimension("DEB", "4777", "Nieuwe Klant"))
    booked = tw.process(sales_xml("N-5", customer="4777"))
    assert booked.get("result") == "1" and customer_name(booked) == "Nieuwe Klant"
