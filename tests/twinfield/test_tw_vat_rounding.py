"""VAT is rounded per line, half up, everywhere: a booking's VAT line and an invoice's VAT lines are the sum of
the lines' rounded VAT, never the VAT of the summed lines ([CHOSEN], docs/twinfield.md "VAT rounding").

The case that tells the two apart: two lines of 0.50 at 9 %. Per line 0.045 -> 0.05 each, 0.10 in all; per
booking 1.00 x 9 % = 0.09."""

from __future__ import annotations

TWO_HALVES = ('<line type="total" id="1"><dim1>1300</dim1><dim2>4000</dim2><debitcredit>debit</debitcredit>'
              "<value>{total}</value></line>"
              '<line type="detail" id="2"><dim1>8010</dim1><debitcredit>credit</debitcredit><value>0.50</value>'
              "<vatcode>VL</vatcode></line>"
              '<line type="detail" id="3"><dim1>8010</dim1><debitcredit>credit</debitcredit><value>0.50</value>'
              "<vatcode>VL</vatcode></line>")

INVOICE_TWO_HALVES = ("<salesinvoice><header><office>NLA000001</office><invoicetype>FACTUUR</invoicetype>"
                      "<invoicedate>20261120</invoicedate><customer>4000</customer><currency>EUR</currency>"
                      "<status>{status}</status><paymentmethod>bank</paymentmethod></header><lines>"
                      + "".join(f'<line id="{i}"><article>0</article><description>Halfje</description>'
                                "<quantity>1</quantity><units>1</units><unitspriceexcl>0.50</unitspriceexcl>"
                                "<dim1>8010</dim1><vatcode>VL</vatcode></line>" for i in (1, 2))
                      + "</lines></salesinvoice>")


def test_a_booking_adds_up_the_rounded_vat_of_each_line(tw, customer, sales_xml):
    answer = tw.process(sales_xml("H1", lines=TWO_HALVES.format(total="1.10")))
    assert answer.get("result") == "1"
    [booking] = tw.bookings(invoicenumber="H1")
    assert [(ln["type"], ln["value"]) for ln in booking["lines"]] == [
        ("total", "1.10"), ("detail", "0.50"), ("detail", "0.50"), ("vat", "0.10")]
    assert [ln["vatvalue"] for ln in booking["lines"] if ln["type"] == "detail"] == ["0.05", "0.05"]


def test_a_total_with_vat_rounded_over_the_booking_is_a_cent_short(tw, customer, sales_xml, msgs):
    answer = tw.process(sales_xml("H2", lines=TWO_HALVES.format(total="1.09")))
    assert answer.get("result") == "0"
    assert "De boeking is niet in balans. Er ontbreekt 0.01 debet." in " ".join(msgs(answer))
    assert tw.bookings() == []


def test_an_invoice_rounds_the_same_way_and_its_booking_agrees(tw, customer):
    concept = tw.process(INVOICE_TWO_HALVES.format(status="concept"))
    assert [line.findtext("vatvalue") for line in concept.findall("lines/line")] == ["0.05", "0.05"]
    assert [v.findtext("vatvalue") for v in concept.findall("vatlines/vatline")] == ["0.10"]
    assert concept.findtext("totals/valueinc") == "1.10"
    final = tw.process(INVOICE_TWO_HALVES.format(status="final"))
    booking = tw.model.booking("NLA000001", "VRK", final.findtext("financials/number"))
    assert [(ln["type"], ln["value"]) for ln in booking["lines"]] == [
        ("total", "1.10"), ("detail", "0.50"), ("detail", "0.50"), ("vat", "0.10")]
