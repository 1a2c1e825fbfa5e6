"""Customers and other dimensions: create-or-update, masks, automatic codes, reads, lists, the DIM finder."""

from __future__ import annotations

import pytest

from clients.twinfield import TwinfieldError


def test_a_customer_without_a_code_gets_the_first_free_code_of_the_mask(tw):
    client = tw.client()
    first = client.create_customer("Jan Jansen", "jan@example.com")
    second = client.create_customer("Piet Pieters", "piet@example.com")
    assert (first, second) == ("4000", "4001")
    assert tw.model.ledger.emails("NLA000001") == {"jan@example.com": "4000", "piet@example.com": "4001"}


def test_a_code_outside_the_mask_gets_twinfields_text(tw):
    client = tw.client()
    with pytest.raises(TwinfieldError) as refused:
        client.create_customer("Verkeerd", code="1200")
    assert refused.value.texts == ["De code voldoet niet aan het formaat [4-7][0-9][0-9][0-9]."]
    assert str(refused.value) == "code(1200): De code voldoet niet aan het formaat [4-7][0-9][0-9][0-9]."


def test_the_mask_is_per_office(tw):
    tw.api("POST", "/api/twinfield/offices", json={"code": "NLA000001", "name": "Webwinkel BV",
                                                   "masks": {"DEB": "D[0-9][0-9][0-9][0-9]"}})
    client = tw.client()
    assert client.create_customer("Eigen code", code="D1000") == "D1000"
    assert client.create_customer("Automatisch") == "D0001"  # the mask's literal letter, then the first number
    with pytest.raises(TwinfieldError):
        client.create_customer("Oude code", code="4000")


def test_create_then_update_then_read_a_customer(tw):
    created = tw.process('<dimension status="active"><office>NLA000001</office><type>DEB</type><code>4500</code>'
                         "<name>Maarten Brouwers</name><addresses><address><email>m@example.com</email><country>BE"
                         "</country><city>Gent</city></address></addresses></dimension>")
    assert created.get("result") == "1" and created.get("status") == "active"
    assert created.find("type").get("name") == "Debiteuren"
    assert created.findtext("financials/substitutewith") == "1300"
    assert created.find("addresses/address").get("id") == "1"
    assert created.find("addresses/address/country").get("name") == "België"
    updated = tw.process("<dimension><office>NLA000001</office><type>DEB</type><code>4500</code>"
                         "<name>Maarten Brouwers BV</name><vatnumber>BE0776091951</vatnumber></dimension>")
    assert updated.findtext("name") == "Maarten Brouwers BV" and updated.findtext("vatnumber") == "BE0776091951"
    assert updated.findtext("addresses/address/email") == "m@example.com"  # kept: not sent again
    read = tw.process("<read><type>dimensions</type><office>NLA000001</office><dimtype>DEB</dimtype>"
                      "<code>4500</code></read>")
    assert read.findtext("name") == "Maarten Brouwers BV" and read.findtext("uid") == created.findtext("uid")
    missing = tw.process("<read><type>dimensions</type><office>NLA000001</office><dimtype>DEB</dimtype>"
                         "<code>4999</code></read>")
    assert missing.tag == "dimension" and missing.get("result") == "0" and len(missing) == 0


def test_name_and_email_limits(tw):
    no_name = tw.process("<dimension><office>NLA000001</office><type>DEB</type><code>4100</code></dimension>")
    assert no_name.get("result") == "0" and "Naam is verplicht." in [e.get("msg") for e in no_name.iter()]
    long_mail = "x" * 195 + "@e.nl"
    too_long = tw.process(f"<dimension><office>NLA000001</office><type>DEB</type><code>4100</code><name>A</name>"
                          f"<addresses><address><email>{long_mail}x</email></address></addresses></dimension>")
    assert too_long.find("addresses/address/email").get("msg") == "Het e-mailadres mag maximaal 200 tekens bevatten."
    fine = tw.process(f"<dimension><office>NLA000001</office><type>DEB</type><code>4100</code><name>A</name>"
                      f"<addresses><address><email>{long_mail}</email></address></addresses></dimension>")
    assert fine.get("result") == "1"


def test_list_dimensions_has_the_real_shape(tw, customer):
    listed = tw.process("<list><type>dimensions</type><office>NLA000001</office><dimtype>DEB</dimtype></list>")
    assert (listed.tag, listed.get("office"), listed.get("type"), listed.get("result")) == \
        ("dimensions", "NLA000001", "DEB", "1")
    assert [(d.text, d.get("name")) for d in listed] == [("4000", "Jan Jansen")]


def test_the_dim_finder_searches_code_and_name(tw, customer):
    client = tw.client()
    client.create_customer("Bosman Bouw", "info@bosman.example")
    by_name = client.search("DIM", "*Bos*", options={"dimtype": "DEB"})
    assert by_name.rows == [["4001", "Bosman Bouw"]] and by_name.total == 1
    everyone = client.search("DIM", "*", options={"dimtype": "DEB"})
    assert [r[0] for r in everyone.rows] == ["4000", "4001"]
    page = client.search("DIM", "*", options={"dimtype": "DEB"}, first_row=2, max_rows=1)
    assert page.rows == [["4001", "Bosman Bouw"]] and page.total == 2
    ledger = client.search("DIM", "130*", field=1, options={"dimtype": "BAS"})
    assert ledger.rows == [["1300", "Debiteuren"]]


def test_finder_errors_are_messages_not_faults(tw, customer):
    client = tw.client()
    from clients.twinfield import TwinfieldFault

    with pytest.raises(TwinfieldFault) as unknown:
        client.search("XYZ")
    assert "InvalidFinderType" in str(unknown.value)
    with pytest.raises(TwinfieldFault) as elsewhere:
        client.search("DIM", options={"office": "NLA000002"})
    assert "NoAccessToOffice" in str(elsewhere.value)


def _murb_answer(reference, name: str):
    from lxml import etree

    root = etree.fromstring((reference / "murb-twinfield" / name).read_bytes())
    return etree.fromstring(root.findtext(".//{http://www.twinfield.com/}ProcessXmlStringResult").strip().encode())


def test_a_customer_created_with_no_address_gets_the_default_one_of_the_recording(tw, reference):
    """murb's create_customer.xml sends <addresses/>; cluster_processxml_customer_create_success.xml answers
    with address 1: invoice, default, the customer's name, country NL."""
    theirs = _murb_answer(reference, "cluster_processxml_customer_create_success.xml").find("addresses/address")
    created = tw.process('<dimension status="active"><office>NLA000001</office><type>DEB</type><code>4600</code>'
                         "<name>Maarten Brouwers</name><shortname/><website/><addresses/><banks/></dimension>")
    ours = created.find("addresses/address")
    assert ours is not None, "no address"
    assert dict(ours.attrib) == dict(theirs.attrib) == {"default": "true", "id": "1", "type": "invoice"}
    assert [c.tag for c in ours] == [c.tag for c in theirs]
    for tag in ("name", "country", "ictcountrycode"):
        assert ours.findtext(tag) == theirs.findtext(tag), tag
    assert dict(ours.find("country").attrib) == dict(theirs.find("country").attrib)
    assert tw.api("GET", "/api/twinfield/dimensions?office=NLA000001&type=DEB").json()[0]["data"]["addresses"]


def test_an_update_keeps_the_addresses_it_does_not_name(tw, reference):
    """murb's cluster_processxml_customer_update_success.xml still has address 1 after an update; an empty
    <addresses/> deletes nothing (the koppeling's customers are found by the e-mail on it)."""
    theirs = _murb_answer(reference, "cluster_processxml_customer_update_success.xml")
    assert theirs.find("addresses/address").get("id") == "1"
    tw.process("<dimension><office>NLA000001</office><type>DEB</type><code>4700</code><name>Jan</name>"
               "<addresses><address type=\"invoice\"><email>jan@example.com</email><city>Gent</city></address>"
               "</addresses></dimension>")
    kept = tw.process("<dimension><office>NLA000001</office><type>DEB</type><code>4700</code><name>Jan</name>"
                      "<shortname>murb</shortname><addresses/></dimension>")
    assert [(a.get("id"), a.findtext("email")) for a in kept.findall("addresses/address")] == \
        [("1", "jan@example.com")]
    assert tw.model.ledger.emails("NLA000001")["jan@example.com"] == "4700"
    # by id: that address changes (the fields sent); a new type is added with the next id
    changed = tw.process("<dimension><office>NLA000001</office><type>DEB</type><code>4700</code><name>Jan</name>"
                         '<addresses><address id="1"><city>Brugge</city></address>'
                         '<address type="postal"><city>Gent</city></address></addresses></dimension>')
    assert [(a.get("id"), a.get("type"), a.findtext("city"), a.findtext("email"))
            for a in changed.findall("addresses/address")] == \
        [("1", "invoice", "Brugge", "jan@example.com"), ("2", "postal", "Gent", "")]
    # [CHOSEN] without an id, the stored address of its type: sending the same addresses again adds none
    again = tw.process("<dimension><office>NLA000001</office><type>DEB</type><code>4700</code><name>Jan</name>"
                       '<addresses><address type="invoice"><email>jan@example.nl</email></address>'
                       '<address type="postal"><city>Antwerpen</city></address></addresses></dimension>')
    assert [(a.get("id"), a.findtext("city"), a.findtext("email")) for a in again.findall("addresses/address")] \
        == [("1", "Brugge", "jan@example.nl"), ("2", "Antwerpen", "")]
