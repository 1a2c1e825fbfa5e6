"""The client's side of CB's Digicom messages: the order file it writes and the receipt it reads.

The round trip uses the simulator as CB's stand-in, so a disagreement between the two independent
implementations about the format shows up here.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from clients.cbftp.digicom import (CB_RELATION_ID, DeliveryAddress, Order, OrderLine, Receipt, ReceiptError,
                                   ReceiptFormatError, build_opdnaw, parse_ontbev)
from simulators.cbftp import digicom as cb

NOW = datetime(2026, 1, 5, 8, 30, tzinfo=timezone.utc)  # 09:30 in Culemborg
ORDER = Order("PO-1", [OrderLine("9789085013402", 2), OrderLine("9789073013827", 1, reference="R2")])
ADDRESS = DeliveryAddress("Zoë Müller", "Kerkstraat", 12, "1234 AB", "Utrecht", addition="a",
                          attention="Receptie")


def cb_check(data: bytes, account: str = "7000123") -> list[cb.SyntaxFinding]:
    assert not cb.too_corrupt(data)
    return cb.check_opdnaw(cb.parse_digicom(data, max_bytes=1_000_000), account_relation_id=account)


def cb_receipt(data: bytes, reference: str = "24327309") -> bytes:
    message = cb.parse_digicom(data, max_bytes=1_000_000)
    return cb.build_ontbev(original=message, findings=cb.check_opdnaw(message), relation_id="7000123",
                           now=NOW, reference=reference)


def test_the_order_file_is_written_as_the_public_clients_write_it():
    data = build_opdnaw(ORDER, sender_relation_id="7000123", reference="PO2026-0001", now=NOW)
    assert data.decode("latin-1").split("\r\n") == [
        "#00010#0002OPDNAW#00030301#000420260105#00050930#0006PO2026-0001#00071#00080",
        "#00011#0009AFZ#00107000123#0011CB",
        "#00011#0009ONTV#00108894126#0011CB",
        "#00012#0400LNORM#040120260105#0404PO-1",
        "#00013#0009AFN#00107000123#0011CB",
        "#00014#02009789085013402#04302#04411",
        "#00014#02009789073013827#04301#0441R2",
        "#00019#00151#00161#00172#00180#00190#0006PO2026-0001",
        "",
    ]


@pytest.mark.parametrize("order, test", [
    (ORDER, False),
    (Order("PO-2", [OrderLine("9789085013402", 999)], delivery_address=ADDRESS, order_type="LNEIG",
           order_date=date(2026, 1, 6)), False),
    (ORDER, True),
], ids=["plain", "with delivery address", "test message"])
def test_round_trip_client_order_passes_cbs_check(order, test):
    data = build_opdnaw(order, sender_relation_id="7000123", reference="PO2026-0001", now=NOW, test=test)
    assert cb_check(data) == []
    receipt = parse_ontbev(cb_receipt(data))
    assert receipt.accepted and receipt.errors == () and receipt.refused_lines == ()
    assert receipt.original_reference == "PO2026-0001" and receipt.original_message_type == "OPDNAW"
    assert receipt.reference == "24327309"


def test_delivery_address_record():
    order = Order("PO-2", [OrderLine("9789085013402", 1)], delivery_address=ADDRESS)
    data = build_opdnaw(order, sender_relation_id="7000123", reference="R", now=NOW)
    lines = data.decode("latin-1").split("\r\n")
    assert lines[5] == ("#00013#0009ONTV#00109999999#0011OWN#0013Zoë Müller#0014Receptie#0121Kerkstraat"
                        "#012212#0123a#01241234 AB#0125Utrecht#0127NL")
    assert lines[-2].startswith("#00019#00151#00162#00171#")


def test_naive_now_is_taken_as_local_time():
    data = build_opdnaw(ORDER, sender_relation_id="7000123", reference="R", now=datetime(2026, 1, 5, 23, 59))
    assert data.startswith(b"#00010#0002OPDNAW#00030301#000420260105#00052359#")


@pytest.mark.parametrize("kwargs, order, message", [
    ({}, Order("PO#1", ORDER.lines), "may not contain '#'"),
    ({}, Order("PO\n1", ORDER.lines), "line break"),
    ({}, Order("PO-Ł", ORDER.lines), "latin-1"),
    ({}, Order("PO-12345678", ORDER.lines), "longer than 10"),
    ({}, Order("PO-1", [OrderLine("9789085013403", 1)]), "check digit"),
    ({}, Order("PO-1", [OrderLine("97890850134", 1)]), "13 digits"),
    ({}, Order("PO-1", [OrderLine("9789085013402", 0)]), "quantity"),
    ({}, Order("PO-1", [OrderLine("9789085013402", 1000)]), "quantity"),
    ({}, Order("PO-1", []), "at least one line"),
    ({"sender_relation_id": "700012"}, ORDER, "7-digit"),
    ({"reference": "x" * 21}, ORDER, "longer than 20"),
])
def test_the_client_refuses_what_cb_would_refuse(kwargs, order, message):
    arguments = {"sender_relation_id": "7000123", "reference": "R", "now": NOW, **kwargs}
    with pytest.raises(ValueError, match=message):
        build_opdnaw(order, **arguments)


def test_check_false_lets_qa_send_what_cb_refuses_but_never_a_corrupt_file():
    order = Order("PO-1", [OrderLine("9789085013403", 0)])
    data = build_opdnaw(order, sender_relation_id="700012", reference="R", now=NOW, check=False)
    codes = {(f.field, f.code) for f in cb_check(data)}
    assert {("0200", "D040"), ("0430", "D041"), ("0010", "D030")} <= codes
    with pytest.raises(ValueError, match="'#'"):
        build_opdnaw(Order("PO#1", order.lines), sender_relation_id="7000123", reference="R", now=NOW,
                     check=False)


def test_the_receipt_reflects_cbs_findings_line_by_line():
    order = Order("PO-1", [OrderLine("9789085013402", 2), OrderLine("9789085013403", 0)])
    data = build_opdnaw(order, sender_relation_id="7000123", reference="PO2026-0001", now=NOW, check=False)
    findings = cb_check(data)
    receipt = parse_ontbev(cb_receipt(data))
    assert not receipt.accepted
    reported = [(e.line, e.field, e.code) for e in receipt.errors]
    assert reported == [(f.line, f.field, f.code) for f in findings]
    assert reported == [(7, "0200", "D040"), (7, "0430", "D041")]
    assert receipt.refused_lines == (7,)
    assert receipt.errors[0].text_nl.startswith("Ongeldig ISBN/EAN")
    assert receipt.errors[0].text_en.startswith("Invalid ISBN/EAN")
    assert receipt.records_read == 8


def test_a_receipt_written_by_hand_with_lf_line_ends_is_read():
    text = "\n".join([
        "#00010#0002ONTBEV#00039908A#000420170102#00052120#000624327309#00070#00080",
        "#00011#0009AFZ#00108894126#0011CB",
        "#00011#0009ONTV#00107979797#0011CB",
        "#00012#0006ORD42#000420170102#0002OPDNAW#00200#002112#00221",
        "#00013#00309#00310006#0032D024#0033Referentie wijkt af#0034Reference differs",
        "#00019#00151#00161#000624327309",
    ])
    assert parse_ontbev(text.encode("latin-1")) == Receipt(
        accepted=False, reference="24327309", original_reference="ORD42", original_message_type="OPDNAW",
        records_read=12,
        errors=(ReceiptError(9, "0006", "D024", "Referentie wijkt af", "Reference differs"),))


@pytest.mark.parametrize("data", [
    b"",
    b"not a receipt",
    b"#00010#0002OPDNAW#00030301\r\n",
    b"#00010#0002ONTBEV#00039908A\r\n#00019#00151#00160#00061\r\n",  # no transaction record
    b"#00010#0002ONTBEV#00039908A\r\n#00012#0006X#0020maybe\r\n",
    b"#00010#0002ONTBEV#00039908A\r\n#00012#0006X#00201\r\n#00013#0030seven\r\n",
], ids=["empty", "text", "an order", "no transaction", "bad indicator", "bad line number"])
def test_what_is_not_a_receipt_is_refused(data):
    with pytest.raises(ReceiptFormatError):
        parse_ontbev(data)


def test_default_receiver_is_cb():
    assert CB_RELATION_ID == cb.CB_RELATION_ID == "8894126"
