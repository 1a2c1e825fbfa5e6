"""clients.xbrl: building and reading VAT returns the way accounting software does."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree

import clients.xbrl as xbrl
from clients.xbrl import BOXES, build_vat_return, read_vat_return, vat_box_problems

REPO = Path(__file__).resolve().parents[2]
SAMPLES = (REPO / ".." / "shared" / "reference" / "digipoort" / "wus.core").resolve()
IDENTITY = "001000044B37"
OCTOBER = {"identity": IDENTITY, "period_start": date(2026, 10, 1), "period_end": date(2026, 10, 31)}
CREATED = datetime(2026, 11, 3, 10, 15)
# The boxes of the Belastingdienst's sample VB-01 (2021).
SAMPLE_BOXES = {
    "1a": 15000, "1a_btw": 3150, "1b": 1500, "1b_btw": 90, "1c": 0, "1c_btw": 0, "1d": 0, "1d_btw": 0,
    "1e": 0,
    "2a": 0, "2a_btw": 0, "3a": 4000, "3b": 100, "3c": 100, "4a": 1200, "4a_btw": 0, "4b": 0, "4b_btw": 0,
    "5a": 3240, "5b": 0, "5d": 0, "5g": 3240,
}


def _sample() -> bytes:
    path = SAMPLES / "VB-01_bd-rpt-ob-aangifte-2021.xbrl"
    if not path.is_file():
        pytest.skip(f"reference sample {path} is absent (the repo's sibling folder 'shared' is not here)")
    return path.read_bytes()


def test_the_box_mapping_is_the_simulators_mapping():
    from simulators.digipoort import vat
    assert BOXES == vat.BOXES
    assert xbrl.VAT_BOXES == vat.VAT_BOXES


def test_the_client_module_does_not_import_simulators():
    tree = ast.parse(Path(xbrl.__file__).read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.startswith("simulators")]


def test_a_return_like_the_sample_is_the_sample_canonically():
    sample = _sample()
    built = build_vat_return(
        identity=IDENTITY, period_start=date(2021, 10, 1), period_end=date(2021, 10, 31), boxes=SAMPLE_BOXES,
        contact={"type": "INT", "initials": "Initials", "prefix": "Prefix", "surname": "Surname",
                 "telephone": "0612345678", "tax_consultant_number": "234564"},
        software=("ApplicatieNaam", "ApplicatieVersie"), created=datetime(2020, 11, 15, 12, 54),
        message_reference="OB-KTG00-AG", vendor_account="SWO12345")
    canonical = [etree.tostring(etree.fromstring(doc), method="c14n") for doc in (built, sample)]
    assert canonical[0] == canonical[1]


def test_the_shape_of_a_built_return():
    root = etree.fromstring(build_vat_return(**OCTOBER, boxes={"1a": 1000, "1a_btw": 210}, created=CREATED))
    bd = "http://www.nltaxonomie.nl/nt20/bd/20251210/dictionary/bd-data"
    assert root.nsmap["bd-i"] == bd
    schema_ref = root.find("{http://www.xbrl.org/2003/linkbase}schemaRef")
    assert schema_ref.get("{http://www.w3.org/1999/xlink}href") == (
        "http://www.nltaxonomie.nl/nt20/bd/20251210/entrypoints/bd-rpt-ob-aangifte-2026.xsd")
    amounts = [el for el in root if el.get("unitRef")]
    assert all(el.get("decimals") == "INF" and el.get("contextRef") == "Msg" and el.get("unitRef") == "EUR"
               for el in amounts)
    assert root.findtext(f"{{{bd}}}DateTimeCreation") == "202611031015"
    assert root.findtext(f"{{{bd}}}ValueAddedTaxOwed") == "210"  # 5a and 5g computed when left out
    assert root.findtext(f"{{{bd}}}ValueAddedTaxOwedToBePaidBack") == "210"
    assert root.find(f"{{{bd}}}SmallEntrepreneurProvisionReduction") is None  # 5d only when given


def test_an_aware_creation_time_is_written_in_amsterdam_time():
    payload = build_vat_return(**OCTOBER, boxes={}, created=datetime(2026, 11, 3, 9, 15, tzinfo=UTC))
    assert b">202611031015<" in payload


@pytest.mark.parametrize("year, taxonomy", [
    (2020, "nt14/bd/20191211"), (2021, "nt15/bd/20201209"),
    (2025, "nt19/bd/20241211"), (2026, "nt20/bd/20251210"),
])
def test_the_taxonomy_follows_the_period_end(year, taxonomy):
    payload = build_vat_return(identity=IDENTITY, period_start=date(year, 1, 1), period_end=date(year, 3, 31),
                               boxes={}, created=CREATED)
    schema = f"http://www.nltaxonomie.nl/{taxonomy}/entrypoints/bd-rpt-ob-aangifte-{year}.xsd"
    assert schema.encode() in payload
    assert f'xmlns:bd-i="http://www.nltaxonomie.nl/{taxonomy}/dictionary/bd-data"'.encode() in payload


def test_an_explicit_taxonomy_year_wins():
    payload = build_vat_return(**OCTOBER, boxes={}, taxonomy_year=2025, created=CREATED)
    assert b"bd-rpt-ob-aangifte-2025.xsd" in payload


def test_an_unknown_year_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"2019.*known years: 2020, 2021, .*2025, 2026"):
        build_vat_return(identity=IDENTITY, period_start=date(2019, 1, 1), period_end=date(2019, 1, 31),
                         boxes={}, created=CREATED)


@pytest.mark.parametrize("amount", [12.0, 12.5, "12", True])
def test_amounts_must_be_ints(amount):
    with pytest.raises(ValueError, match="box 1a must be whole euros as an int"):
        build_vat_return(**OCTOBER, boxes={"1a": amount}, created=CREATED)


def test_unknown_labels_and_contact_fields_are_refused():
    with pytest.raises(ValueError, match=r"unknown VAT box label\(s\) \['6a'\]; known: 1a, 1a_btw"):
        build_vat_return(**OCTOBER, boxes={"6a": 1}, created=CREATED)
    with pytest.raises(ValueError, match="unknown contact field"):
        build_vat_return(**OCTOBER, boxes={}, contact={"email": "x@example.org"}, created=CREATED)


def test_inconsistent_returns_are_built_and_a_box_given_as_none_is_left_out():
    payload = build_vat_return(**OCTOBER, boxes={"1a_btw": 210, "5a": 200, "5g": None}, created=CREATED)
    boxes = read_vat_return(payload)["boxes"]
    assert boxes["5a"] == 200 and "5g" not in boxes


def test_vat_box_problems_names_the_box():
    assert vat_box_problems({"1a": 15000, "1a_btw": 3150, "1b_btw": 90, "5a": 3240, "5g": 3240}) == []
    assert vat_box_problems({"1a_btw": 3150, "1b_btw": 90}) == []  # 5a and 5g are computed
    assert vat_box_problems({"1a_btw": 3150, "1b_btw": 90, "5a": 3250}) == [
        "box 5a is 3250 but the VAT boxes add up to 3240"]
    assert vat_box_problems({"1a_btw": 3150, "5b": 150, "5g": 3150}) == [
        "box 5g is 3150 but 5a - 5b - 5d is 3000"]
    assert vat_box_problems({"1a_btw": 3150, "5a": None}) == ["box 5a is missing"]
    assert vat_box_problems({"1a_btw": 31.5}) == ["box 1a_btw must be whole euros as an int, not float 31.5"]


def test_read_round_trips_build():
    payload = build_vat_return(**OCTOBER, boxes=SAMPLE_BOXES, created=CREATED)
    assert read_vat_return(payload) == {
        **OCTOBER, "boxes": SAMPLE_BOXES, "taxonomy_year": 2026,
        "entry_point": "http://www.nltaxonomie.nl/nt20/bd/20251210/entrypoints/bd-rpt-ob-aangifte-2026.xsd",
    }


def test_read_understands_the_real_sample():
    read = read_vat_return(_sample())
    assert (read["identity"], read["period_start"], read["period_end"]) == (IDENTITY, date(2021, 10, 1),
                                                                           date(2021, 10, 31))
    assert read["boxes"] == SAMPLE_BOXES and read["taxonomy_year"] == 2021


@pytest.mark.parametrize("payload, message", [
    (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "DOCTYPE"),
    (b"<x/>", "not an XBRL instance"),
    (b"<x>", "not well-formed"),
])
def test_read_refuses_what_is_not_a_safe_return(payload, message):
    with pytest.raises(ValueError, match=message):
        read_vat_return(payload)


def test_read_refuses_amounts_that_are_not_whole_euros():
    payload = build_vat_return(**OCTOBER, boxes={}, created=CREATED).replace(
        b'unitRef="EUR">0</bd-i:ValueAddedTaxOnInput>', b'unitRef="EUR">0.5</bd-i:ValueAddedTaxOnInput>')
    with pytest.raises(ValueError, match="box 5b is '0.5'"):
        read_vat_return(payload)
