"""Matching (afletteren) through the real client, open items (browse 100 and the IVT finder)."""

from __future__ import annotations

import pytest

from clients.twinfield import TwinfieldError, TwinfieldFault


def sale(client, invoicenumber: str, total: str = "121.00", excl: str = "100.00") -> str:
    return client.post_transaction("VRK", [
        {"type": "total", "dim1": "1300", "dim2": "4000", "debitcredit": "debit", "value": total},
        {"type": "detail", "dim1": "8000", "debitcredit": "credit", "value": excl, "vatcode": "VH"}],
        invoicenumber=invoicenumber, date="20261120")


def payment(client, invoicenumber: str, amount: str = "121.00") -> str:
    return client.post_transaction("MEMO", [
        {"dim1": "2000", "debitcredit": "debit", "value": amount, "description": "tr-9 betaling",
         "invoicenumber": invoicenumber},
        {"dim1": "1300", "dim2": "4000", "debitcredit": "credit", "value": amount, "description": invoicenumber,
         "invoicenumber": invoicenumber}], date="20261121")


def test_a_payment_matched_against_its_sale_closes_both_open_items(tw, customer):
    client = tw.client()
    number = sale(client, "5869")
    payment(client, "5869")
    items = client.open_items(customer="4000", invoicenumber="5869")
    assert sorted((i["code"], i["open"]) for i in items) == [("MEMO", "-121.00"), ("VRK", "121.00")]
    answer = client.match([(i["code"], i["number"], i["line"]) for i in items], matchdate="20261121")
    assert answer.get("result") == "1"
    matched = answer.find("set")
    assert matched.findtext("value") == "0.00" and matched.find("matchcode").get("name") == "Debiteuren afletteren"
    # valueopen is what was open before this match (php-twinfield's single-matchset.xml: 12.63 next to 5.26)
    opened = sorted((ln.findtext("matchvalue"), ln.findtext("valueopen")) for ln in matched.findall("lines/line"))
    assert opened == [("-121.00", "-121.00"), ("121.00", "121.00")]
    assert client.open_items(customer="4000") == []
    total = tw.model.booking("NLA000001", "VRK", number)["lines"][0]
    assert (total["matchstatus"], total["openvalue"], total["matchnumber"]) == ("matched", "0.00", "1")
    assert tw.model.matches()[0]["matchdate"] == "20261121"


def test_a_partial_match_leaves_the_rest_open(tw, customer):
    client = tw.client()
    number = sale(client, "P1")
    payment(client, "P1", amount="21.00")
    memo = [i for i in client.open_items(customer="4000") if i["code"] == "MEMO"][0]
    client.send("<match><set><office>NLA000001</office><matchcode>170</matchcode><lines>"
                f"<line><transcode>VRK</transcode><transnumber>{number}</transnumber><transline>1</transline>"
                "<matchvalue>21.00</matchvalue></line>"
                f"<line><transcode>MEMO</transcode><transnumber>{memo['number']}</transnumber><transline>2</transline>"
                "</line></lines></set></match>")
    assert [(i["code"], i["open"]) for i in client.open_items(customer="4000")] == [("VRK", "100.00")]
    found = client.search("IVT", "*", options={"dim2": "4000"})
    assert found.columns == ["Factuurnr.", "Bedrag", "Debiteur", "Naam", "Debet/credit"]
    assert found.rows == [["P1", "100.00", "4000", "Jan Jansen", "D"]]


def test_refusals_name_the_problem(tw, customer):
    client = tw.client()
    number = sale(client, "M1")
    with pytest.raises(TwinfieldError) as missing:
        client.match([("VRK", number, "1"), ("VRK", "202699999", "1")])
    assert "De regel bestaat niet." in missing.value.texts
    with pytest.raises(TwinfieldError) as not_zero:
        client.match([("VRK", number, "1"), ("VRK", sale(client, "M2", "242.00", "200.00"), "1")])
    assert not_zero.value.texts == ["Het saldo van de af te letteren regels is niet nul (363.00)."]
    with pytest.raises(TwinfieldError) as detail:
        client.match([("VRK", number, "1"), ("VRK", number, "2")])
    assert "De regel kan niet worden afgeletterd." in detail.value.texts
    with pytest.raises(TwinfieldError) as code:
        client.send(f"<match><set><office>NLA000001</office><matchcode>999</matchcode><lines><line><transcode>VRK"
                    f"</transcode><transnumber>{number}</transnumber><transline>1</transline></line></lines></set>"
                    "</match>")
    assert "Afletter-code 999 bestaat niet." in code.value.texts
    # nothing was matched by the refused sets
    assert tw.model.matches() == []


def test_the_same_line_cannot_be_matched_twice(tw, customer):
    client = tw.client()
    sale(client, "T1")
    payment(client, "T1")
    lines = [(i["code"], i["number"], i["line"]) for i in client.open_items(customer="4000")]
    client.match(lines)
    with pytest.raises(TwinfieldError) as again:
        client.match(lines)
    assert "De regel is al volledig afgeletterd." in again.value.texts


def test_browse_100_has_the_real_column_shape(tw, customer):
    client = tw.client()
    number = sale(client, "B100")
    root = client.send('<columns code="100"><column><field>fin.trs.head.office</field><operator>equal</operator>'
                       "<from>NLA000001</from></column><column><field>fin.trs.head.number</field><label>"
                       "transaction_number</label><visible>true</visible></column><column><field>"
                       "fin.trs.line.openvaluesigned</field><label>open_value</label><visible>true</visible>"
                       "</column><column><field>fin.trs.line.matchstatus</field><label>status</label><visible>true"
                       "</visible></column><column><field>fin.trs.line.availableforpayruns</field><visible>true"
                       "</visible></column></columns>")
    assert (root.tag, root.get("result"), root.get("first"), root.get("last"), root.get("total")) == \
        ("browse", "1", "1", "1", "1")
    assert [(td.get("label"), td.get("type"), td.text) for td in root.find("th")] == [
        ("transaction_number", "Decimal", "fin.trs.head.number"), ("open_value", "Value", "fin.trs.line.openvaluesigned"),
        ("status", "String", "fin.trs.line.matchstatus"), ("", "String", "fin.trs.line.availableforpayruns")]
    row = root.find("tr")
    cells = {td.get("field"): (td.text, td.get("name")) for td in row.findall("td")}
    assert cells["fin.trs.head.number"] == (number, None)
    assert cells["fin.trs.line.matchstatus"] == ("available", "Beschikbaar")
    assert cells["fin.trs.line.availableforpayruns"] == ("true", "Ja")
    assert [el.text for el in row.find("key")] == ["NLA000001", "VRK", number, "1"]


def test_an_unknown_browse_code_is_refused(tw, customer):
    root = tw.process('<columns code="123"><column><field>fin.trs.head.office</field><from>NLA000001</from></column>'
                      "</columns>")
    assert root.get("result") == "0" and root.get("msg") == "Browse-code 123 bestaat niet."


def test_a_line_named_twice_in_one_set_is_refused_and_nothing_is_matched(tw, customer):
    """Its open value would be spent twice: a sale of 121.00 closing a payment of 242.00."""
    client = tw.client()
    number = sale(client, "D1")
    memo = payment(client, "D1", amount="242.00")
    with pytest.raises(TwinfieldError) as twice:
        client.match([("VRK", number, "1"), ("VRK", number, "1"), ("MEMO", memo, "2")])
    assert twice.value.texts == ["De regel staat meer dan eens in de afletterset."]
    assert tw.model.matches() == []
    assert sorted((i["code"], i["open"]) for i in client.open_items(customer="4000")) == \
        [("MEMO", "-242.00"), ("VRK", "121.00")]


def test_a_matched_concept_booking_can_be_neither_changed_nor_deleted(tw, customer, sales_xml):
    """Else the match set and the payment, still closed, would point at lines that are gone."""
    client = tw.client()
    number = sale(client, "X1")
    memo = payment(client, "X1")
    client.match([("VRK", number, "1"), ("MEMO", memo, "2")])
    with pytest.raises(TwinfieldError) as delete:
        client.send(f'<transaction action="delete"><office>NLA000001</office><code>VRK</code>'
                    f"<number>{number}</number></transaction>")
    assert delete.value.texts == ["De boeking is (gedeeltelijk) afgeletterd; maak de aflettering eerst ongedaan."]
    changed = sales_xml("X1").replace("<currency>EUR</currency>",
                                      f"<currency>EUR</currency><number>{number}</number>")
    with pytest.raises(TwinfieldError) as update:
        client.send(changed)
    assert "De boeking is (gedeeltelijk) afgeletterd; maak de aflettering eerst ongedaan." in update.value.texts
    kept = tw.model.booking("NLA000001", "VRK", number)["lines"][0]
    assert (kept["matchstatus"], kept["matchnumber"]) == ("matched", "1") and len(tw.model.matches()) == 1


def test_an_amount_option_that_is_no_amount_is_a_finder_message_not_a_crash(tw, customer):
    client = tw.client()
    sale(client, "F1")
    with pytest.raises(TwinfieldFault) as refused:
        client.search("IVT", "*", options={"openvalue": "abc"})
    assert refused.value.message == "InvalidDecimalOptionValue: De waarde abc van optie openvalue is geen bedrag."
    found = client.search("IVT", "*", options={"openvalue": "121"})
    assert found.rows == [["F1", "121.00", "4000", "Jan Jansen", "D"]]


@pytest.mark.parametrize("field, value", [("fin.trs.line.invnumber", "E2"), ("fin.trs.head.code", "MEMO"),
                                          ("fin.trs.line.dim2", "4000"), ("fin.trs.line.invnumber", "none-such")])
def test_an_equal_filter_selects_the_same_rows_as_the_same_bounds_between(tw, customer, field, value):
    """``equal`` on these fields is applied in SQL first (browse.py): the answer must be the one ``between``
    with the same bounds gives, which is filtered row by row only."""
    client = tw.client()
    for invoice in ("E1", "E2", "E3"):
        sale(client, invoice)
    payment(client, "E2")

    def browse(operator: str) -> list[list[str]]:
        root = tw.process(
            '<columns code="000"><column><field>fin.trs.head.office</field><operator>equal</operator>'
            f"<from>NLA000001</from></column><column><field>{field}</field><operator>{operator}</operator>"
            f"<from>{value}</from><to>{value}</to><visible>true</visible></column>"
            "<column><field>fin.trs.head.number</field><visible>true</visible></column></columns>")
        assert root.get("result") == "1"
        return [[el.text for el in tr.find("key")] for tr in root.findall("tr")]

    assert browse("equal") == browse("between")
    assert bool(browse("equal")) == (value != "none-such")


def test_an_operator_browse_does_not_know_filters_nothing_also_with_spaces_around_it(tw, customer):
    client = tw.client()
    sale(client, "F1")
    sale(client, "F2")
    root = tw.process(
        '<columns code="000"><column><field>fin.trs.head.office</field><operator>equal</operator>'
        "<from>NLA000001</from></column><column><field>fin.trs.line.invnumber</field><operator> equal </operator>"
        "<from>F1</from><visible>true</visible></column></columns>")
    assert root.get("result") == "1"
    assert {tr.find("key/number").text for tr in root.findall("tr")} == {"202600001", "202600002"}


def _shape(el) -> list:
    return [(e.tag, tuple(e.attrib)) for e in el.iter() if isinstance(e.tag, str)]


def test_a_refused_set_shows_the_line_it_found_worked_out_as_recorded(tw, customer, reference):
    """php-twinfield's single-matchset.xml, second set: the line that does not exist comes back as sent with
    the message; the line that does comes back filled in with result="1"; lines and set result="0"; the
    dimensions without a match number; the value is what the lines found add up to."""
    from lxml import etree

    theirs = etree.fromstring((reference / "php-twinfield/single-matchset.xml").read_bytes())[1]
    client = tw.client()
    memo = payment(client, "M1", amount="1.40")
    ours = tw.process("<match><set><office>NLA000001</office><matchcode>170</matchcode><matchdate>20261121"
                      "</matchdate><lines><line><transcode>VRK</transcode><transnumber>202600099</transnumber>"
                      "<transline>1</transline><matchvalue>1.40</matchvalue></line><line><transcode>MEMO"
                      f"</transcode><transnumber>{memo}</transnumber><transline>2</transline><matchvalue>-1.40"
                      "</matchvalue></line></lines></set></match>")
    assert ours.get("result") == "0"
    ours = ours.find("set")
    assert _shape(ours) == _shape(theirs)  # every element and attribute name, in order
    missing, found = ours.findall("lines/line")
    assert (missing.get("msg"), missing.findtext("transnumber")) == ("De regel bestaat niet.", "202600099")
    assert found.get("result") == "1" and found.find("transcode").get("name") == "Memoriaal"
    assert (found.findtext("status"), found.findtext("dim2"), found.findtext("valueopen")) == \
        ("temporary", "4000", "-1.40")
    assert ours.findtext("dimensions/dimension") == "4000" and ours.findtext("value") == "-1.40"
    assert [i["open"] for i in client.open_items(customer="4000")] == ["-1.40"]  # nothing matched


def test_a_matched_set_names_its_office_as_recorded(tw, customer, reference):
    from lxml import etree

    theirs = etree.fromstring((reference / "php-twinfield/single-matchset.xml").read_bytes())[0]
    client = tw.client()
    sale(client, "M2")
    payment(client, "M2")
    items = client.open_items(customer="4000", invoicenumber="M2")
    ours = client.match([(i["code"], i["number"], i["line"]) for i in items], matchdate="20261121").find("set")
    assert _shape(ours) == _shape(theirs)
