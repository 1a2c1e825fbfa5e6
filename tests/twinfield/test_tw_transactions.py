"""Sales and memo bookings over the wire: VAT computed and rounded per line, the balance check with its real
Dutch text, numbering per office/journal/year, every refusal with the text on the element it concerns, and
nothing half stored."""

from __future__ import annotations

import pytest

DETAIL = ('<line type="detail"><dim1>{dim1}</dim1><debitcredit>credit</debitcredit><value>{value}</value>'
          "<vatcode>{vat}</vatcode><description>{desc}</description></line>")
TOTAL = ('<line type="total"><dim1>1300</dim1><dim2>4000</dim2><debitcredit>debit</debitcredit>'
         "<value>{value}</value></line>")


def lines(total: str, *details: tuple[str, str]) -> str:
    return TOTAL.format(value=total) + "".join(DETAIL.format(dim1="8000", value=v, vat=c, desc="x")
                                               for v, c in details)


def booking(tw, invoicenumber: str) -> dict:
    found = tw.bookings(invoicenumber=invoicenumber)
    assert len(found) == 1, found
    return found[0]


def test_vat_is_computed_per_line_and_rounded_half_up(tw, customer, sales_xml):
    # 0.50 at 21% is 0.105 -> 0.11 on each line: the VAT line is 0.22, not 21% of 1.00 (0.21);
    # 0.50 at 9% is 0.045 -> 0.05 (half up, not half even).
    xml = sales_xml("R1", lines=lines("1.77", ("0.50", "VH"), ("0.50", "VH"), ("0.50", "VL")))
    answer = tw.process(xml)
    assert answer.get("result") == "1", answer.attrib
    vat = [ln for ln in booking(tw, "R1")["lines"] if ln["type"] == "vat"]
    assert [(v["vatcode"], v["value"], v["vatturnover"], v["dim1"], v["debitcredit"]) for v in vat] == \
        [("VH", "0.22", "1.00", "1530", "credit"), ("VL", "0.05", "0.50", "1531", "credit")]
    details = [ln["vatvalue"] for ln in booking(tw, "R1")["lines"] if ln["type"] == "detail"]
    assert details == ["0.11", "0.11", "0.05"]


def test_the_response_is_the_stored_booking_with_number_period_and_vat_line(tw, customer, sales_xml):
    answer = tw.process(sales_xml("5869"))
    assert answer.tag == "transaction" and answer.get("result") == "1" and answer.get("location") == "temporary"
    assert answer.get("destiny") is None  # the request's destiny becomes the response's location
    assert answer.findtext("header/number") == "202600001" and answer.findtext("header/period") == "2026/11"
    assert answer.findtext("header/duedate") == "20261220"  # 30 days, the customer's due days
    assert answer.find("header/code").get("name") == "Verkoopboek"
    total, detail, vat = answer.findall("lines/line")
    assert total.findtext("openvalue") == "121.00" and total.findtext("matchstatus") == "available"
    assert total.findtext("vattotal") == "21.00" and total.find("dim2").get("type") == "DEB"
    assert detail.findtext("vatvalue") == "21.00" and detail.findtext("matchstatus") == "notmatchable"
    assert (vat.get("type"), vat.get("id"), vat.findtext("value"), vat.findtext("vatturnover")) == \
        ("vat", "3", "21.00", "100.00")
    # baseline names the VAT rate's line (the VH account line, id 1), not a detail line: the recorded
    # salesTransactionGetResponse.xml answers <baseline>1</baseline> for its detail line 2
    assert vat.findtext("baseline") == "1"


def test_unbalanced_booking_gets_the_real_text_and_is_not_stored(tw, customer, sales_xml):
    answer = tw.process(sales_xml("B1", lines=lines("121.01", ("100.00", "VH"))))
    assert answer.get("result") == "0" and answer.get("msgtype") == "error"
    assert answer.get("msg") == ("De boeking is niet in balans. Er ontbreekt 0.01 credit.//"
                                 "De boeking balanceert niet in de basisvaluta. Er ontbreekt 0.01 credit.")
    short = tw.process(sales_xml("B2", lines=lines("120.99", ("100.00", "VH"))))
    assert short.get("msg").startswith("De boeking is niet in balans. Er ontbreekt 0.01 debet.")
    assert tw.bookings() == []


def test_with_a_reporting_currency_the_balance_text_has_three_parts(tw, customer, sales_xml):
    response = tw.api("POST", "/api/twinfield/offices", json={
        "code": "NLA000003", "name": "Met rapportagevaluta", "reporting_currency": "USD"})
    assert response.status_code == 201
    tw.api("POST", "/api/twinfield/users", json={"user": "koppeling", "password": "koppeling-secret",
                                                 "offices": ["NLA000001", "NLA000003"]})
    tw.api("POST", "/api/twinfield/dimensions", json={"type": "DEB", "code": "4000", "name": "Jan",
                                                       "office": "NLA000003"})
    answer = tw.process(sales_xml("B3", office="NLA000003", lines=lines("120.99", ("100.00", "VH"))),
                        company="NLA000003")
    # word for word the message of php-twinfield's 2-failed-and-1-successful-banktransactions.xml
    assert answer.get("msg") == ("De boeking is niet in balans. Er ontbreekt 0.01 debet.//De boeking balanceert "
                                 "niet in de basisvaluta. Er ontbreekt 0.01 debet.//De boeking balanceert niet in "
                                 "de rapportagevaluta. Er ontbreekt 0.01 debet.")


def test_an_unknown_vat_code_is_named_and_the_missing_vat_unbalances_the_booking(tw, customer, sales_xml):
    answer = tw.process(sales_xml("V21", lines=lines("121.00", ("100.00", "21"))))
    vatcode = answer.find("lines/line[2]/vatcode")
    assert (vatcode.get("msgtype"), vatcode.get("msg"), vatcode.get("result")) == \
        ("error", "Btw 21 bestaat niet of is (nog) niet actief.", "0")
    assert answer.find("lines/line[2]").get("result") == "0" and answer.find("lines").get("result") == "0"
    # the combination Coachview's users see: the unbalance of the VAT that could not be computed
    assert answer.get("msg").startswith("De boeking is niet in balans. Er ontbreekt 21.00 credit.")


def test_an_unknown_ledger_account_is_named_on_dim1(tw, customer, sales_xml):
    answer = tw.process(sales_xml("L1", lines=lines("121.00", ("100.00", "VH")).replace(
        "<dim1>8000</dim1>", "<dim1>11300</dim1>")))
    dim1 = answer.find("lines/line[2]/dim1")
    assert dim1.get("msg") == "Grootboekrekening 11300 bestaat niet." and answer.get("result") == "0"


def test_a_duplicate_invoice_number_is_refused_on_the_invoicenumber(tw, customer, sales_xml):
    assert tw.process(sales_xml("5869")).get("result") == "1"
    again = tw.process(sales_xml("5869"))
    element = again.find("header/invoicenumber")
    assert element.get("msg") == "Factuurnummer 5869 komt reeds voor." and again.find("header").get("result") == "0"
    assert len(tw.bookings()) == 1


def test_the_vat_percentage_in_force_on_the_booking_date_applies(tw, customer, sales_xml):
    old = sales_xml("OLD", lines=lines("106.00", ("100.00", "VL"))).replace("20261120", "20181231")
    new = sales_xml("NEW", lines=lines("109.00", ("100.00", "VL"))).replace("20261120", "20190101")
    assert tw.process(old).get("result") == "1" and tw.process(new).get("result") == "1"
    assert [ln["value"] for ln in booking(tw, "OLD")["lines"] if ln["type"] == "vat"] == ["6.00"]
    assert [ln["value"] for ln in booking(tw, "NEW")["lines"] if ln["type"] == "vat"] == ["9.00"]
    before = sales_xml("ANCIENT", lines=lines("100.00", ("100.00", "VH"))).replace("20261120", "19991231")
    assert tw.process(before).find("lines/line[2]/vatcode").get("msg") == \
        "Btw VH bestaat niet of is (nog) niet actief."


def test_numbers_count_per_office_journal_and_year(tw, customer, sales_xml):
    tw.api("POST", "/api/twinfield/users", json={"user": "koppeling", "password": "koppeling-secret",
                                                 "offices": ["NLA000001", "NLA000002"]})
    token = tw.token()
    numbers = [tw.process(sales_xml(f"N{i}"), token).findtext("header/number") for i in range(3)]
    other = tw.process(sales_xml("N9", office="NLA000002"), token, company="NLA000002").findtext("header/number")
    next_year = tw.process(sales_xml("N10").replace("20261120", "20270104"), token).findtext("header/number")
    memo = tw.process('<transaction destiny="temporary"><header><office>NLA000001</office><code>MEMO</code>'
                      "<date>20261120</date></header><lines>"
                      '<line type="detail"><dim1>2000</dim1><debitcredit>debit</debitcredit><value>1.00</value></line>'
                      '<line type="detail"><dim1>1100</dim1><debitcredit>credit</debitcredit><value>1.00</value></line>'
                      "</lines></transaction>", token).findtext("header/number")
    assert numbers == ["202600001", "202600002", "202600003"]
    assert (other, next_year, memo) == ("202600001", "202700001", "202600001")


def test_more_than_two_decimals_is_refused_on_the_value(tw, customer, sales_xml):
    answer = tw.process(sales_xml("D3", lines=lines("121.005", ("100.00", "VH"))))
    assert answer.find("lines/line[1]/value").get("msg") == "Het bedrag 121.005 heeft meer dan twee decimalen."
    assert tw.bookings() == []


def test_a_date_outside_the_period_is_a_warning_that_blocks_unless_raisewarning_is_false(tw, customer, sales_xml):
    xml = sales_xml("P1").replace("<date>20261120</date>", "<date>20261120</date><period>2026/10</period>")
    warned = tw.process(xml)
    date = warned.find("header/date")
    assert (date.get("msgtype"), date.get("msg")) == ("warning", "Datum 20-11-2026 valt buiten de opgegeven "
                                                                 "periode (2026/10).")
    assert warned.get("result") == "0" and tw.bookings() == []
    quiet = tw.process(xml.replace('destiny="temporary"', 'destiny="temporary" raisewarning="false"'))
    assert quiet.get("result") == "1" and quiet.findtext("header/period") == "2026/10"
    assert not [el for el in quiet.iter() if el.get("msg")]


def test_autobalancevat_absorbs_at_most_two_cents(tw, customer, sales_xml):
    two_cents = sales_xml("A1", lines=lines("121.02", ("100.00", "VH")), attrs='autobalancevat="true"')
    assert tw.process(two_cents).get("result") == "1"
    assert [ln["value"] for ln in booking(tw, "A1")["lines"] if ln["type"] == "vat"] == ["21.02"]
    three = sales_xml("A2", lines=lines("121.03", ("100.00", "VH")), attrs='autobalancevat="true"')
    assert "Er ontbreekt 0.03 credit" in tw.process(three).get("msg")


def test_a_given_vatvalue_within_the_tolerance_is_taken_beyond_it_is_a_warning(tw, customer, sales_xml):
    """Seed 003: the koppeling absorbs a rounding difference of at most 5 cents into the VAT amounts."""
    absorbed = lines("121.04", ("100.00", "VH")).replace("</vatcode>", "</vatcode><vatvalue>21.04</vatvalue>")
    assert tw.process(sales_xml("T1", lines=absorbed)).get("result") == "1"
    assert [ln["value"] for ln in booking(tw, "T1")["lines"] if ln["type"] == "vat"] == ["21.04"]
    too_far = lines("121.10", ("100.00", "VH")).replace("</vatcode>", "</vatcode><vatvalue>21.10</vatvalue>")
    answer = tw.process(sales_xml("T2", lines=too_far))
    vatvalue = answer.find("lines/line[2]/vatvalue")
    assert vatvalue.get("msgtype") == "warning" and "21.10" in vatvalue.get("msg") and answer.get("result") == "0"


ICP_LINE = ('<line type="detail"><dim1>8100</dim1><debitcredit>credit</debitcredit><value>100.00</value>'
            "<vatcode>IC</vatcode>{extra}</line>")


def icp(sales_xml, number: str, extra: str) -> str:
    return sales_xml(number, lines=TOTAL.format(value="100.00") + ICP_LINE.format(extra=extra))


def test_icp_lines_need_performance_type_country_and_a_valid_vat_number(tw, customer, sales_xml):
    missing = tw.process(icp(sales_xml, "I1", ""))
    line = missing.find("lines/line[2]")
    assert "Het prestatietype (goods of services) is verplicht" in line.get("msg")
    assert "Het land van prestatie is verplicht" in line.get("msg") and "btw-nummer" in line.get("msg")
    wrong = tw.process(icp(sales_xml, "I2", "<performancetype>goods</performancetype><performancecountry>NL"
                                            "</performancecountry><performancevatnumber>DE123456789"
                                            "</performancevatnumber>"))
    assert "is geen ander EU-land" in wrong.find("lines/line[2]/performancecountry").get("msg")
    bad_number = tw.process(icp(sales_xml, "I3", "<performancetype>goods</performancetype><performancecountry>DE"
                                                  "</performancecountry><performancevatnumber>DE000000000"
                                                  "</performancevatnumber>"))
    assert bad_number.find("lines/line[2]/performancevatnumber").get("msg") == "Btw-nummer DE000000000 is ongeldig."
    greek_for_germany = tw.process(icp(sales_xml, "I3b", "<performancetype>goods</performancetype><performancecountry>DE"
                                                         "</performancecountry><performancevatnumber>EL094259216"
                                                         "</performancevatnumber>"))
    assert greek_for_germany.find("lines/line[2]/performancevatnumber").get("msg") == \
        "Btw-nummer EL094259216 is ongeldig."  # a valid Greek number, but not one of the performance country
    services = tw.process(icp(sales_xml, "I4", "<performancetype>services</performancetype><performancecountry>BE"
                                               "</performancecountry><performancevatnumber>BE0776091951"
                                               "</performancevatnumber>"))
    assert "prestatiedatum" in services.find("lines/line[2]").get("msg")
    good = tw.process(icp(sales_xml, "I5", "<performancetype>goods</performancetype><performancecountry>DE"
                                           "</performancecountry><performancevatnumber>DE136695976"
                                           "</performancevatnumber>"))
    assert good.get("result") == "1", [el.get("msg") for el in good.iter() if el.get("msg")]
    vat = [ln for ln in booking(tw, "I5")["lines"] if ln["type"] == "vat"]
    assert (vat[0]["vatcode"], vat[0]["value"], vat[0]["performancecountry"], vat[0]["performancevatnumber"]) == \
        ("IC", "0.00", "DE", "DE136695976")
    assert len(tw.bookings()) == 1


def test_a_sales_total_line_must_be_on_a_debtors_account_with_a_customer(tw, customer, sales_xml):
    on_bank = tw.process(sales_xml("C1", lines=lines("121.00", ("100.00", "VH")).replace(
        "<dim1>1300</dim1><dim2>4000</dim2>", "<dim1>1100</dim1>")))
    assert on_bank.find("lines/line[1]/dim1").get("msg") == "Grootboekrekening 1100 is geen debiteurenrekening."
    unknown = tw.process(sales_xml("C2", customer="9999"))
    assert unknown.find("lines/line[1]/dim2").get("msg") == "Dimensie 9999 bestaat niet."
    no_customer = tw.process(sales_xml("C3", lines=lines("121.00", ("100.00", "VH")).replace("<dim2>4000</dim2>",
                                                                                             "")))
    assert no_customer.find("lines/line[1]").get("msg") == "Voor grootboekrekening 1300 is een debiteur verplicht."


def test_memo_bookings_have_no_total_line_and_put_customers_lines_open(tw, customer):
    memo = ('<transaction destiny="temporary"><header><office>NLA000001</office><code>MEMO</code>'
            "<date>20261121</date></header><lines>"
            '<line type="detail"><dim1>2000</dim1><debitcredit>debit</debitcredit><value>121.00</value>'
            "<description>tr-1 betaling</description><invoicenumber>5869</invoicenumber></line>"
            '<line type="detail"><dim1>1300</dim1><dim2>4000</dim2><debitcredit>credit</debitcredit>'
            "<value>121.00</value><description>5869</description><invoicenumber>5869</invoicenumber></line>"
            "</lines></transaction>")
    answer = tw.process(memo)
    assert answer.get("result") == "1" and answer.find("header/code").get("name") == "Memoriaal"
    payment, sale = tw.bookings(code="MEMO")[0]["lines"]
    assert (payment["matchstatus"], sale["matchstatus"], sale["openvalue"]) == ("notmatchable", "available", "-121.00")
    with_total = tw.process(memo.replace('<line type="detail"><dim1>2000', '<line type="total"><dim1>2000'))
    assert with_total.find("lines/line[1]").get("msg") == "Een memoriaalboeking heeft geen totaalregel."


def test_final_bookings_cannot_be_changed_temporary_ones_can(tw, customer, sales_xml):
    first = tw.process(sales_xml("U1"))
    number = first.findtext("header/number")
    changed = sales_xml("U1", lines=lines("242.00", ("200.00", "VH"))).replace(
        "<currency>EUR</currency>", f"<currency>EUR</currency><number>{number}</number>")
    assert tw.process(changed).get("result") == "1"
    assert booking(tw, "U1")["lines"][0]["value"] == "242.00" and len(tw.bookings()) == 1
    final = tw.process(sales_xml("F1", destiny="final"))
    assert final.get("location") == "final"
    refused = tw.process(sales_xml("F1").replace("<currency>EUR</currency>",
                                                 f"<currency>EUR</currency><number>{final.findtext('header/number')}"
                                                 "</number>"))
    assert refused.get("msg") == "De status van de boeking moet Concept zijn."
    delete = tw.process(f'<transaction action="delete"><office>NLA000001</office><code>VRK</code>'
                        f"<number>{final.findtext('header/number')}</number></transaction>")
    assert delete.get("msg") == "De status van de boeking moet Concept zijn."
    removed = tw.process(f'<transaction action="delete"><office>NLA000001</office><code>VRK</code>'
                         f"<number>{number}</number></transaction>")
    assert removed.get("result") == "1" and [b["invoicenumber"] for b in tw.bookings()] == ["F1"]


def test_a_batch_stores_the_good_ones_and_answers_result_0(tw, customer, sales_xml):
    batch = f"<transactions>{sales_xml('G1')}{sales_xml('G2', lines=lines('1.00', ('100.00', 'VH')))}</transactions>"
    answer = tw.process(batch)
    assert answer.tag == "transactions" and answer.get("result") == "0"
    assert [t.get("result") for t in answer] == ["1", "0"]
    assert [b["invoicenumber"] for b in tw.bookings()] == ["G1"]


@pytest.mark.parametrize("field,value,message", [
    ("code", "XYZ", "Dagboek XYZ bestaat niet."),
    ("currency", "USD", "Valuta USD bestaat niet."),
    ("date", "2026-11-20", "Ongeldige datum: 2026-11-20."),
])
def test_header_fields_are_checked(tw, customer, sales_xml, field, value, message):
    original = {"code": "VRK", "currency": "EUR", "date": "20261120"}[field]
    xml = sales_xml("H1").replace(f"<{field}>{original}</{field}>", f"<{field}>{value}</{field}>", 1)
    answer = tw.process(xml)
    assert answer.find(f"header/{field}").get("msg") == message and tw.bookings() == []


def test_a_description_longer_than_40_characters_is_refused(tw, customer, sales_xml):
    long = lines("121.00", ("100.00", "VH")).replace("<description>x</description>",
                                                      f"<description>{'x' * 41}</description>")
    answer = tw.process(sales_xml("L40", lines=long))
    assert answer.find("lines/line[2]/description").get("msg") == "Omschrijving mag maximaal 40 tekens bevatten."


def test_reading_a_transaction_back(tw, customer, sales_xml):
    number = tw.process(sales_xml("RB")).findtext("header/number")
    read = tw.process(f"<read><type>transaction</type><office>NLA000001</office><code>VRK</code>"
                      f"<number>{number}</number></read>")
    assert read.get("result") == "1" and read.findtext("header/invoicenumber") == "RB"
    missing = tw.process("<read><type>transaction</type><office>NLA000001</office><code>VRK</code>"
                         "<number>202699999</number></read>")
    assert missing.tag == "transaction" and missing.get("result") == "0" and len(missing) == 0


def test_a_general_batch_processes_each_request_on_its_own(tw, sales_xml):
    """[CHOSEN] ``<general>`` holds requests of several kinds; each is answered in place."""
    answer = tw.process("<general><dimension><office>NLA000001</office><type>DEB</type><code>4000</code>"
                        f"<name>Jan Jansen</name></dimension>{sales_xml('GB1')}"
                        "<list><type>offices</type></list><nonsense/></general>")
    assert answer.tag == "general" and answer.get("result") == "0"
    assert [(c.tag, c.get("result")) for c in answer] == [("dimension", "1"), ("transaction", "1"),
                                                          ("offices", "1"), ("nonsense", "0")]
    assert answer[3].get("msg") == "Onbekend XML-element: nonsense."
    assert [b["invoicenumber"] for b in tw.bookings()] == ["GB1"]


@pytest.mark.parametrize("ids,message", [
    (("1", "1"), "Regelnummer 1 komt meer dan eens voor."),
    (("1", "abc"), "Ongeldig regelnummer: abc."),
    (("1", "99999999999999999999999"), "Ongeldig regelnummer: 99999999999999999999999."),
])
def test_line_ids_that_are_no_numbers_or_repeat_are_refused_on_the_line(tw, customer, sales_xml, ids, message):
    """They used to end in "Unexpected exception." (a primary key clash, int("abc"), an integer too large)."""
    xml = lines("121.00", ("100.00", "VH")).replace('<line type="total">', f'<line type="total" id="{ids[0]}">') \
        .replace('<line type="detail">', f'<line type="detail" id="{ids[1]}">')
    answer = tw.process(sales_xml("ID1", lines=xml))
    assert answer.get("result") == "0" and answer.find("lines/line[2]").get("msg") == message
    assert tw.bookings() == []
    assert tw.process(sales_xml("ID2")).get("result") == "1"  # and the service carries on
