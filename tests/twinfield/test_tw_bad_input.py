"""What a broken or hostile client sends is refused on the element it concerns, over real sockets: never an
"Unexpected exception." fault for the whole request, never a number read from digits Twinfield does not read,
and in a batch every element keeps its own answer."""

from __future__ import annotations

import socket

import pytest
import requests
from lxml import etree

from simulators.twinfield.config import Dimension

TIMEOUT = 10

CUSTOMER = ("<dimension><office>NLA000001</office><type>DEB</type><code>{code}</code><name>K</name>"
            "<financials><duedays>{duedays}</duedays></financials></dimension>")


def invoice(customer: str = "4000", quantity: str = "1", units: str = "1", price: str = "100.00",
            date: str = "20261120") -> str:
    return ("<salesinvoice><header><office>NLA000001</office><invoicetype>FACTUUR</invoicetype>"
            f"<invoicedate>{date}</invoicedate><customer>{customer}</customer><status>concept</status></header>"
            f"<lines><line><article>0</article><quantity>{quantity}</quantity><units>{units}</units>"
            f"<unitspriceexcl>{price}</unitspriceexcl><dim1>8000</dim1><vatcode>VH</vatcode>"
            "<description>x</description></line></lines></salesinvoice>")


def dated(sales_xml, invoicenumber: str, day: str, customer: str = "4000") -> str:
    return sales_xml(invoicenumber, customer=customer).replace("<date>20261120</date>", f"<date>{day}</date>")


def no_crash(tw) -> None:
    assert tw.runtime.journal.entries(kind="twinfield.crash") == []


# -- a customer's payment term (duedays) --------------------------------------------------------------------

@pytest.mark.parametrize("duedays", ["abc", "-999999999", "999999999", "1e3", "1000", "３０", "٣٠"])
def test_a_customer_with_an_unreadable_payment_term_is_refused_on_duedays(tw, sales_xml, duedays):
    answer = tw.process(CUSTOMER.format(code="4002", duedays=duedays))
    assert answer.get("result") == "0"
    field = answer.find("financials/duedays")
    assert field.get("msgtype") == "error" and field.get("msg").startswith(f"Ongeldig aantal vervaldagen: {duedays}.")
    assert tw.model.ledger.get("NLA000001", "DEB", "4002") is None  # not stored
    # and an existing customer keeps its term when an update sends a bad one
    tw.process(CUSTOMER.format(code="4003", duedays="14"))
    refused = tw.process(CUSTOMER.format(code="4003", duedays=duedays))
    assert refused.get("result") == "0"
    booked = tw.process(sales_xml("D1", customer="4003"))
    assert booked.get("result") == "1" and booked.findtext("header/duedate") == "20261204"  # 20 Nov + 14 days


def test_a_payment_term_is_used_for_bookings_and_invoices(tw, sales_xml):
    assert tw.process(CUSTOMER.format(code="4004", duedays="010")).get("result") == "1"
    assert tw.model.ledger.get("NLA000001", "DEB", "4004")["data"]["financials"]["duedays"] == "10"
    assert tw.process(sales_xml("D2", customer="4004")).findtext("header/duedate") == "20261130"
    assert tw.process(invoice("4004")).findtext("header/duedate") == "20261130"


@pytest.mark.parametrize("stored", ["abc", "-999999999", "999999999", "1e3"])
def test_a_bad_payment_term_already_stored_does_not_break_bookings(tw, sales_xml, stored):
    # A state directory written before payment terms were checked
    tw.model.ledger.put("NLA000001", "DEB", "4005", "Oud", {"financials": {"duedays": stored}}, tw.model.now())
    booked = tw.process(sales_xml("D3", customer="4005"))
    assert booked.get("result") == "1" and booked.findtext("header/duedate") == "20261220"  # the default 30
    made = tw.process(invoice("4005"))
    assert made.get("result") == "1" and made.findtext("header/duedate") == "20261220"
    no_crash(tw)


def test_the_admin_api_refuses_a_payment_term_out_of_range():
    with pytest.raises(ValueError):
        Dimension("DEB", "4006", "K", duedays=999999999)


# -- dates past the calendar's end --------------------------------------------------------------------------

def test_a_date_whose_due_date_is_past_9999_is_a_date_error(tw, customer, sales_xml):
    answer = tw.process(dated(sales_xml, "Y1", "99991231"))
    assert answer.get("result") == "0"
    assert answer.find("header/date").get("msg") == "Ongeldige datum: 99991231."
    assert tw.bookings() == []
    # with its own due date nothing needs working out
    sent = dated(sales_xml, "Y2", "99991231").replace("</currency>", "</currency><duedate>99991231</duedate>")
    assert tw.process(sent).get("result") == "1"
    refused = tw.process(invoice(date="99991231"))
    assert refused.get("result") == "0" and refused.find("header/invoicedate").get("msg") == \
        "Ongeldige datum: 99991231."
    no_crash(tw)


# -- a batch: every element its own answer ------------------------------------------------------------------

def test_a_batch_answers_each_element_even_when_one_is_refused_late(tw, customer, sales_xml):
    batch = f"<transactions>{sales_xml('B1')}{dated(sales_xml, 'B2', '99991231')}</transactions>"
    answer = tw.process(batch)
    first, second = answer.findall("transaction")
    assert answer.get("result") == "0"
    assert first.get("result") == "1" and first.findtext("header/number") == "202600001"
    assert second.get("result") == "0" and second.find("header/date").get("msg") == "Ongeldige datum: 99991231."


def test_a_failure_inside_a_batch_keeps_the_answers_of_the_elements_booked(tw, customer, sales_xml, monkeypatch):
    post = tw.model.transactions.post

    def failing(caller, office, given, now, **kwargs):
        if given["header"].get("invoicenumber") == "BOOM":
            raise RuntimeError("a bug of ours")
        return post(caller, office, given, now, **kwargs)

    monkeypatch.setattr(tw.model.transactions, "post", failing)
    batch = f"<transactions>{sales_xml('C1')}{sales_xml('BOOM')}{sales_xml('C3')}</transactions>"
    answer = tw.process(batch)  # HTTP 200, not a fault for the whole request
    first, second, third = answer.findall("transaction")
    assert answer.get("result") == "0"
    assert first.get("result") == "1" and first.findtext("header/number") == "202600001"
    assert second.get("result") == "0" and second.get("msgtype") == "error"
    assert "onverwachte fout" in second.get("msg")
    assert third.get("result") == "1" and third.findtext("header/number") == "202600002"
    assert [b["invoicenumber"] for b in tw.bookings()] == ["C1", "C3"]
    crash = tw.runtime.journal.entries(kind="twinfield.crash")
    assert len(crash) == 1 and "RuntimeError" in str(crash[0])


# -- amounts, quantities and line numbers -------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("quantity", "1E+100000"), ("quantity", "9" * 30), ("units", "9" * 29), ("unitspriceexcl", "1e2"),
    ("quantity", "NaN"), ("quantity", "１"), ("unitspriceexcl", "١٠٠.٠٠")])
def test_an_unreadable_quantity_units_or_price_is_an_amount_error(tw, customer, field, value):
    given = {"quantity": "1", "units": "1", "price": "100.00"}
    given["price" if field == "unitspriceexcl" else field] = value
    answer = tw.process(invoice(**given))
    assert answer.get("result") == "0"
    assert f"Ongeldig bedrag: {value}." in answer.find("lines/line").get("msg")
    no_crash(tw)


def test_a_line_amount_too_large_is_refused(tw, customer):
    answer = tw.process(invoice(quantity="9" * 15, units="9" * 15, price="999999999999999.99"))
    assert answer.get("result") == "0"
    assert answer.find("lines/line").get("msg") == "Het bedrag van de regel (aantal x eenheden x prijs) is te groot."
    no_crash(tw)


@pytest.mark.parametrize("value", ["١٢١.٠٠", "１２１.００", "1e2", "121.00\u00b9"])
def test_digits_of_other_scripts_are_not_an_amount(tw, customer, sales_xml, value):
    answer = tw.process(sales_xml("A1").replace("<value>121.00</value>", f"<value>{value}</value>"))
    assert answer.get("result") == "0"
    assert answer.find("lines/line/value").get("msg") == f"Ongeldig bedrag: {value}."
    assert tw.bookings() == []


@pytest.mark.parametrize("day", ["٢٠٢٦١١٢٠", "２０２６１１２０"])
def test_digits_of_other_scripts_are_not_a_date(tw, customer, sales_xml, day):
    answer = tw.process(dated(sales_xml, "A2", day))
    assert answer.get("result") == "0" and answer.find("header/date").get("msg") == f"Ongeldige datum: {day}."


def test_digits_of_other_scripts_are_not_a_period(tw, customer, sales_xml):
    sent = sales_xml("A3").replace("</currency>", "</currency><period>٢٠٢٦/١١</period>")
    answer = tw.process(sent)
    assert answer.get("result") == "0"
    assert answer.find("header/period").get("msg") == "Ongeldige periode: ٢٠٢٦/١١."


@pytest.mark.parametrize("transline", ["99999999999999999999999", "١", "1" * 5000])
def test_a_match_line_number_that_is_no_line_is_not_found(tw, customer, sales_xml, transline):
    number = tw.process(sales_xml("M1")).findtext("header/number")
    answer = tw.process(
        "<match><set><office>NLA000001</office><matchcode>170</matchcode><lines>"
        f"<line><transcode>VRK</transcode><transnumber>{number}</transnumber><transline>1</transline></line>"
        f"<line><transcode>VRK</transcode><transnumber>{number}</transnumber><transline>{transline}</transline>"
        "</line></lines></set></match>")
    assert answer.get("result") == "0"
    assert answer.findall("set/lines/line")[1].get("msg") == "De regel bestaat niet."
    no_crash(tw)


def test_a_failing_match_set_keeps_the_answer_of_the_set_matched(tw, customer, sales_xml, monkeypatch):
    sale = tw.process(sales_xml("M2")).findtext("header/number")
    paid = tw.client().post_transaction("MEMO", [
        {"dim1": "2000", "debitcredit": "debit", "value": "121.00"},
        {"dim1": "1300", "dim2": "4000", "debitcredit": "credit", "value": "121.00"}], date="20261121")
    match = tw.model.matching.match

    def failing(office, given, now):
        if given.get("matchdate") == "20261122":
            raise RuntimeError("a bug of ours")
        return match(office, given, now)

    monkeypatch.setattr(tw.model.matching, "match", failing)
    one = (f"<lines><line><transcode>VRK</transcode><transnumber>{sale}</transnumber><transline>1</transline></line>"
           f"<line><transcode>MEMO</transcode><transnumber>{paid}</transnumber><transline>2</transline></line>"
           "</lines>")
    answer = tw.process(f"<match><set><office>NLA000001</office><matchcode>170</matchcode>{one}</set>"
                        "<set><office>NLA000001</office><matchcode>170</matchcode><matchdate>20261122</matchdate>"
                        f"{one}</set></match>")
    matched, failed = answer.findall("set")
    assert matched.get("result") == "1" and failed.get("result") == "0" and "onverwachte fout" in failed.get("msg")
    assert [m["matchnumber"] for m in tw.model.matches()] == ["1"]


def test_browse_and_finder_numbers_are_ascii(tw, customer, sales_xml):
    tw.process(sales_xml("F1"))
    columns = ('<columns code="100"><column><field>fin.trs.head.office</field><operator>equal</operator>'
               "<from>NLA000001</from></column><column><field>fin.trs.line.valuesigned</field><visible>true"
               "</visible><operator>between</operator><from>{low}</from><to>{high}</to></column>"
               "<column><field>fin.trs.head.yearperiod</field><operator>between</operator><from>{period}</from>"
               "</column></columns>")
    found = tw.process(columns.format(low="121", high="121", period="2026/11"))
    assert found.get("total") == "1"
    # "١٢١" is not 121: compared as text, it selects nothing; a period month in other digits is no crash
    assert tw.process(columns.format(low="١٢١", high="١٢١", period="2026/11")).get("total") == "0"
    assert tw.process(columns.format(low="", high="", period="2026/\u00b2")).get("result") == "1"
    no_crash(tw)


# -- the wire -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("charset", ["punycode", "idna", "unicode_escape", "nonsense", "hex"])
def test_a_charset_that_cannot_read_the_body_is_a_400(tw, soap, charset):
    body = soap.envelope(soap.process_string("<read><type>office</type></read>"), "x")
    response = tw.post("processxml", body, content_type=f"text/xml; charset={charset}")
    assert response.status_code == 400, response.text
    assert b"Server was unable to read request." in response.content
    no_crash(tw)


def test_a_finder_number_in_other_digits_is_not_read(tw, soap):
    body = (f'<Search xmlns="{soap.TNS}"><type>DIM</type><pattern>*</pattern><field>٠</field>'
            "<firstRow>1</firstRow><maxRows>10</maxRows><options/></Search>")
    response = tw.post("finder", soap.envelope(body, tw.token()))
    assert response.status_code == 500 and b"Input string was not in a correct format." in response.content
    no_crash(tw)


def test_head_of_a_wsdl_is_its_get_without_the_body(tw):
    since = tw.runtime.journal.last_id()
    for name in ("processxml", "finder", "session"):
        url = f"{tw.base}/webservices/{name}.asmx?wsdl"
        got = requests.get(url, timeout=TIMEOUT)
        head = requests.head(url, timeout=TIMEOUT)
        assert head.status_code == got.status_code == 200
        assert head.headers["Content-Type"] == got.headers["Content-Type"] == "text/xml; charset=utf-8"
        assert head.headers["Content-Length"] == str(len(got.content)) and head.content == b""
        etree.fromstring(got.content)
    assert tw.runtime.journal.entries(kind="soap.fault", since=since) == []


def test_head_with_curl_style_raw_request(tw):
    host, port = tw.base.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(b"HEAD /webservices/processxml.asmx?wsdl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b""
