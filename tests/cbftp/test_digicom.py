"""CB's side of Digicom: reading order files, the OPDNAW check, the ONTBEV receipt, the XML error file."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from lxml import etree

from simulators.cbftp import digicom
from simulators.cbftp.digicom import (CODES, DigicomRefused, OpdnawRules, Refusal, build_error_xml,
                                      build_ontbev, check_opdnaw, corruption_reason, parse_digicom,
                                      receipt_file_name, too_corrupt)

# A valid order in the shape R1 and R2 write (docs/centraal-boekhuis-facts.md). Line numbers matter below.
GOOD = [
    "#00010#0002OPDNAW#00030301#000420260105#00050930#0006PO2026-0001#00071#00080",  # 1 header
    "#00011#0009AFZ#00107000123#0011CB",  # 2
    "#00011#0009ONTV#00108894126#0011CB",  # 3
    "#00012#0400LNORM#040120260105#0404PO-1",  # 4
    "#00013#0009AFN#00107000123#0011CB",  # 5
    "#00013#0009ONTV#00109999999#0011OWN#0013Jan Jansen#0121Kerkstraat#012212#01241234 AB#0125Utrecht#0127NL",
    "#00014#02009789085013402#04302#04411",  # 7
    "#00014#02009789073013827#04301#04412",  # 8
    "#00019#00151#00162#00172#00180#00190#0006PO2026-0001",  # 9 footer
]
MAX = 1_000_000


def message(lines: list[str], eol: str = "\r\n") -> digicom.DigicomMessage:
    return parse_digicom(eol.join(lines).encode("latin-1"), max_bytes=MAX)


def changed(line: int, old: str, new: str) -> list[str]:
    lines = list(GOOD)
    assert old in lines[line - 1], f"{old!r} not in line {line}"
    lines[line - 1] = lines[line - 1].replace(old, new)
    return lines


def where(findings) -> set[tuple[int, str, str]]:
    return {(f.line, f.field, f.code) for f in findings}


def test_a_valid_order_has_no_findings():
    assert check_opdnaw(message(GOOD), account_relation_id="7000123") == []


@pytest.mark.parametrize("eol", ["\r\n", "\n"])
def test_crlf_and_lf_read_alike(eol):
    parsed = message(GOOD, eol)
    assert [r.line for r in parsed.records] == list(range(1, 10))
    assert parsed.records[6].fields == (("0001", "4"), ("0200", "9789085013402"), ("0430", "2"),
                                        ("0441", "1"))
    assert check_opdnaw(parsed) == []


def test_blank_lines_are_skipped_but_counted():
    parsed = message(GOOD[:3] + [""] + GOOD[3:])
    assert len(parsed.records) == 9 and parsed.records[3].line == 5
    assert check_opdnaw(parsed) == []


@pytest.mark.parametrize("lines, expected", [
    pytest.param(changed(1, "#000420260105", "#000420260230"), (1, "0004", "D022"), id="impossible date"),
    pytest.param(changed(1, "#000420260105", "#00042026015"), (1, "0004", "D022"), id="7-digit date"),
    pytest.param(changed(1, "#00050930", "#00052460"), (1, "0005", "D023"), id="impossible time"),
    pytest.param(changed(9, "#0006PO2026-0001", "#0006PO2026-0002"), (9, "0006", "D024"),
                 id="reference mismatch"),
    pytest.param(GOOD[1:], (1, "0001", "D001"), id="missing header"),
    pytest.param(GOOD[:-1], (8, "0001", "D002"), id="missing footer"),
    pytest.param(changed(7, "9789085013402", "9789085013403"), (7, "0200", "D040"),
                 id="bad ISBN check digit"),
    pytest.param(changed(7, "9789085013402", "978-90-850-1340-2"), (7, "0200", "D040"), id="hyphenated ISBN"),
    pytest.param(changed(7, "#04302", "#04300"), (7, "0430", "D041"), id="zero quantity"),
    pytest.param(changed(7, "#04302", "#04301000"), (7, "0430", "D011"), id="quantity over n(3)"),
    pytest.param(changed(7, "#04302", "#0430two"), (7, "0430", "D012"), id="quantity not numeric"),
    pytest.param(changed(7, "#04302", ""), (7, "0430", "D010"), id="quantity missing"),
    pytest.param(changed(1, "#0002OPDNAW", "#0002FACTUR"), (1, "0002", "D020"), id="unknown message type"),
    pytest.param(changed(1, "#00030301", "#00030302"), (1, "0003", "D021"), id="unknown version"),
    pytest.param(changed(2, "#00107000123", "#0010700012"), (2, "0010", "D030"), id="6-digit relation id"),
    pytest.param(changed(3, "#00108894126", "#00107000999"), (3, "0010", "D032"), id="receiver is not CB"),
    pytest.param(changed(2, "#0011CB", "#0011XX"), (2, "0011", "D013"), id="party id type"),
    pytest.param(GOOD[:2] + GOOD[3:], (1, "0009", "D031"), id="receiver party missing"),
    pytest.param(changed(9, "#00172", "#00173"), (9, "0017", "D025"), id="line count wrong"),
    pytest.param(changed(9, "#00162", "#00161"), (9, "0016", "D025"), id="party count wrong"),
    pytest.param(changed(7, "#04411", ""), (7, "0441", "D042"), id="line without reference"),
    pytest.param(changed(4, "#040120260105", "#040120261301"), (4, "0401", "D022"), id="bad order date"),
    pytest.param(changed(4, "#0400LNORM", ""), (4, "0400", "D010"), id="order type missing"),
    pytest.param(changed(6, "#0011OWN", "#0011CB"), (6, "0011", "D013"), id="address id type"),
    pytest.param(changed(6, "#0125Utrecht", ""), (6, "0125", "D010"), id="address without city"),
    pytest.param(changed(6, "#012212", "#012212a"), (6, "0122", "D012"), id="house number not numeric"),
    pytest.param(changed(5, "#0011CB", "#0011CB#0011CB"), (5, "0011", "D014"), id="duplicate field"),
    pytest.param(changed(8, "#00014", "#00017"), (8, "0001", "D003"), id="unknown record type"),
    pytest.param(changed(8, "#00014", "garbage #00014"), (8, "0001", "D004"), id="junk before a record"),
    pytest.param(GOOD[:4] + ["this is not a record"] + GOOD[4:], (5, "0001", "D004"), id="not a record"),
    pytest.param(GOOD[:3] + GOOD[4:], (8, "0001", "D006"), id="no transaction record"),
    pytest.param(GOOD[:3] + GOOD[4:5] + GOOD[3:4] + GOOD[5:], (4, "0001", "D005"),
                 id="party before transaction"),
    pytest.param(GOOD[:4] + GOOD[1:2] + GOOD[4:], (5, "0001", "D005"), id="party after the transaction"),
    pytest.param(GOOD + GOOD[:1], (10, "0001", "D005"), id="second header"),
])
def test_each_syntax_error_is_found_with_its_line_and_field(lines, expected):
    findings = check_opdnaw(message(lines))
    assert expected in where(findings), [(f.line, f.field, f.code, f.text_en) for f in findings]
    found = next(f for f in findings if (f.line, f.field, f.code) == expected)
    assert found.text_nl and found.text_en and found.text_nl != found.text_en


def test_an_order_without_lines_is_refused():
    lines = GOOD[:6] + ["#00019#00151#00162#00170#00180#00190#0006PO2026-0001"]
    assert (7, "0001", "D043") in where(check_opdnaw(message(lines)))


def test_findings_come_in_line_order_and_name_every_error():
    lines = changed(1, "#000420260105", "#000420261399")
    lines[6] = lines[6].replace("9789085013402", "9789085013403").replace("#04302", "#04300")
    findings = check_opdnaw(message(lines))
    assert [(f.line, f.field, f.code) for f in findings] == [(1, "0004", "D022"), (7, "0200", "D040"),
                                                               (7, "0430", "D041")]


def test_a_message_of_another_type_is_not_held_to_order_rules():
    lines = [GOOD[0].replace("OPDNAW", "ARTBER"), GOOD[-1]]
    assert where(check_opdnaw(message(lines))) == {(1, "0002", "D020")}


def test_the_sender_must_be_the_ftp_account():
    findings = check_opdnaw(message(GOOD), account_relation_id="7000999")
    assert where(findings) == {(2, "0010", "D033")}


def test_isbn10_and_non_book_ean13_are_articles():
    assert check_opdnaw(message(changed(7, "9789085013402", "9085013402"))) == []  # the same book as ISBN-10
    assert check_opdnaw(message(changed(7, "9789085013402", "8710398503961"))) == []  # EAN-13, no ISBN
    assert (7, "0200", "D040") in where(check_opdnaw(message(changed(7, "9789085013402", "9085013403"))))


def test_date_content_check_can_follow_cbs_own_leniency():
    lines = changed(1, "#000420260105", "#000420260230")
    assert (1, "0004", "D022") in where(check_opdnaw(message(lines)))
    assert check_opdnaw(message(lines), rules=OpdnawRules(check_date_content=False)) == []
    # the format (8 digits) is CB's own rule (W1) and stays
    lines = changed(1, "#000420260105", "#00042026015")
    lenient = OpdnawRules(check_date_content=False)
    assert (1, "0004", "D022") in where(check_opdnaw(message(lines), rules=lenient))


def test_line_reference_rule_can_be_switched_off():
    lines = changed(7, "#04411", "")
    assert check_opdnaw(message(lines), rules=OpdnawRules(require_line_reference=False)) == []


def test_latin1_text_is_read():
    lines = changed(6, "Jan Jansen", "Zoë Müller")
    parsed = message(lines)
    assert parsed.records[5].get("0013") == "Zoë Müller"
    assert check_opdnaw(parsed) == []


# ---- too corrupt for a receipt ----------------------------------------------------------------------------

@pytest.mark.parametrize("data, code", [
    pytest.param(b"", "D903", id="empty"),
    pytest.param(b" \r\n\r\n", "D903", id="only blank lines"),
    pytest.param(b"\x00\x01\x02PK\x03\x04", "D902", id="binary"),
    pytest.param("\r\n".join(GOOD).encode() + b"\x00", "D902", id="NUL at the end"),
    pytest.param(b'{"order": "PO-1", "lines": [{"isbn": "9789085013402"}]}', "D904", id="JSON"),
    pytest.param(b"<?xml version='1.0'?><order/>", "D904", id="XML"),
    pytest.param(b"ISBN;quantity\r\n9789085013402;2\r\n", "D904", id="CSV"),
    pytest.param(b"#0002OPDNAW#00030301", "D904", id="record without record type"),
])
def test_too_corrupt_files_get_an_xml_error_file(data, code):
    assert too_corrupt(data)
    assert corruption_reason(data).code == code


def test_a_digicom_file_without_header_still_gets_a_receipt():
    assert not too_corrupt("\r\n".join(GOOD[1:]).encode())
    assert not too_corrupt(message(GOOD))
    assert corruption_reason("\r\n".join(GOOD).encode()) is None


def test_a_byte_order_mark_is_tolerated():
    data = b"\xef\xbb\xbf" + "\r\n".join(GOOD).encode()
    assert not too_corrupt(data)
    assert check_opdnaw(parse_digicom(data, max_bytes=MAX)) == []


def test_size_limit():
    data = "\r\n".join(GOOD).encode()
    assert parse_digicom(data, max_bytes=len(data)).records
    with pytest.raises(DigicomRefused) as refused:
        parse_digicom(data, max_bytes=len(data) - 1)
    assert refused.value.refusal.code == "D901"
    assert too_corrupt(data, max_bytes=100)
    assert corruption_reason(data, max_bytes=100).code == "D901"


def test_binary_content_is_refused_by_the_parser():
    with pytest.raises(DigicomRefused, match="D902"):
        parse_digicom(b"#00010\x00#0002OPDNAW", max_bytes=MAX)


# ---- the ONTBEV receipt -----------------------------------------------------------------------------------

SPEC_HEADER = "#00010#0002ONTBEV#00039908A#000420170102#00052120#000624327309#00070#00080"


@pytest.mark.parametrize("now", [datetime(2017, 1, 2, 21, 20),
                                 datetime(2017, 1, 2, 20, 20, tzinfo=timezone.utc)],  # CET is UTC+1
                         ids=["local", "utc"])
def test_receipt_header_reproduces_the_spec_example(now):
    receipt = build_ontbev(original=message(GOOD), findings=[], relation_id="7979797", now=now,
                           reference="24327309")
    lines = receipt.decode("latin-1").split("\r\n")
    assert lines[0] == SPEC_HEADER
    # W2's example goes on with CB as sender and the customer as receiver
    assert lines[1:3] == ["#00011#0009AFZ#00108894126#0011CB", "#00011#0009ONTV#00107979797#0011CB"]


def test_an_accepted_receipt_has_no_error_lines():
    receipt = build_ontbev(original=message(GOOD), findings=[], relation_id="7000123",
                           now=datetime(2026, 1, 5, 9, 31), reference="12345678")
    records = [r for r in receipt.decode("latin-1").split("\r\n") if r]
    assert records[3] == "#00012#0006PO2026-0001#000420260105#0002OPDNAW#00201#00219#00220"
    assert records[-1] == "#00019#00151#00160#000612345678"
    assert len(records) == 5 and receipt.endswith(b"\r\n")


def test_a_refused_receipt_has_one_error_line_per_finding():
    lines = changed(7, "9789085013402", "9789085013403")
    lines[8] = lines[8].replace("PO2026-0001", "OTHER")
    findings = check_opdnaw(message(lines))
    receipt = build_ontbev(original=message(lines), findings=findings, relation_id="7000123",
                           now=datetime(2026, 1, 5, 9, 31), reference="12345678")
    reread = parse_digicom(receipt, max_bytes=MAX)
    assert reread.header.get("0002") == "ONTBEV" and reread.header.get("0003") == "9908A"
    assert reread.of_type("2")[0].get(digicom.ONTBEV_ACCEPTED) == "0"
    errors = reread.of_type("3")
    assert [(e.get("0030"), e.get("0031"), e.get("0032")) for e in errors] == [("7", "0200", "D040"),
                                                                              ("9", "0006", "D024")]
    assert reread.footer.get("0016") == "2" and reread.footer.get("0006") == "12345678"


def test_receipt_texts_cannot_break_the_record_structure():
    lines = changed(7, "9789085013402", "97890850#13402")
    findings = check_opdnaw(message(lines))
    receipt = build_ontbev(original=message(lines), findings=findings, relation_id="7000123",
                           now=datetime(2026, 1, 5, 9, 31), reference="1")
    for record in parse_digicom(receipt, max_bytes=MAX).records:
        assert not record.malformed and len({fid for fid, _ in record.fields}) == len(record.fields)


def test_a_receipt_for_a_file_without_header_uses_what_it_can():
    parsed = message(GOOD[1:])
    receipt = build_ontbev(original=parsed, findings=check_opdnaw(parsed), relation_id="7000123",
                           now=datetime(2026, 1, 5, 9, 31), reference="1")
    tx = parse_digicom(receipt, max_bytes=MAX).of_type("2")[0]
    assert tx.get("0006") == "PO2026-0001" and tx.get("0020") == "0"


def test_receipt_file_name():
    assert receipt_file_name(relation_id="7000123", sequence=42, now=datetime(2026, 1, 5, 23, 30,
                                                                              tzinfo=timezone.utc)) \
        == "7000123u004220260106.ont"


# ---- the XML error file ----------------------------------------------------------------------------------

def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def test_error_xml_carries_file_code_and_both_texts():
    refusal = corruption_reason(b"\x00\x01")
    root = _xml(build_error_xml(file_name="order-1.opd", reason=refusal,
                                now=datetime(2017, 1, 2, 20, 20, tzinfo=timezone.utc)))
    assert root.tag == "error"
    assert root.findtext("filename") == "order-1.opd"
    assert root.findtext("datetime") == "2017-01-02T21:20:00+01:00"
    assert root.findtext("code") == "D902"
    texts = {d.get("{http://www.w3.org/XML/1998/namespace}lang"): d.text for d in root.findall("description")}
    assert texts == {"nl": refusal.text_nl, "en": refusal.text_en}


def test_error_xml_with_a_plain_reason_and_hostile_text():
    data = build_error_xml(file_name="a<b>&\x01.opd", reason="kapot <&> bestand",
                           now=datetime(2026, 1, 5, 9, 0))
    root = _xml(data)
    assert root.findtext("code") == "D900"
    assert root.findtext("filename") == "a<b>&?.opd"
    assert "kapot <&> bestand" in root.findall("description")[1].text


# ---- the code table --------------------------------------------------------------------------------------

def test_codes_are_unique_named_constants_with_both_languages():
    assert all(key == code.code and re.fullmatch(r"D\d{3}", key) for key, code in CODES.items())
    for code in CODES.values():
        placeholders = set(re.findall(r"{(\w+)}", code.nl))
        assert placeholders == set(re.findall(r"{(\w+)}", code.en)), code.code
        assert "#" not in code.nl + code.en  # a '#' would split the receipt's text field
    assert isinstance(corruption_reason(b""), Refusal)
