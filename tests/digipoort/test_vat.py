"""simulators.digipoort.vat: the Belastingdienst's superficial check of a VAT return (SPEC §2.5)."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest

from clients.xbrl import build_vat_return
from simulators.digipoort import vat
from simulators.digipoort.vat import BOXES, Finding, check_vat_return

REPO = Path(__file__).resolve().parents[2]
SAMPLES = (REPO / ".." / "shared" / "reference" / "digipoort" / "wus.core").resolve()
IDENTITY = "001000044B37"
TODAY = date(2022, 1, 15)


def _sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"reference sample {path} is absent (the repo's sibling folder 'shared' is not here)")
    return path.read_bytes()


@pytest.fixture
def sample() -> bytes:
    return _sample("VB-01_bd-rpt-ob-aangifte-2021.xbrl")


def sub(data: bytes, old: str, new: str, count: int = 1) -> bytes:
    """Replace ``old`` by ``new`` in ``data``, insisting that the mutation actually happens."""
    assert data.count(old.encode()) >= count, f"{old!r} not in the document"
    return data.replace(old.encode(), new.encode(), count)


def fact(concept: str, value: str) -> str:
    return f'<bd-i:{concept} decimals="INF" contextRef="Msg" unitRef="EUR">{value}</bd-i:{concept}>'


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def pairs(payload: bytes, identity: str | None = IDENTITY, today: date = TODAY) -> list[tuple]:
    """(code, box) of every finding."""
    return [(f.code, f.box) for f in check_vat_return(payload, identity=identity, today=today)]


def test_the_real_sample_passes(sample):
    assert check_vat_return(sample, identity=IDENTITY, today=TODAY) == []


def test_the_real_2020_sample_passes():
    assert check_vat_return(_sample("valid-instance.xbrl"), identity=IDENTITY, today=TODAY) == []


def test_a_built_return_for_october_2026_passes():
    boxes = {"1a": 20000, "1a_btw": 4200, "1b": 1000, "1b_btw": 90, "4b": 500, "4b_btw": 105,
             "5a": 4395, "5b": 1200, "5g": 3195}
    payload = build_vat_return(identity=IDENTITY, period_start=date(2026, 10, 1),
                               period_end=date(2026, 10, 31), boxes=boxes, created=datetime(2026, 11, 3, 10))
    assert check_vat_return(payload, identity=IDENTITY, today=date(2026, 11, 20)) == []


def test_5a_off_by_ten_is_0301_naming_box_5a(sample):
    payload = sub(sample, fact("ValueAddedTaxOwed", "3240"), fact("ValueAddedTaxOwed", "3250"))
    findings = check_vat_return(payload, identity=IDENTITY, today=TODAY)
    first = findings[0]
    assert (first.code, first.box) == ("0301", "5a")
    assert first.text == ("Rubriek 5a (verschuldigde btw) sluit niet aan: opgegeven 3250, "
                          "som van de rubrieken 3240.")
    assert "0302" in codes(findings)  # 5g = 5a - 5b no longer holds for the declared 5a either


def test_a_vat_box_off_is_0301_too(sample):
    payload = sub(sample, fact("ValueAddedTaxSuppliesServicesReducedTariff", "90"),
                  fact("ValueAddedTaxSuppliesServicesReducedTariff", "80"))
    findings = check_vat_return(payload, identity=IDENTITY, today=TODAY)
    assert [(f.code, f.box) for f in findings] == [("0301", "5a")]
    assert "som van de rubrieken 3230" in findings[0].text


@pytest.mark.parametrize("old, new", [
    (fact("ValueAddedTaxOwedToBePaidBack", "3240"), fact("ValueAddedTaxOwedToBePaidBack", "3200")),
    (fact("ValueAddedTaxOnInput", "0"), fact("ValueAddedTaxOnInput", "40")),
    (fact("SmallEntrepreneurProvisionReduction", "0"), fact("SmallEntrepreneurProvisionReduction", "40")),
], ids=["5g", "5b", "5d"])
def test_5g_not_5a_minus_5b_minus_5d_is_0302(sample, old, new):
    findings = check_vat_return(sub(sample, old, new), identity=IDENTITY, today=TODAY)
    assert [(f.code, f.box) for f in findings] == [("0302", "5g")]
    assert findings[0].text.startswith("Rubriek 5g (totaal te betalen of terug te vragen) sluit niet aan")


def test_5b_and_5g_consistent_passes(sample):
    payload = sub(sample, fact("ValueAddedTaxOnInput", "0"), fact("ValueAddedTaxOnInput", "3500"))
    payload = sub(payload, fact("ValueAddedTaxOwedToBePaidBack", "3240"),
                  fact("ValueAddedTaxOwedToBePaidBack", "-260"))
    assert check_vat_return(payload, identity=IDENTITY, today=TODAY) == []


@pytest.mark.parametrize("label", ["5a", "5g"])
def test_a_missing_required_box_is_0106(sample, label):
    payload = sub(sample, fact(BOXES[label], "3240"), "")
    findings = check_vat_return(payload, identity=IDENTITY, today=TODAY)
    assert (findings[0].code, findings[0].box) == ("0106", label)
    assert findings[0].text.endswith("ontbreekt.")


@pytest.mark.parametrize("value", ["3150.50", "3150.00", "", "drie"])
def test_an_amount_that_is_not_whole_euros_is_0105(sample, value):
    payload = sub(sample, fact(BOXES["1a_btw"], "3150"), fact(BOXES["1a_btw"], value))
    findings = check_vat_return(payload, identity=IDENTITY, today=TODAY)
    assert [(f.code, f.box) for f in findings] == [("0105", "1a_btw")]  # and no arithmetic on it
    assert findings[0].text.startswith("Rubriek 1a (btw hoog tarief) bevat")


def test_a_box_reported_twice_is_0107(sample):
    payload = sub(sample, fact("ValueAddedTaxOnInput", "0"), fact("ValueAddedTaxOnInput", "0") * 2)
    assert pairs(payload) == [("0107", "5b")]


def test_an_identifier_that_is_not_the_identity_is_0102(sample):
    findings = check_vat_return(sample, identity="999999999B99", today=TODAY)
    assert codes(findings) == ["0102"]
    assert "001000044B37" in findings[0].text and "999999999B99" in findings[0].text


@pytest.mark.parametrize("identity", [None, "001000044B37", " 001000044b37 ", "NL001000044B37"])
def test_the_identity_may_be_absent_or_written_differently(sample, identity):
    assert check_vat_return(sample, identity=identity, today=TODAY) == []


@pytest.mark.parametrize("old, new", [
    ('scheme="www.belastingdienst.nl/omzetbelastingnummer"', 'scheme="www.kvk.nl/kvk-nummer"'),
    (">001000044B37<", ">1000044<"),
    ('<xbrli:context id="Msg">', '<xbrli:context id="Other"><xbrli:entity><xbrli:identifier scheme="x">1'
                                 '</xbrli:identifier></xbrli:entity><xbrli:period><xbrli:instant>2021-10-31'
                                 '</xbrli:instant></xbrli:period></xbrli:context><xbrli:context id="Msg">'),
], ids=["scheme", "identifier-form", "two-contexts"])
def test_context_problems_are_0101(sample, old, new):
    assert codes(check_vat_return(sub(sample, old, new), identity=None, today=TODAY)) == ["0101"]


def test_a_box_in_another_context_is_0101_naming_the_box(sample):
    payload = sub(sample, fact("ValueAddedTaxOnInput", "0"),
                  fact("ValueAddedTaxOnInput", "0").replace('contextRef="Msg"', 'contextRef="Elders"'))
    assert pairs(payload) == [("0101", "5b")]


@pytest.mark.parametrize("start, end, today", [
    ("2021-10-31", "2021-10-01", TODAY),  # reversed
    ("2021-10-05", "2021-10-31", TODAY),  # not a calendar month
    ("2021-10-01", "2021-11-15", TODAY),
    ("2021-11-01", "2022-01-31", date(2022, 3, 1)),  # three months, but not a calendar quarter
    ("2021-10-01", "2021-10-31", date(2021, 10, 31)),  # not ended yet
    ("2021-10-01", "2021-10-31", date(2021, 10, 15)),
    ("2021-13-01", "2021-10-31", TODAY),  # not a date
    ("20211001", "20211031", TODAY),  # not xs:date
], ids=["reversed", "mid-month", "six-weeks", "odd-quarter", "ends-today", "running", "bad-date",
        "basic-format"])
def test_period_problems_are_0103(sample, start, end, today):
    payload = sub(sub(sample, "2021-10-01</xbrli:startDate>", f"{start}</xbrli:startDate>"),
                  "2021-10-31</xbrli:endDate>", f"{end}</xbrli:endDate>")
    findings = check_vat_return(payload, identity=IDENTITY, today=today)
    assert codes(findings) == ["0103"]
    assert findings[0].box is None and "tijdvak" in findings[0].text


def test_a_running_period_says_from_when_the_return_can_be_filed(sample):
    (finding,) = check_vat_return(sample, identity=IDENTITY, today=date(2021, 10, 31))
    assert finding.text == ("Het tijdvak 01-10-2021 t/m 31-10-2021 is nog niet verstreken; "
                            "aangifte doen kan vanaf 01-11-2021.")


@pytest.mark.parametrize("start, end", [("2021-10-01", "2021-12-31"), ("2021-01-01", "2021-12-31")],
                         ids=["quarter", "year"])
def test_quarters_and_years_are_periods_too(sample, start, end):
    payload = sub(sub(sample, "2021-10-01</xbrli:startDate>", f"{start}</xbrli:startDate>"),
                  "2021-10-31</xbrli:endDate>", f"{end}</xbrli:endDate>")
    assert check_vat_return(payload, identity=IDENTITY, today=TODAY) == []


@pytest.mark.parametrize("old, new", [
    ("<xbrli:measure>iso4217:EUR</xbrli:measure>", "<xbrli:measure>iso4217:USD</xbrli:measure>"),
    ("<xbrli:measure>iso4217:EUR</xbrli:measure>", "<xbrli:measure>xbrli:EUR</xbrli:measure>"),
    ("</xbrli:unit>",
     '</xbrli:unit><xbrli:unit id="USD"><xbrli:measure>iso4217:USD</xbrli:measure></xbrli:unit>'),
], ids=["usd", "wrong-namespace", "two-units"])
def test_unit_problems_are_0104(sample, old, new):
    assert codes(check_vat_return(sub(sample, old, new), identity=IDENTITY, today=TODAY)) == ["0104"]


def test_a_box_in_another_unit_is_0104_naming_the_box(sample):
    payload = sub(sample, fact(BOXES["3a"], "4000"), fact(BOXES["3a"], "4000").replace('"EUR"', '"USD"'))
    assert pairs(payload) == [("0104", "3a")]


@pytest.mark.parametrize("payload, code", [
    (b"", "0010"),
    (b"<xbrli:xbrl", "0010"),
    (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "0010"),
    (b"<aangifte/>", "0011"),
])
def test_what_is_not_an_xbrl_instance_is_refused_at_once(payload, code):
    (finding,) = check_vat_return(payload, identity=IDENTITY, today=TODAY)
    assert finding.code == code and finding.box is None


def test_a_doctype_in_the_return_is_named(sample):
    payload = sub(sample, "<xbrli:xbrl ", "<!DOCTYPE xbrli:xbrl>\n<xbrli:xbrl ")
    (finding,) = check_vat_return(payload, identity=IDENTITY, today=TODAY)
    assert finding.code == "0010" and "DOCTYPE" in finding.text and "regel 5" in finding.text


def test_an_icp_return_is_not_a_vat_return_0012(sample):
    payload = sub(sample, "bd-rpt-ob-aangifte-2021.xsd", "bd-rpt-icp-opgaaf-2021.xsd", count=2)
    assert codes(check_vat_return(payload, identity=IDENTITY, today=TODAY)) == ["0012"]


def test_any_taxonomy_version_of_the_dictionary_is_read(sample):
    payload = sample.replace(b"nt15/bd/20201209", b"nt20/bd/20251210")
    payload = payload.replace(b"aangifte-2021", b"aangifte-2026")
    assert check_vat_return(payload, identity=IDENTITY, today=TODAY) == []
    wrong = sample.replace(b"/dictionary/bd-data", b"/dictionary/other")
    assert ("0106", "5a") in pairs(wrong)


def test_findings_are_frozen():
    with pytest.raises(AttributeError):
        Finding("0301", "5a", "x").code = "0302"  # type: ignore[misc]


def test_code_constants_match_the_documented_table():
    table = dict(re.findall(r"^(\d{4})\s+([A-Z_0-9]+)\s", vat.__doc__, re.MULTILINE))
    assert table, "the module docstring lists the codes"
    for code, name in table.items():
        assert getattr(vat, name) == code, name
    constants = {getattr(vat, name) for name in dir(vat) if re.fullmatch(r"[A-Z_0-9]+", name)
                 and isinstance(getattr(vat, name), str) and re.fullmatch(r"\d{4}", getattr(vat, name))}
    assert constants == set(table)
    assert "0001" not in table  # 0001 means "Status: Verwerkbaar" in a Responsemessage


def test_every_box_has_a_dutch_name():
    assert set(vat._NAMES) == set(BOXES)
    assert set(vat.VAT_BOXES) <= set(BOXES) and set(vat.REQUIRED_BOXES) <= set(BOXES)
